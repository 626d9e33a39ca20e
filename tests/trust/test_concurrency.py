"""Concurrent use of one database: status list indices are never handed out twice, a list is re-issued once."""

from __future__ import annotations

import asyncio

from portfeil.pki.ca import create_root_ca
from portfeil.pki.roles import Role
from portfeil.trust.registry import TrustRegistry


async def test_concurrent_allocations_are_distinct(registry: TrustRegistry) -> None:
    indices = await asyncio.gather(*(registry.status_lists.allocate("wallet-units") for _ in range(30)))
    assert len(set(indices)) == 30
    assert all(0 <= i < 1 << 18 for i in indices)
    assert indices != sorted(indices)  # not handed out in order (§12.4: no issuance order revealed)


async def test_concurrent_publication_gives_one_sequence(registry: TrustRegistry) -> None:
    first = await registry.trusted_list("wallet-providers")
    await registry.add_anchor(Role.WALLET_PROVIDER, create_root_ca("x", Role.WALLET_PROVIDER,
                                                                   now=registry.clock.now()).certificate)
    results = await asyncio.gather(*(registry.trusted_list("wallet-providers") for _ in range(4)))
    assert {r.sequence for r in results} == {first.sequence + 1}
    assert len({r.body for r in results}) == 1
