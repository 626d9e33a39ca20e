"""Fixtures of the trust registry tests: a registry per test database (roots shared through one in-memory
keystore so they are created once per session), an HTTP client on the trust service, helpers for wallet proofs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import portfeil.app as app_module
from portfeil.context import AppContext
from portfeil.formats.jws import public_jwk, sign_compact
from portfeil.pki.keys import PrivateKey, generate_private_key
from portfeil.pki.keystore import MemoryKeyStore
from portfeil.trust.registry import TrustRegistry
from portfeil.trust.wallet_provider import POP_TYP

OPERATOR = {"Authorization": "Bearer portfeil-demo-operator"}
PID_USE = {
    "purpose": {"bg": "Проверка на възраст", "en": "Age verification"},
    "credentials": [
        {"format": "dc+sd-jwt", "vct": "urn:eudi:pid:1", "claims": [["age_equal_or_over", "18"]]},
        {"format": "mso_mdoc", "doctype": "eu.europa.ec.eudi.pid.1",
         "claims": [["eu.europa.ec.eudi.pid.1", "age_over_18"]]},
    ],
}
LOGIN_USE = {
    "purpose": {"bg": "Вход в профил", "en": "Account login"},
    "credentials": [{"format": "dc+sd-jwt", "vct": "urn:eudi:pid:1",
                     "claims": [["given_name"], ["family_name"], ["address", "locality"]]}],
}


def registration(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "legal_name": "Магазин ЕООД",
        "trade_name": "Магазин",
        "eik": "175074752",
        "dns": "shop.example",
        "contacts": {"email": "privacy@shop.example", "phone": "+359 2 000 0000"},
        "privacy_policy_url": "https://shop.example/privacy",
        "intended_uses": [PID_USE, LOGIN_USE],
    }
    data.update(overrides)
    return data


@pytest.fixture(scope="session")
def shared_keystore() -> MemoryKeyStore:
    return MemoryKeyStore()


@pytest.fixture
async def registry(ctx: AppContext, shared_keystore: MemoryKeyStore) -> TrustRegistry:
    ctx.services["trust.keystore"] = shared_keystore
    return await TrustRegistry.of(ctx)


@pytest.fixture
async def client(
    registry: TrustRegistry, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setattr(app_module, "SERVICE_MODULES", ("portfeil.trust.service",))
    application = app_module.create_app(ctx)
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def make_pop(key: PrivateKey, *, aud: str, nonce: str, iat: int, typ: str = POP_TYP,
             jwk_key: PrivateKey | None = None) -> str:
    """A wallet's proof of possession of ``key`` (header jwk may name another key to forge a mismatch)."""
    return sign_compact({"aud": aud, "nonce": nonce, "iat": iat}, key, typ=typ,
                        header={"jwk": public_jwk((jwk_key or key).public_key())})


def new_key() -> PrivateKey:
    return generate_private_key("ES256")
