"""Authorization code flow: PAR with wallet attestation-based client authentication (trust registry wallet
provider), the bilingual authorization page with eID authentication through the real eID registry, attribute
preview and consent, token with PKCE + DPoP, credential. Plus the named negative tests of this flow."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from portfeil.clock import FrozenClock
from portfeil.context import AppContext
from portfeil.formats.jws import sign_compact
from portfeil.formats.sdjwt import verify_sd_jwt_vc
from portfeil.issuer.flows import PidIssuer
from portfeil.pki.ca import create_root_ca, issue_leaf
from portfeil.pki.keys import generate_private_key, public_jwk
from portfeil.pki.roles import Role
from portfeil.protocols.client_attestation import create_client_attestation, create_client_attestation_pop
from portfeil.protocols.oid4vci import create_proof_jwt
from portfeil.protocols.pkce import code_challenge, generate_code_verifier
from portfeil.trust.registry import TrustRegistry
from portfeil.trust.wallet_provider import POP_TYP
from tests.issuer.conftest import BASE, IVAN, Wallet, query_of

REDIRECT = "https://wallet.example/cb"


@dataclass
class WalletUnit:
    client_id: str
    instance_key: Any
    attestation: str

    def headers(self, clock: FrozenClock) -> dict[str, str]:
        pop = create_client_attestation_pop(self.instance_key, client_id=self.client_id, audience=BASE + "/issuer",
                                            now=clock.now())
        return {"OAuth-Client-Attestation": self.attestation, "OAuth-Client-Attestation-PoP": pop}


async def register_unit(ctx: AppContext) -> WalletUnit:
    registry = await TrustRegistry.of(ctx)
    wp = registry.wallet_provider
    key = generate_private_key()
    nonce = (await wp.nonce())["nonce"]
    proof = sign_compact({"aud": wp.issuer, "nonce": nonce, "iat": ctx.clock.timestamp()}, key, typ=POP_TYP,
                         header={"jwk": public_jwk(key)})
    out = await wp.register(proof)
    return WalletUnit(out["client_id"], key, out["client_attestation"])


@pytest.fixture
async def unit(issuer_ctx: AppContext) -> WalletUnit:
    return await register_unit(issuer_ctx)


async def par(client: httpx.AsyncClient, unit: WalletUnit, clock: FrozenClock, verifier: str,
              **extra: str) -> httpx.Response:
    data = {"client_id": unit.client_id, "response_type": "code", "redirect_uri": REDIRECT,
            "code_challenge": code_challenge(verifier), "code_challenge_method": "S256",
            "scope": "eu.europa.ec.eudi.pid_vc_sd_jwt", "state": "st-1", **extra}
    return await client.post("/issuer/par", data=data, headers=unit.headers(clock))


async def authorize(client: httpx.AsyncClient, ctx: AppContext, unit: WalletUnit, request_uri: str,
                    *, decision: str = "accept") -> httpx.Response:
    from portfeil.eid.demo import issue_to_person
    from portfeil.eid.registry import EidRegistry

    page = await client.get("/issuer/authorize", params={"client_id": unit.client_id, "request_uri": request_uri,
                                                         "lang": "en"})
    assert page.status_code == 200, page.text
    assert "Authenticate with your eID" in page.text
    m = re.search(r'id="challenge">([^<]+)<', page.text)
    assert m
    challenge = m.group(1)
    issued = await issue_to_person(EidRegistry.for_context(ctx), IVAN)
    consent = await client.post("/issuer/authorize/eid", data={
        "client_id": unit.client_id, "request_uri": request_uri, "challenge": challenge,
        "eid_response": json.dumps(issued.auth_body(challenge))})
    assert consent.status_code == 200, consent.text
    assert "Иванов" in consent.text  # the attributes to be issued are shown before consent
    assert IVAN in consent.text
    return await client.post("/issuer/authorize/consent", data={
        "client_id": unit.client_id, "request_uri": request_uri, "decision": decision})


async def test_authorization_code_flow_end_to_end(
    client: httpx.AsyncClient, issuer_ctx: AppContext, unit: WalletUnit, wallet: Wallet, clock: FrozenClock,
    issuer: PidIssuer,
) -> None:
    verifier = generate_code_verifier()
    r = await par(client, unit, clock, verifier)
    assert r.status_code == 201, r.text
    request_uri = r.json()["request_uri"]
    r = await authorize(client, issuer_ctx, unit, request_uri)
    assert r.status_code == 303
    q = query_of(r.headers["location"])
    assert r.headers["location"].startswith(REDIRECT)
    assert q["state"] == "st-1"
    assert q["iss"] == BASE + "/issuer"
    r = await wallet.post_form("/issuer/token", {
        "grant_type": "authorization_code", "code": q["code"], "redirect_uri": REDIRECT, "code_verifier": verifier,
        "client_id": unit.client_id}, headers=unit.headers(clock))
    assert r.status_code == 200, r.text
    wallet.access_token = r.json()["access_token"]
    key = generate_private_key()
    nonce = await wallet.c_nonce()
    proof = create_proof_jwt(key, audience=wallet.issuer, now=clock.now(), nonce=nonce, client_id=unit.client_id)
    r = await wallet.credential({"credential_configuration_id": "pid_sd_jwt", "proofs": {"jwt": [proof]}})
    assert r.status_code == 200, r.text
    registry = await TrustRegistry.of(issuer_ctx)
    v = verify_sd_jwt_vc(r.json()["credentials"][0]["credential"], now=clock.now(),
                         trust=await registry.validator(Role.PID_PROVIDER), require_key_binding=False)
    assert v.claims["personal_administrative_number"] == IVAN
    # the code is single use
    r = await wallet.post_form("/issuer/token", {
        "grant_type": "authorization_code", "code": q["code"], "redirect_uri": REDIRECT, "code_verifier": verifier,
        "client_id": unit.client_id}, headers=unit.headers(clock))
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"


async def test_consent_denied_redirects_access_denied(
    client: httpx.AsyncClient, issuer_ctx: AppContext, unit: WalletUnit, clock: FrozenClock,
) -> None:
    r = await par(client, unit, clock, generate_code_verifier())
    r = await authorize(client, issuer_ctx, unit, r.json()["request_uri"], decision="deny")
    assert r.status_code == 303
    q = query_of(r.headers["location"])
    assert q["error"] == "access_denied"
    assert "code" not in q


async def test_rejects_pkce_mismatch(
    client: httpx.AsyncClient, issuer_ctx: AppContext, unit: WalletUnit, wallet: Wallet, clock: FrozenClock,
) -> None:
    r = await par(client, unit, clock, generate_code_verifier())
    r = await authorize(client, issuer_ctx, unit, r.json()["request_uri"])
    code = query_of(r.headers["location"])["code"]
    r = await wallet.post_form("/issuer/token", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": generate_code_verifier(), "client_id": unit.client_id}, headers=unit.headers(clock))
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"


async def test_rejects_par_without_pkce(client: httpx.AsyncClient, unit: WalletUnit, clock: FrozenClock) -> None:
    r = await client.post("/issuer/par", headers=unit.headers(clock), data={
        "client_id": unit.client_id, "response_type": "code", "redirect_uri": REDIRECT,
        "scope": "eu.europa.ec.eudi.pid_vc_sd_jwt"})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


async def test_rejects_wallet_attestation_from_untrusted_provider(
    client: httpx.AsyncClient, clock: FrozenClock,
) -> None:
    rogue_root = create_root_ca("rogue wallet provider CA", Role.WALLET_PROVIDER, now=clock.now())
    leaf_key = generate_private_key()
    leaf = issue_leaf(rogue_root, "rogue wallet provider", leaf_key.public_key(), Role.WALLET_PROVIDER,
                      now=clock.now(), san_uris=["https://rogue.example"])
    instance = generate_private_key()
    att = create_client_attestation(leaf_key, issuer="https://rogue.example", client_id="rogue-unit",
                                    instance_jwk=public_jwk(instance), now=clock.now(),
                                    x5c=rogue_root.chain_for(leaf))
    unit = WalletUnit("rogue-unit", instance, att)
    r = await par(client, unit, clock, generate_code_verifier())
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"


async def test_rejects_revoked_wallet_unit(
    client: httpx.AsyncClient, issuer_ctx: AppContext, unit: WalletUnit, clock: FrozenClock,
) -> None:
    registry = await TrustRegistry.of(issuer_ctx)
    await registry.wallet_provider.revoke(unit.client_id, "compromised")
    r = await par(client, unit, clock, generate_code_verifier())
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    assert "revoked" in r.json()["error_description"]


async def test_rejects_client_attestation_pop_replay(
    client: httpx.AsyncClient, unit: WalletUnit, clock: FrozenClock,
) -> None:
    headers = unit.headers(clock)
    verifier = generate_code_verifier()
    data = {"client_id": unit.client_id, "response_type": "code", "redirect_uri": REDIRECT,
            "code_challenge": code_challenge(verifier), "code_challenge_method": "S256",
            "scope": "eu.europa.ec.eudi.pid_vc_sd_jwt"}
    assert (await client.post("/issuer/par", data=data, headers=headers)).status_code == 201
    r = await client.post("/issuer/par", data=data, headers=headers)
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"


async def test_rejects_wrong_eid_signature(
    client: httpx.AsyncClient, issuer_ctx: AppContext, unit: WalletUnit, clock: FrozenClock,
) -> None:
    from portfeil.eid.demo import issue_to_person
    from portfeil.eid.registry import EidRegistry

    r = await par(client, unit, clock, generate_code_verifier())
    request_uri = r.json()["request_uri"]
    page = await client.get("/issuer/authorize", params={"client_id": unit.client_id, "request_uri": request_uri})
    m = re.search(r'id="challenge">([^<]+)<', page.text)
    assert m
    issued = await issue_to_person(EidRegistry.for_context(issuer_ctx), IVAN)
    body = issued.auth_body("another challenge")  # signature over something else
    body["challenge"] = m.group(1)
    r = await client.post("/issuer/authorize/eid", data={
        "client_id": unit.client_id, "request_uri": request_uri, "challenge": m.group(1),
        "eid_response": json.dumps(body), "lang": "en"})
    assert r.status_code == 400
    assert "invalid_signature" in r.text
    r = await client.post("/issuer/authorize/consent", data={
        "client_id": unit.client_id, "request_uri": request_uri, "decision": "accept"})
    assert r.status_code == 400  # no code without authentication
    assert "not_authenticated" in r.text
