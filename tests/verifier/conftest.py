"""A verifier test harness: the real app over ASGI, a trust registry with an approved relying party, a PID
provider and a document signer certified by that registry, a status list served through the pluggable fetcher,
and a small wallet built from the formats and protocols layers (nothing mocked)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509

from portfeil.app import create_app
from portfeil.context import AppContext
from portfeil.formats.mdoc import Mdoc, issue_mdoc, openid4vp_session_transcript
from portfeil.formats.sdjwt import StatusReference, issue_sd_jwt_vc, present
from portfeil.formats.status_list import INVALID, StatusList, issue_status_list_jwt
from portfeil.pki.keys import PrivateKey, generate_private_key, jwk_thumbprint, public_jwk
from portfeil.pki.keystore import MemoryKeyStore
from portfeil.pki.roles import Role
from portfeil.protocols.oid4vp import AuthorizationRequest, build_authorization_response, verify_request_object
from portfeil.settings import Settings
from portfeil.trust.registry import TrustRegistry
from portfeil.verifier.models import VerParty
from portfeil.verifier.transactions import CreatedTransaction, Verifier

ISSUER = "http://localhost/issuer"
STATUS_URI = "http://localhost/issuer/status/1"
NS = "eu.europa.ec.eudi.pid.1"
PID_CLAIMS: dict[str, Any] = {
    "family_name": "Иванова", "given_name": "Мария", "birthdate": "1985-06-25",
    "personal_administrative_number": "8506258485", "age_equal_or_over": {"18": True, "21": True},
    "nationalities": ["BG"], "address": {"locality": "София", "country": "BG"},
}
MDOC_CLAIMS: dict[str, Any] = {
    "family_name": "Иванова", "given_name": "Мария", "birth_date": date(1985, 6, 25),
    "personal_administrative_number": "8506258485", "age_over_18": True, "age_over_21": True,
}
BASIC_PATHS = [("family_name",), ("given_name",), ("birthdate",), ("personal_administrative_number",)]


@pytest.fixture(scope="session")
def shared_keystore() -> MemoryKeyStore:
    return MemoryKeyStore()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", public_url="http://localhost")


@dataclass
class Env:
    ctx: AppContext
    client: httpx.AsyncClient
    verifier: Verifier
    registry: TrustRegistry
    party: VerParty
    api_key: str
    pid_key: PrivateKey
    pid_chain: list[x509.Certificate]
    ds_key: PrivateKey
    ds_chain: list[x509.Certificate]
    holder: PrivateKey
    status: StatusList
    status_fetches: list[str] = field(default_factory=list)

    @property
    def now(self) -> Any:
        return self.ctx.clock.now()

    def status_token(self) -> str:
        return issue_status_list_jwt(self.status, uri=STATUS_URI, key=self.pid_key, now=self.now, ttl=300,
                                     exp=int(self.now.timestamp()) + 3600, x5c=self.pid_chain)

    async def fetch(self, uri: str) -> tuple[bytes, str]:
        self.status_fetches.append(uri)
        if uri != STATUS_URI:
            raise httpx.ConnectError("no such status list")
        return self.status_token().encode(), "application/statuslist+jwt"

    def revoke(self, idx: int) -> None:
        self.status.set(idx, INVALID)
        self.verifier.status_cache.clear()

    def sd_jwt(self, claims: dict[str, Any] | None = None, *, idx: int = 7, key: PrivateKey | None = None,
               chain: Sequence[x509.Certificate] | None = None, holder: PrivateKey | None = None) -> str:
        return issue_sd_jwt_vc(
            claims or PID_CLAIMS, issuer_key=key or self.pid_key, issuer_chain=list(chain or self.pid_chain),
            vct="urn:eudi:pid:1", iss=ISSUER, now=self.now, expires_in=timedelta(days=365),
            holder_jwk=public_jwk((holder or self.holder).public_key()), status=StatusReference(idx, STATUS_URI),
        )

    def mdoc(self, elements: dict[str, Any] | None = None, *, idx: int = 9) -> Mdoc:
        from portfeil.formats.mdoc import StatusListReference

        raw = issue_mdoc(NS, {NS: elements or MDOC_CLAIMS}, issuer_key=self.ds_key, issuer_chain=self.ds_chain,
                         device_key=self.holder.public_key(), now=self.now, valid_until=self.now + timedelta(days=365),
                         status=StatusListReference(idx, STATUS_URI))
        return Mdoc.parse(raw)

    async def create(self, **kw: Any) -> CreatedTransaction:
        kw.setdefault("template", "pid-basic")
        return await self.verifier.create(self.party.id, **kw)

    async def wallet_request(self, created: CreatedTransaction, *, post: bool = False) -> AuthorizationRequest:
        trust = await self.registry.validator(Role.RP_ACCESS)
        if post:
            resp = await self.client.post(created.request_uri, data={"wallet_nonce": "wn-1"})
        else:
            resp = await self.client.get(created.request_uri)
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith("application/oauth-authz-req+jwt")
        return verify_request_object(resp.text, trust=trust, now=self.now, url_client_id=created.client_id,
                                     expected_wallet_nonce="wn-1" if post else None, allow_http_localhost=True)

    def present_sd_jwt(self, req: AuthorizationRequest, paths: Sequence[tuple[Any, ...]] = tuple(BASIC_PATHS), *,
                       token: str | None = None, aud: str | None = None, nonce: str | None = None,
                       holder: PrivateKey | None = None) -> str:
        return present(token or self.sd_jwt(), list(paths), holder_key=holder or self.holder,
                       aud=aud or req.client_id, nonce=nonce or req.nonce, now=self.now)

    def transcript(self, req: AuthorizationRequest) -> bytes:
        thumb = None
        if req.response_mode == "direct_post.jwt":
            jwk = req.client_metadata["jwks"]["keys"][0]
            thumb = jwk_thumbprint({k: jwk[k] for k in ("kty", "crv", "x", "y")})
        return openid4vp_session_transcript(req.client_id, req.nonce, thumb, req.response_uri)

    def present_mdoc(self, req: AuthorizationRequest, elements: Sequence[str] = (
            "family_name", "given_name", "birth_date", "personal_administrative_number"), *,
            mdoc: Mdoc | None = None, transcript: bytes | None = None) -> str:
        import base64

        doc = mdoc or self.mdoc()
        raw = doc.present({NS: list(elements)}, device_key=self.holder,
                          session_transcript=transcript or self.transcript(req))
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    async def respond(self, req: AuthorizationRequest, vp_token: dict[str, list[str]],
                      url: str | None = None) -> httpx.Response:
        form = build_authorization_response(req, vp_token)
        return await self.client.post(url or req.response_uri, data=form)

    async def result(self, tx_id: str) -> dict[str, Any]:
        resp = await self.client.get(f"/verifier/api/v1/transactions/{tx_id}",
                                     headers={"Authorization": f"Bearer {self.api_key}"})
        assert resp.status_code == 200, resp.text
        data: dict[str, Any] = resp.json()
        return data


@pytest.fixture
async def env(ctx: AppContext, shared_keystore: MemoryKeyStore) -> AsyncIterator[Env]:
    ctx.services["trust.keystore"] = shared_keystore
    registry = await TrustRegistry.of(ctx)
    pid_key = generate_private_key("ES256")
    pid_chain = await registry.issue_pid_provider_certificate(pid_key.public_key(), uri=ISSUER)
    ds_key = generate_private_key("ES256")
    ds_chain = await registry.issue_document_signer(ds_key.public_key())
    app = create_app(ctx)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost")
    holder = generate_private_key("ES256")
    status = StatusList(1024, bits=2)
    env_: Env | None = None

    async def fetch(uri: str) -> tuple[bytes, str]:
        assert env_ is not None
        return await env_.fetch(uri)

    ctx.services["verifier.status_fetcher"] = fetch
    ctx.services["verifier.http"] = client
    verifier = await Verifier.of(ctx)
    party_info, api_key = await verifier.register_party(name="Тест ЕООД", eik="175074752")
    party = await verifier.party(party_info["id"])
    env_ = Env(ctx, client, verifier, registry, party, api_key, pid_key, pid_chain, ds_key, ds_chain, holder, status)
    try:
        yield env_
    finally:
        await client.aclose()


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))
