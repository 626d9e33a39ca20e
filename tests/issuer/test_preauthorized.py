"""Pre-authorized code flow end to end over HTTP: offer -> token (DPoP) -> nonce -> credential, both formats; the
credentials verify against the trust registry's anchors and carry the register's data; batch issuance; offers by
reference; deferred issuance; notification; credential response encryption."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx

from portfeil.context import AppContext
from portfeil.formats.mdoc import MdocVerifier
from portfeil.formats.sdjwt import verify_sd_jwt_vc
from portfeil.issuer.flows import PidIssuer
from portfeil.pki.roles import Role
from portfeil.protocols import jwe
from portfeil.trust.registry import TrustRegistry
from tests.issuer.conftest import IVAN, Wallet


async def test_metadata_both_locations(client: httpx.AsyncClient, ctx: AppContext) -> None:
    ra = await client.get("/.well-known/openid-credential-issuer/issuer")
    assert ra.status_code == 200, ra.text
    a = ra.json()
    b = (await client.get("/issuer/.well-known/openid-credential-issuer")).json()
    assert a == b
    assert ra.headers["content-type"] == "application/json"
    assert a == (await PidIssuer.of(ctx)).credential_issuer_metadata()  # the cached bytes are the fresh metadata
    assert a["credential_issuer"] == "http://localhost/issuer"
    cfgs = a["credential_configurations_supported"]
    assert cfgs["pid_sd_jwt"]["vct"] == "urn:eudi:pid:1"
    assert cfgs["pid_mdoc"]["doctype"] == "eu.europa.ec.eudi.pid.1"
    assert {d["locale"] for d in cfgs["pid_sd_jwt"]["credential_metadata"]["display"]} == {"bg", "en"}
    assert a["batch_credential_issuance"]["batch_size"] == 10
    asm = (await client.get("/.well-known/oauth-authorization-server/issuer")).json()
    assert asm == (await client.get("/issuer/.well-known/oauth-authorization-server")).json()
    assert asm["require_pushed_authorization_requests"] is True
    assert asm["code_challenge_methods_supported"] == ["S256"]


async def test_preauthorized_sd_jwt_and_mdoc(issuer: PidIssuer, wallet: Wallet, issuer_ctx: AppContext) -> None:
    offer = await issuer.create_offer(IVAN)
    assert offer.uri.startswith("openid-credential-offer://?credential_offer=")
    r = await wallet.redeem(offer.uri, offer.tx_code)
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "DPoP"
    now = issuer_ctx.clock.now()
    registry = await TrustRegistry.of(issuer_ctx)

    r, _keys = await wallet.obtain("pid_sd_jwt")
    assert r.status_code == 200, r.text
    body = r.json()
    assert "notification_id" in body
    sd = body["credentials"][0]["credential"]
    v = verify_sd_jwt_vc(sd, now=now, trust=await registry.validator(Role.PID_PROVIDER), vct="urn:eudi:pid:1",
                         require_key_binding=False)
    assert v.iss == "http://localhost/issuer"
    assert v.claims["family_name"] == "Иванов"
    assert v.claims["given_name"] == "Иван"
    assert v.claims["personal_administrative_number"] == IVAN
    assert v.claims["birthdate"] == "1985-06-25"
    assert v.claims["age_equal_or_over"]["18"] is True
    assert v.claims["issuing_country"] == "BG"
    assert v.claims["address"]["locality"] == "София"
    assert v.status is not None
    assert "given_name_latin" not in v.claims  # the EU type carries no national extension
    # PID_21: nested address and place-of-birth claims are each a Disclosure of their own
    disclosed = {tuple(p) for p in v.disclosed_paths}
    assert ("address", "street_address") in disclosed
    assert ("address", "locality") in disclosed

    r, _ = await wallet.obtain("pid_mdoc")
    assert r.status_code == 200, r.text
    md = r.json()["credentials"][0]["credential"]
    verifier = MdocVerifier(await registry.validator(Role.IACA))
    vm = verifier.verify_issuer_signed(md, now=now, doctype="eu.europa.ec.eudi.pid.1")
    pid = vm.namespaces["eu.europa.ec.eudi.pid.1"]
    assert pid["family_name"] == "Иванов"
    assert pid["age_over_18"] is True
    assert pid["age_over_65"] is False
    assert pid["personal_administrative_number"] == IVAN
    assert vm.namespaces["bg.egov.pid.1"]["family_name_latin"] == "Ivanov"
    assert vm.status is not None


async def test_batch_issuance_fresh_salts_and_status_indexes(issuer: PidIssuer, wallet: Wallet) -> None:
    offer = await issuer.create_offer(IVAN, ["pid_sd_jwt"])
    assert (await wallet.redeem(offer.uri, offer.tx_code)).status_code == 200
    r, keys = await wallet.obtain("pid_sd_jwt", n_keys=3)
    assert r.status_code == 200, r.text
    creds = [c["credential"] for c in r.json()["credentials"]]
    assert len(creds) == 3
    disclosures = [set(c.split("~")[1:-1]) for c in creds]
    assert not (disclosures[0] & disclosures[1])
    assert not (disclosures[1] & disclosures[2])
    payloads = [json.loads(_b64(c.split("~")[0].split(".")[1])) for c in creds]
    assert len({p["status"]["status_list"]["idx"] for p in payloads}) == 3
    assert [p["cnf"]["jwk"]["x"] for p in payloads] == [_x(k) for k in keys]


async def test_offer_by_reference(issuer: PidIssuer, client: httpx.AsyncClient, wallet: Wallet) -> None:
    offer = await issuer.create_offer(IVAN, ["pid_sd_jwt"])
    assert "credential_offer_uri=" in offer.uri_by_reference
    r = await client.get(f"/issuer/offers/{offer.offer_id}")
    assert r.status_code == 200
    assert r.json() == offer.offer
    assert (await wallet.redeem(offer.uri, offer.tx_code)).status_code == 200
    assert (await client.get(f"/issuer/offers/{offer.offer_id}")).status_code == 404  # redeemed: gone


async def test_nonce_endpoint_fresh_per_call(wallet: Wallet) -> None:
    assert len({await wallet.c_nonce() for _ in range(5)}) == 5


async def test_credential_response_encryption(issuer: PidIssuer, wallet: Wallet) -> None:
    offer = await issuer.create_offer(IVAN, ["pid_sd_jwt"])
    assert (await wallet.redeem(offer.uri, offer.tx_code)).status_code == 200
    from portfeil.pki.keys import generate_private_key

    ek = jwe.generate_encryption_key()
    key = generate_private_key()
    nonce = await wallet.c_nonce()
    r = await wallet.credential({"credential_configuration_id": "pid_sd_jwt",
                                 "proofs": {"jwt": [wallet.proof(key, nonce)]},
                                 "credential_response_encryption": {"jwk": ek.jwk, "enc": "A128GCM"}})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/jwt")
    plain = json.loads(jwe.decrypt(r.text, ek.private_key, code="x").plaintext)
    assert plain["credentials"][0]["credential"].count("~") > 5


async def test_deferred_issuance_after_manual_check(issuer: PidIssuer, wallet: Wallet) -> None:
    await issuer.hold_person(IVAN, "name spelling to be checked")
    offer = await issuer.create_offer(IVAN, ["pid_sd_jwt"])
    assert (await wallet.redeem(offer.uri, offer.tx_code)).status_code == 200
    r, _ = await wallet.obtain("pid_sd_jwt")
    assert r.status_code == 202, r.text
    tid = r.json()["transaction_id"]
    r = await wallet.credential({"transaction_id": tid}, path="/issuer/deferred_credential")
    assert r.status_code == 202
    assert r.json()["transaction_id"] == tid
    (pending,) = await issuer.pending_deferred()
    await issuer.decide_deferred(pending["reference"], approve=True)
    r = await wallet.credential({"transaction_id": tid}, path="/issuer/deferred_credential")
    assert r.status_code == 200, r.text
    assert r.json()["credentials"][0]["credential"].count("~") > 5
    r = await wallet.credential({"transaction_id": tid}, path="/issuer/deferred_credential")
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_transaction_id"


async def test_notification(issuer: PidIssuer, wallet: Wallet, issuer_ctx: AppContext) -> None:
    offer = await issuer.create_offer(IVAN, ["pid_sd_jwt"])
    assert (await wallet.redeem(offer.uri, offer.tx_code)).status_code == 200
    r, _ = await wallet.obtain("pid_sd_jwt")
    nid = r.json()["notification_id"]
    r = await wallet.credential({"notification_id": nid, "event": "credential_accepted"},
                                path="/issuer/notification")
    assert r.status_code == 204, r.text
    from portfeil.issuer.lifecycle import credentials_of

    assert [c["notification_event"] for c in await credentials_of(issuer_ctx, IVAN)] == ["credential_accepted"]
    r = await wallet.credential({"notification_id": "nope", "event": "credential_accepted"},
                                path="/issuer/notification")
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_notification_id"


async def test_token_expires(issuer: PidIssuer, wallet: Wallet, issuer_ctx: AppContext) -> None:
    offer = await issuer.create_offer(IVAN, ["pid_sd_jwt"])
    assert (await wallet.redeem(offer.uri, offer.tx_code)).status_code == 200
    issuer_ctx.clock.advance(timedelta(seconds=issuer.settings.token_lifetime_seconds + 1))  # type: ignore[attr-defined]
    wallet.dpop_nonce = None
    r, _ = await wallet.obtain("pid_sd_jwt")
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"


def _b64(s: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _x(key: object) -> str:
    from portfeil.pki.keys import public_jwk

    return public_jwk(key)["x"]  # type: ignore[arg-type]
