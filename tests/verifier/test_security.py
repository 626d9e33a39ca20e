"""Named negative tests: every security check of the verifier refuses what it must (issue 8, "Security")."""

from __future__ import annotations

import json
from typing import Any

import pytest

from portfeil.formats.jws import b64url_decode, b64url_encode
from portfeil.pki.ca import create_root_ca, issue_leaf
from portfeil.pki.keys import generate_private_key
from portfeil.pki.roles import Role
from portfeil.protocols.jwe import encrypt, generate_encryption_key
from tests.verifier.conftest import ISSUER, Env


def _codes(res: dict[str, Any]) -> set[str]:
    r = res["result"]
    out = {f["code"] for f in r.get("failures", [])}
    for c in r["credentials"]:
        out |= {f["code"] for f in c.get("failures", [])}
    return out


async def _failed_with(env: Env, tx_id: str, code: str) -> None:
    res = await env.result(tx_id)
    assert res["status"] == "failed", res
    assert code in _codes(res), _codes(res)


async def test_rejects_replayed_response(env: Env) -> None:
    created = await env.create()
    req = await env.wallet_request(created)
    from portfeil.protocols.oid4vp import build_authorization_response

    form = build_authorization_response(req, {"pid": [env.present_sd_jwt(req)]})
    assert (await env.client.post(req.response_uri, data=form)).status_code == 200
    again = await env.client.post(req.response_uri, data=form)
    assert again.status_code == 400
    assert again.json()["error"] == "response_already_received"
    assert (await env.result(created.id))["status"] == "verified"


async def test_rejects_response_for_another_transaction(env: Env) -> None:
    a, b = await env.create(response_mode="direct_post"), await env.create(response_mode="direct_post")
    req_a, req_b = await env.wallet_request(a), await env.wallet_request(b)
    resp = await env.respond(req_a, {"pid": [env.present_sd_jwt(req_a)]}, url=req_b.response_uri)
    assert resp.status_code == 400
    assert "state" in resp.json()["error_description"]
    assert (await env.result(b.id))["status"] == "fetched"  # not consumed
    ok = await env.respond(req_b, {"pid": [env.present_sd_jwt(req_b)]})
    assert ok.status_code == 200
    assert (await env.result(b.id))["status"] == "verified"


async def test_rejects_encrypted_response_to_wrong_key(env: Env) -> None:
    a, b = await env.create(), await env.create()
    req_a, req_b = await env.wallet_request(a), await env.wallet_request(b)
    from portfeil.protocols.oid4vp import build_authorization_response

    form_a = build_authorization_response(req_a, {"pid": [env.present_sd_jwt(req_a)]})
    resp = await env.client.post(req_b.response_uri, data=form_a)  # encrypted to A's key
    assert resp.status_code == 400
    other = generate_encryption_key()
    jwk = dict(other.jwk)
    jwk["kid"] = req_b.client_metadata["jwks"]["keys"][0]["kid"]  # our kid, someone else's key
    token = encrypt(json.dumps({"vp_token": {"pid": ["x"]}, "state": req_b.state}).encode(), jwk, enc="A128GCM")
    resp = await env.client.post(req_b.response_uri, data={"response": token})
    assert resp.status_code == 400
    assert (await env.result(b.id))["status"] == "fetched"


async def test_rejects_wrong_nonce(env: Env) -> None:
    created = await env.create()
    req = await env.wallet_request(created)
    await env.respond(req, {"pid": [env.present_sd_jwt(req, nonce="another-nonce")]})
    await _failed_with(env, created.id, "wrong_nonce")


async def test_rejects_wrong_audience(env: Env) -> None:
    created = await env.create()
    req = await env.wallet_request(created)
    await env.respond(req, {"pid": [env.present_sd_jwt(req, aud="x509_san_dns:evil.example")]})
    await _failed_with(env, created.id, "wrong_audience")


async def test_rejects_mdoc_bound_to_other_transcript(env: Env) -> None:
    from portfeil.formats.mdoc import openid4vp_session_transcript

    created = await env.create()
    req = await env.wallet_request(created)
    wrong = openid4vp_session_transcript(req.client_id, "other-nonce", None, req.response_uri)
    await env.respond(req, {"pid_mdoc": [env.present_mdoc(req, transcript=wrong)]})
    res = await env.result(created.id)
    assert res["status"] == "failed"


async def test_rejects_untrusted_issuer(env: Env) -> None:
    rogue_root = create_root_ca("Rogue PID CA", Role.PID_PROVIDER, now=env.now)
    key = generate_private_key("ES256")
    leaf = issue_leaf(rogue_root, "Rogue PID", key.public_key(), Role.PID_PROVIDER, now=env.now, san_uris=[ISSUER])
    created = await env.create()
    req = await env.wallet_request(created)
    token = env.sd_jwt(key=key, chain=[leaf])
    await env.respond(req, {"pid": [env.present_sd_jwt(req, token=token)]})
    await _failed_with(env, created.id, "untrusted_issuer")


async def test_rejects_revoked_pid(env: Env) -> None:
    env.revoke(7)
    created = await env.create()
    req = await env.wallet_request(created)
    await env.respond(req, {"pid": [env.present_sd_jwt(req)]})
    await _failed_with(env, created.id, "credential_revoked")


async def test_rejects_revoked_mdoc(env: Env) -> None:
    env.revoke(9)
    created = await env.create()
    req = await env.wallet_request(created)
    await env.respond(req, {"pid_mdoc": [env.present_mdoc(req)]})
    await _failed_with(env, created.id, "credential_revoked")


async def test_rejects_unavailable_status_list(env: Env) -> None:
    # the harness fetcher refuses every URI but its own
    created = await env.create()
    req = await env.wallet_request(created)
    token = env.sd_jwt()
    from portfeil.formats.sdjwt import StatusReference, issue_sd_jwt_vc
    from portfeil.pki.keys import public_jwk

    token = issue_sd_jwt_vc({"given_name": "X", "family_name": "Y", "birthdate": "1990-01-01",
                             "personal_administrative_number": "8506258485"},
                            issuer_key=env.pid_key, issuer_chain=env.pid_chain, vct="urn:eudi:pid:1", iss=ISSUER,
                            now=env.now, holder_jwk=public_jwk(env.holder.public_key()),
                            status=StatusReference(1, "http://localhost/nowhere"))
    await env.respond(req, {"pid": [env.present_sd_jwt(req, token=token)]})
    await _failed_with(env, created.id, "status_list_unavailable")


async def test_rejects_tampered_disclosure(env: Env) -> None:
    created = await env.create()
    req = await env.wallet_request(created)
    presentation = env.present_sd_jwt(req)
    parts = presentation.split("~")
    for i, d in enumerate(parts[1:-1], start=1):
        salt, name, _value = json.loads(b64url_decode(d))
        if name == "personal_administrative_number":
            parts[i] = b64url_encode(json.dumps([salt, name, "0042096485"]).encode())
    tampered = "~".join(parts)
    assert tampered != presentation
    await env.respond(req, {"pid": [tampered]})
    res = await env.result(created.id)
    assert res["status"] == "failed"
    assert _codes(res) & {"unreferenced_disclosure", "kb_sd_hash_mismatch"}


async def test_rejects_missing_kb_jwt(env: Env) -> None:
    from portfeil.formats.sdjwt import present

    created = await env.create()
    req = await env.wallet_request(created)
    no_kb = present(env.sd_jwt(), [("given_name",), ("family_name",), ("birthdate",),
                                   ("personal_administrative_number",)])
    await env.respond(req, {"pid": [no_kb]})
    await _failed_with(env, created.id, "missing_key_binding")


async def test_rejects_kb_jwt_of_another_key(env: Env) -> None:
    created = await env.create()
    req = await env.wallet_request(created)
    await env.respond(req, {"pid": [env.present_sd_jwt(req, holder=generate_private_key("ES256"))]})
    res = await env.result(created.id)
    assert res["status"] == "failed"


async def test_rejects_extra_disclosed_claims(env: Env) -> None:
    created = await env.create(template="age-over-18")
    req = await env.wallet_request(created)
    await env.respond(req, {"pid": [env.present_sd_jwt(req, [("age_equal_or_over", "18"), ("given_name",)])]})
    await _failed_with(env, created.id, "extra_claims_disclosed")


async def test_rejects_extra_mdoc_elements(env: Env) -> None:
    created = await env.create(template="age-over-18")
    req = await env.wallet_request(created)
    await env.respond(req, {"pid_mdoc": [env.present_mdoc(req, ["age_over_18", "family_name"])]})
    await _failed_with(env, created.id, "extra_claims_disclosed")


async def test_rejects_incomplete_answer(env: Env) -> None:
    created = await env.create()
    req = await env.wallet_request(created)
    await env.respond(req, {"pid": [env.present_sd_jwt(req, [("given_name",)])]})
    await _failed_with(env, created.id, "dcql_presentation_mismatch")


async def test_rejects_oversized_payload(env: Env) -> None:
    created = await env.create(response_mode="direct_post")
    req = await env.wallet_request(created)
    big = {"vp_token": json.dumps({"pid": ["A" * 1_100_000]}), "state": req.state}
    resp = await env.client.post(req.response_uri, data=big)
    assert resp.status_code == 413
    assert (await env.result(created.id))["status"] == "fetched"


async def test_rejects_expired_transaction(env: Env) -> None:
    created = await env.create()
    req = await env.wallet_request(created)
    form_vp = {"pid": [env.present_sd_jwt(req)]}
    env.ctx.clock.advance(minutes=6)  # type: ignore[attr-defined]
    resp = await env.respond(req, form_vp)
    assert resp.status_code == 400
    assert resp.json()["error"] == "transaction_expired"
    assert (await env.client.get(created.request_uri)).status_code == 400
    assert (await env.result(created.id))["status"] == "expired"


async def test_rejects_algorithm_confusion(env: Env) -> None:
    created = await env.create()
    req = await env.wallet_request(created)
    presentation = env.present_sd_jwt(req)
    jwt, rest = presentation.split("~", 1)
    h, p, _s = jwt.split(".")
    header = json.loads(b64url_decode(h))
    for alg in ("none", "HS256"):
        header["alg"] = alg
        forged = f"{b64url_encode(json.dumps(header).encode())}.{p}.{_s if alg != 'none' else ''}~{rest}"
        created = await env.create()
        req = await env.wallet_request(created)
        await env.respond(req, {"pid": [forged]})
        res = await env.result(created.id)
        assert res["status"] == "failed", alg


@pytest.mark.parametrize("vp", ["not json", json.dumps({"pid": "x"}), json.dumps([1]), json.dumps({"zzz": ["a"]})])
async def test_rejects_malformed_vp_token(env: Env, vp: str) -> None:
    created = await env.create(response_mode="direct_post")
    req = await env.wallet_request(created)
    resp = await env.client.post(req.response_uri, data={"vp_token": vp, "state": req.state})
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_request"
    assert (await env.result(created.id))["status"] == "fetched"


async def test_rejects_non_string_presentation(env: Env) -> None:
    created = await env.create(response_mode="direct_post")
    req = await env.wallet_request(created)
    resp = await env.client.post(req.response_uri, data={"vp_token": json.dumps({"pid": [{"a": 1}]}),
                                                         "state": req.state})
    assert resp.status_code == 200
    await _failed_with(env, created.id, "malformed_presentation")


async def test_wallet_error_is_recorded(env: Env) -> None:
    created = await env.create(response_mode="direct_post")
    req = await env.wallet_request(created)
    resp = await env.client.post(req.response_uri, data={"error": "access_denied", "state": req.state})
    assert resp.status_code == 200
    res = await env.result(created.id)
    assert res["status"] == "wallet_error"


async def test_rejects_missing_or_unknown_api_key(env: Env) -> None:
    created = await env.create()
    r = await env.client.get(f"/verifier/api/v1/transactions/{created.id}")
    assert r.status_code == 401
    r = await env.client.get(f"/verifier/api/v1/transactions/{created.id}", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


async def test_other_party_cannot_read_result(env: Env) -> None:
    _p, other_key = await env.verifier.register_party(name="Друг ЕООД", eik="177480148")
    created = await env.create()
    r = await env.client.get(f"/verifier/api/v1/transactions/{created.id}",
                             headers={"Authorization": f"Bearer {other_key}"})
    assert r.status_code == 404
