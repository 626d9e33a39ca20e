"""The trust registry as a service of the application (URL prefix ``/trust/``)."""

from __future__ import annotations

from fastapi import APIRouter

from portfeil.context import AppContext
from portfeil.trust.registry import TrustRegistry
from portfeil.trust.wallet_provider import DEATH_TOPIC
from portfeil.web.service import Service


def _routers(_ctx: AppContext) -> list[APIRouter]:
    from portfeil.trust.api import build_router
    from portfeil.trust.pages import build_pages

    return [build_router(), build_pages()]


async def setup(ctx: AppContext) -> None:
    """Create or load the roots and signers; revoke wallet units of deceased holders (outbox)."""
    registry = await TrustRegistry.of(ctx)
    ctx.outbox.subscribe("trust.wallet_units", {DEATH_TOPIC}, registry.wallet_provider.on_person_died)


async def demo_seed(ctx: AppContext) -> None:
    """Demo: publish every list once (idempotent; the registry re-issues lists when their content changes)."""
    registry = await TrustRegistry.of(ctx)
    from portfeil.trust.lists import LIST_SPECS

    for name in LIST_SPECS:
        await registry.trusted_list(name)


SERVICE = Service(
    name="trust",
    title="Trust registry / Регистър на доверието",
    routers=_routers,
    setup=setup,
    demo_seed=demo_seed,
    links=(("Trust registry", "/trust/"), ("Relying parties", "/trust/relying-parties")),
)
