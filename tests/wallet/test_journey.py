"""Receive a PID (both formats) from the PID provider and present it to the verifier, over HTTP, in-process."""

from __future__ import annotations

import pytest

from portfeil.wallet.errors import WalletError
from portfeil.wallet.present import load_request, respond
from portfeil.wallet.receive import accept_offer
from tests.wallet.conftest import Env


async def test_accept_and_present_sd_jwt(env: Env) -> None:
    uri, tx = await env.offer(["pid_sd_jwt", "pid_mdoc"])
    out = await accept_offer(env.wallet, uri, tx_code=tx)
    assert {c["format"] for c in out["credentials"]} == {"dc+sd-jwt", "mso_mdoc"}
    assert all(c["unused"] == 3 for c in out["credentials"])
    link = await env.request(client_id_prefix="x509_san_dns", response_mode="direct_post.jwt")
    pending = await load_request(env.wallet, link)
    assert pending.request.verified
    assert pending.registration["verified"], pending.registration
    assert pending.within_registration, pending.registration
    assert pending.party["name"]
    res = await respond(env.wallet, pending)
    assert res["sent"]
    entries = env.wallet.log.entries()
    assert [e["kind"] for e in entries][-1] == "presentation"


@pytest.mark.parametrize("prefix", ["x509_san_dns", "x509_hash"])
@pytest.mark.parametrize("mode", ["direct_post", "direct_post.jwt"])
async def test_mdoc_presentation(env: Env, prefix: str, mode: str) -> None:
    uri, tx = await env.offer(["pid_mdoc"])
    await accept_offer(env.wallet, uri, tx_code=tx)
    link = await env.request(client_id_prefix=prefix, response_mode=mode)
    pending = await load_request(env.wallet, link)
    await respond(env.wallet, pending)


async def test_present_does_not_contact_issuer(env: Env) -> None:
    uri, tx = await env.offer(["pid_sd_jwt"])
    await accept_offer(env.wallet, uri, tx_code=tx)
    env.calls.clear()
    pending = await load_request(env.wallet, await env.request(request_uri_method="post"))
    assert pending.request.payload.get("wallet_nonce")
    await respond(env.wallet, pending, only=["family_name", "given_name", "birthdate",
                                             "personal_administrative_number"])
    assert env.calls
    assert not [c for c in env.calls if "/issuer" in c], env.calls


async def test_one_time_credentials_used_once(env: Env) -> None:
    uri, tx = await env.offer(["pid_sd_jwt"])
    await accept_offer(env.wallet, uri, tx_code=tx, batch=2)
    seen = set()
    for _ in range(2):
        pending = await load_request(env.wallet, await env.request())
        seen.add(pending.options["pid"][0]["credential_id"])
        await respond(env.wallet, pending)
    rec = env.wallet.credentials()[0]
    assert all(i["used"] for i in rec["instances"])
    pending = await load_request(env.wallet, await env.request())
    assert not pending.satisfiable
    with pytest.raises(WalletError) as exc:
        await respond(env.wallet, pending)
    assert exc.value.code == "no_matching_credential"


async def test_rejects_request_beyond_registration(env: Env) -> None:
    uri, tx = await env.offer(["pid_sd_jwt"])
    await accept_offer(env.wallet, uri, tx_code=tx)
    dcql = {"credentials": [{"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:eudi:pid:1"]},
                             "claims": [{"path": ["family_name"]}, {"path": ["address", "street_address"]},
                                        {"path": ["sex"]}]}]}
    link = await env.request(template=None, dcql=dcql)
    pending = await load_request(env.wallet, link)
    assert not pending.within_registration
    assert pending.registration["beyond"]
    with pytest.raises(WalletError) as exc:
        await respond(env.wallet, pending)
    assert exc.value.code == "beyond_registration"
    assert env.wallet.log.entries()[-1]["kind"] == "presentation_refused"


async def test_rejects_untrusted_verifier(env: Env) -> None:
    uri, tx = await env.offer(["pid_sd_jwt"])
    await accept_offer(env.wallet, uri, tx_code=tx)
    env.wallet.anchors.forget_lists()
    with pytest.raises(WalletError) as exc:
        await load_request(env.wallet, await env.request())
    assert exc.value.code == "no_trust_anchors"


async def test_rejects_wrong_tx_code(env: Env) -> None:
    uri, _tx = await env.offer(["pid_sd_jwt"])
    with pytest.raises(WalletError) as exc:
        await accept_offer(env.wallet, uri, tx_code="000000x")
    assert exc.value.code == "issuance_failed"
    assert env.wallet.credentials() == []


async def test_offer_by_reference(env: Env) -> None:
    uri, tx = await env.offer(["pid_sd_jwt"], by_reference=True)
    assert "credential_offer_uri" in uri
    out = await accept_offer(env.wallet, uri, tx_code=tx)
    assert out["credentials"][0]["format"] == "dc+sd-jwt"
    assert env.wallet.log.parties()
