"""Wallet test harness: the whole portfeil app (trust registry, PID provider, verifier) in-process over
``httpx.ASGITransport``, a seeded population register, and a real wallet in a temporary directory whose HTTP
client is that transport. Nothing is mocked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from portfeil.app import create_app
from portfeil.context import AppContext
from portfeil.issuer.flows import PidIssuer
from portfeil.pki.certs import cert_to_pem
from portfeil.pki.keystore import MemoryKeyStore
from portfeil.settings import Settings
from portfeil.sources.seed import seed_demo_persons
from portfeil.trust.registry import TrustRegistry
from portfeil.verifier.transactions import Verifier
from portfeil.wallet.core import Wallet
from portfeil.wallet.store import KdfParams

BASE = "http://localhost"
IVAN = "8506258485"
PASS = "correct horse battery staple"
FAST_KDF = KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)


@pytest.fixture(scope="session")
def keystores() -> dict[str, MemoryKeyStore]:
    return {"trust.keystore": MemoryKeyStore(), "eid.keystore": MemoryKeyStore()}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", public_url=BASE)


@dataclass
class Env:
    ctx: AppContext
    app: FastAPI
    client: httpx.AsyncClient
    issuer: PidIssuer
    verifier: Verifier
    party_id: str
    wallet: Wallet
    wallet_dir: Path
    calls: list[str] = field(default_factory=list)

    async def offer(self, configs: list[str] | None = None, *, by_reference: bool = False) -> tuple[str, str | None]:
        o = await self.issuer.create_offer(IVAN, configs)
        return (o.uri_by_reference if by_reference else o.uri), o.tx_code

    async def request(self, **kw: Any) -> str:
        kw.setdefault("template", "pid-basic")
        created = await self.verifier.create(self.party_id, **kw)
        return str(created.link)


async def scheme_operator_pem(ctx: AppContext) -> bytes:
    """The registry's list signing certificate, handed to the wallet out of band (the pin)."""
    return cert_to_pem((await TrustRegistry.of(ctx)).scheme_operator_certificate())


@pytest.fixture
async def env(ctx: AppContext, keystores: dict[str, MemoryKeyStore], tmp_path: Path) -> AsyncIterator[Env]:
    ctx.services.update(keystores)
    await seed_demo_persons(ctx.db, clock=ctx.clock)
    app = create_app(ctx)
    calls: list[str] = []
    transport = httpx.ASGITransport(app=app)

    class Recording(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            calls.append(f"{request.method} {request.url.path}")
            return await transport.handle_async_request(request)

    client = httpx.AsyncClient(transport=Recording(), base_url=BASE)
    ctx.services["verifier.http"] = httpx.AsyncClient(transport=transport, base_url=BASE)
    issuer = await PidIssuer.of(ctx)
    verifier = await Verifier.of(ctx)
    party, _key = await verifier.register_party(name="Демо е-услуга", eik="175074752")
    wdir = tmp_path / "wallet"
    wallet = Wallet.create(wdir, PASS, kdf=FAST_KDF, http=client, clock=ctx.clock)
    pin = await scheme_operator_pem(ctx)
    ctx.services["wallet.scheme_operator"] = pin  # wallets made in the UI pin it too
    await wallet.setup_from_registry(BASE + "/trust", scheme_operator=pin)
    try:
        yield Env(ctx, app, client, issuer, verifier, party["id"], wallet, wdir, calls)
    finally:
        await client.aclose()
        await ctx.services["verifier.http"].aclose()
