"""Fixtures of the PID provider tests: an application with the real population register, trust registry and eID
registry (in-memory keystores), a seeded demo person, and a small wallet that speaks the protocol through
``httpx.ASGITransport`` using the protocol layer's client-side helpers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from portfeil.app import create_app
from portfeil.clock import FrozenClock
from portfeil.context import AppContext
from portfeil.issuer.flows import PidIssuer
from portfeil.pki.keys import generate_private_key, public_jwk
from portfeil.pki.keystore import MemoryKeyStore
from portfeil.protocols.dpop import create_dpop_proof
from portfeil.protocols.oid4vci import create_proof_jwt, parse_credential_offer_uri
from portfeil.sources.seed import seed_demo_persons

IVAN = "8506258485"
BASE = "http://localhost"


@pytest.fixture(scope="session")
def keystores() -> dict[str, MemoryKeyStore]:
    """Keys survive between tests (as they survive restarts): roots and signers are made once per session."""
    return {"trust.keystore": MemoryKeyStore(), "eid.keystore": MemoryKeyStore()}


@pytest.fixture
async def issuer_ctx(ctx: AppContext, keystores: dict[str, MemoryKeyStore]) -> AsyncIterator[AppContext]:
    ctx.settings.public_url = BASE  # OpenID4VCI needs https, or http on localhost
    ctx.services.update(keystores)
    await seed_demo_persons(ctx.db, clock=ctx.clock)
    return ctx


@pytest.fixture
async def app(issuer_ctx: AppContext) -> FastAPI:
    application = create_app(issuer_ctx)
    from portfeil.issuer.service import subscribe

    subscribe(issuer_ctx)
    return application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c


@pytest.fixture
async def issuer(issuer_ctx: AppContext) -> PidIssuer:
    return await PidIssuer.of(issuer_ctx)


@dataclass
class Wallet:
    """A minimal OpenID4VCI wallet over HTTP (protocol helpers from portfeil.protocols, client side)."""

    client: httpx.AsyncClient
    clock: FrozenClock
    dpop_key: Any = field(default_factory=generate_private_key)
    dpop_nonce: str | None = None
    access_token: str | None = None
    issuer: str = BASE + "/issuer"

    def dpop(self, url: str, *, token: str | None = None, nonce: str | None = None, htm: str = "POST") -> str:
        return create_dpop_proof(self.dpop_key, htm=htm, htu=url, now=self.clock.now(), access_token=token,
                                 nonce=nonce if nonce is not None else self.dpop_nonce)

    async def post_form(self, path: str, data: dict[str, str], headers: dict[str, str] | None = None,
                        ) -> httpx.Response:
        """POST with DPoP, retrying once on use_dpop_nonce (RFC 9449 §8)."""
        url = BASE + path
        for _ in range(2):
            h = {"DPoP": self.dpop(url), **(headers or {})}
            r = await self.client.post(path, data=data, headers=h)
            if "DPoP-Nonce" in r.headers:
                self.dpop_nonce = r.headers["DPoP-Nonce"]
            if r.status_code == 400 and r.json().get("error") == "use_dpop_nonce":
                continue
            return r
        return r

    async def redeem(self, offer_uri: str, tx_code: str | None) -> httpx.Response:
        offer = parse_credential_offer_uri(offer_uri, allow_http_localhost=True)
        assert not isinstance(offer, str)
        data = {"grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
                "pre-authorized_code": offer.pre_authorized_code or ""}
        if tx_code is not None:
            data["tx_code"] = tx_code
        r = await self.post_form("/issuer/token", data)
        if r.status_code == 200:
            self.access_token = r.json()["access_token"]
        return r

    async def c_nonce(self) -> str:
        r = await self.client.post("/issuer/nonce")
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        return str(r.json()["c_nonce"])

    def proof(self, key: Any, nonce: str | None, *, aud: str | None = None) -> str:
        return create_proof_jwt(key, audience=aud or self.issuer, now=self.clock.now(), nonce=nonce)

    async def credential(self, body: dict[str, Any], *, token: str | None = None,
                         path: str = "/issuer/credential") -> httpx.Response:
        token = token or self.access_token
        assert token
        url = BASE + path
        for _ in range(2):
            r = await self.client.post(path, content=json.dumps(body), headers={
                "Authorization": f"DPoP {token}", "DPoP": self.dpop(url, token=token),
                "Content-Type": "application/json"})
            if "DPoP-Nonce" in r.headers:
                self.dpop_nonce = r.headers["DPoP-Nonce"]
            if r.status_code == 401 and r.json().get("error") == "use_dpop_nonce":
                continue
            return r
        return r

    async def obtain(self, config_id: str, n_keys: int = 1) -> tuple[httpx.Response, list[Any]]:
        keys = [generate_private_key() for _ in range(n_keys)]
        nonce = await self.c_nonce()
        r = await self.credential({"credential_configuration_id": config_id,
                                   "proofs": {"jwt": [self.proof(k, nonce) for k in keys]}})
        return r, keys


@pytest.fixture
def wallet(client: httpx.AsyncClient, clock: FrozenClock) -> Wallet:
    return Wallet(client, clock)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


__all__ = ["BASE", "IVAN", "Wallet", "public_jwk", "query_of"]
