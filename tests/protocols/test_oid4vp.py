from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from portfeil.protocols import ProtocolError
from portfeil.protocols.jwe import encrypt, generate_encryption_key
from portfeil.protocols.oid4vp import (
    build_authorization_response,
    build_client_metadata,
    build_request_object,
    parse_authorization_response,
    parse_request_link,
    parse_request_uri_post,
    request_link,
    request_uri_post_body,
    unsigned_request,
    verify_request_object,
    x509_hash,
)
from tests.protocols.conftest import NOW, Pki
from tests.protocols.helpers import jwt

DNS = "verifier.example.bg"
RESPONSE_URI = f"https://{DNS}/response"
DCQL = {"credentials": [{"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:eudi:pid:1"]},
                         "claims": [{"path": ["family_name"]}]}]}
ENC = generate_encryption_key()
REG_CERT = {"format": "registration_cert", "data": "eyJ...registration-certificate-jwt"}


def _ro(rp: Pki, **over: Any) -> str:
    args: dict[str, Any] = {
        "client_id": f"x509_san_dns:{DNS}", "response_uri": RESPONSE_URI, "nonce": "n-1", "state": "st-1",
        "dcql_query": DCQL, "now": NOW, "client_metadata": build_client_metadata(ENC.jwk),
        "verifier_info": [REG_CERT],
    }
    args.update(over)
    return build_request_object(rp.leaf_key, rp.chain, **args)


def _verify(token: str, rp: Pki, **kw: Any) -> Any:
    args: dict[str, Any] = {"trust": rp.validator, "now": NOW}
    args.update(kw)
    return verify_request_object(token, **args)


def test_round_trip_x509_san_dns(rp_access: Pki) -> None:
    req = _verify(_ro(rp_access), rp_access, url_client_id=f"x509_san_dns:{DNS}")
    assert req.verified
    assert req.client_id_prefix == "x509_san_dns"
    assert req.credential_query_ids == ("pid",)
    assert req.verifier_info == (REG_CERT,)
    assert req.response_mode == "direct_post.jwt"


def test_round_trip_x509_hash(rp_access: Pki) -> None:
    cid = f"x509_hash:{x509_hash(rp_access.leaf)}"
    assert _verify(_ro(rp_access, client_id=cid, response_uri="https://elsewhere.example/r"), rp_access).verified


def test_rejects_untrusted_certificate(rp_access: Pki, wallet_provider: Pki) -> None:
    with pytest.raises(ProtocolError) as e:
        _verify(_ro(rp_access), wallet_provider)
    assert e.value.code == "invalid_request_object"


def test_rejects_dns_not_in_san(rp_access: Pki) -> None:
    with pytest.raises(ProtocolError):
        _verify(_ro(rp_access, client_id="x509_san_dns:evil.example", response_uri="https://evil.example/r"),
                rp_access)


def test_rejects_response_uri_host_mismatch(rp_access: Pki) -> None:
    with pytest.raises(ProtocolError) as e:
        _verify(_ro(rp_access, response_uri="https://evil.example/response"), rp_access)
    assert "response_uri" in e.value.message


def test_rejects_wrong_x509_hash(rp_access: Pki) -> None:
    with pytest.raises(ProtocolError):
        _verify(_ro(rp_access, client_id="x509_hash:" + "A" * 43), rp_access)


def test_rejects_unknown_prefix(rp_access: Pki) -> None:
    with pytest.raises(ProtocolError):
        _verify(_ro(rp_access, client_id=RESPONSE_URI), rp_access)


def test_rejects_client_id_differing_from_link(rp_access: Pki) -> None:
    with pytest.raises(ProtocolError):
        _verify(_ro(rp_access), rp_access, url_client_id="x509_san_dns:other.example")


def test_rejects_expired_request(rp_access: Pki) -> None:
    with pytest.raises(ProtocolError):
        _verify(_ro(rp_access, now=NOW - timedelta(hours=1)), rp_access)


def test_rejects_wrong_audience(rp_access: Pki) -> None:
    with pytest.raises(ProtocolError):
        _verify(_ro(rp_access, audience="https://other-wallet.example"), rp_access)


def test_rejects_missing_audience_when_required(rp_access: Pki) -> None:
    from portfeil.formats.jws import sign_compact

    payload = {"client_id": f"x509_san_dns:{DNS}", "response_type": "vp_token", "response_mode": "direct_post",
               "response_uri": RESPONSE_URI, "nonce": "n", "dcql_query": DCQL, "exp": int(NOW.timestamp()) + 60}
    token = sign_compact(payload, rp_access.leaf_key, typ="oauth-authz-req+jwt", x5c=rp_access.chain)
    assert _verify(token, rp_access).verified
    with pytest.raises(ProtocolError):
        _verify(token, rp_access, require_aud=True)


def test_rejects_wrong_typ(rp_access: Pki) -> None:
    payload = {"client_id": f"x509_san_dns:{DNS}", "aud": "https://self-issued.me/v2", "response_type": "vp_token",
               "response_mode": "direct_post", "response_uri": RESPONSE_URI, "nonce": "n",
               "dcql_query": DCQL, "exp": int(NOW.timestamp()) + 60}
    from portfeil.formats.jws import sign_compact

    token = sign_compact(payload, rp_access.leaf_key, typ="JWT", x5c=rp_access.chain)
    with pytest.raises(ProtocolError):
        _verify(token, rp_access)


def test_rejects_missing_exp(rp_access: Pki) -> None:
    from portfeil.formats.jws import sign_compact

    payload = {"client_id": f"x509_san_dns:{DNS}", "aud": "https://self-issued.me/v2", "response_type": "vp_token",
               "response_mode": "direct_post", "response_uri": RESPONSE_URI, "nonce": "n", "dcql_query": DCQL}
    token = sign_compact(payload, rp_access.leaf_key, typ="oauth-authz-req+jwt", x5c=rp_access.chain)
    with pytest.raises(ProtocolError):
        _verify(token, rp_access)


def test_rejects_iss_not_client_id(rp_access: Pki) -> None:
    with pytest.raises(ProtocolError):
        _verify(_ro(rp_access, extra={"iss": "someone-else"}), rp_access)


def test_wallet_nonce_echo(rp_access: Pki) -> None:
    token = _ro(rp_access, wallet_nonce="wn-1")
    assert _verify(token, rp_access, expected_wallet_nonce="wn-1").verified
    with pytest.raises(ProtocolError):
        _verify(token, rp_access, expected_wallet_nonce="wn-2")
    with pytest.raises(ProtocolError):
        _verify(_ro(rp_access), rp_access, expected_wallet_nonce="wn-1")


def test_rejects_direct_post_jwt_without_key(rp_access: Pki) -> None:
    from portfeil.formats.jws import sign_compact

    payload = {"client_id": f"x509_san_dns:{DNS}", "aud": "https://self-issued.me/v2", "response_type": "vp_token",
               "response_mode": "direct_post.jwt", "response_uri": RESPONSE_URI, "nonce": "n", "dcql_query": DCQL,
               "exp": int(NOW.timestamp()) + 60}
    token = sign_compact(payload, rp_access.leaf_key, typ="oauth-authz-req+jwt", x5c=rp_access.chain)
    with pytest.raises(ProtocolError):
        _verify(token, rp_access)


def test_rejects_duplicate_dcql_ids(rp_access: Pki) -> None:
    with pytest.raises(ProtocolError):
        _ro(rp_access, dcql_query={"credentials": [DCQL["credentials"][0], DCQL["credentials"][0]]})


def test_rejects_malformed_verifier_info(rp_access: Pki) -> None:
    with pytest.raises(ProtocolError):
        _ro(rp_access, verifier_info=[{"data": "x"}])


def test_rejects_signature_of_other_key(rp_access: Pki) -> None:
    from portfeil.pki.certs import certs_to_x5c
    from portfeil.pki.keys import generate_private_key

    payload = {"client_id": f"x509_san_dns:{DNS}", "aud": "https://self-issued.me/v2", "response_type": "vp_token",
               "response_mode": "direct_post", "response_uri": RESPONSE_URI, "nonce": "n", "dcql_query": DCQL,
               "exp": int(NOW.timestamp()) + 60}
    token = jwt(payload, generate_private_key("ES256"), typ="oauth-authz-req+jwt",
                header={"x5c": certs_to_x5c(rp_access.chain)})
    with pytest.raises(ProtocolError) as e:
        _verify(token, rp_access)
    assert e.value.details.get("reason") == "bad_signature"


# --- unsigned

def _unsigned_params() -> dict[str, str]:
    return {"client_id": f"redirect_uri:{RESPONSE_URI}", "response_type": "vp_token", "response_mode": "direct_post",
            "response_uri": RESPONSE_URI, "nonce": "n", "dcql_query": json.dumps(DCQL)}


def test_unsigned_request_only_when_allowed() -> None:
    with pytest.raises(ProtocolError):
        unsigned_request(_unsigned_params())
    req = unsigned_request(_unsigned_params(), allow_unsigned=True)
    assert req.verified is False


def test_unsigned_rejects_client_id_not_response_uri() -> None:
    p = _unsigned_params()
    p["client_id"] = "redirect_uri:https://other.example/r"
    with pytest.raises(ProtocolError):
        unsigned_request(p, allow_unsigned=True)


def test_unsigned_rejects_other_prefix() -> None:
    p = _unsigned_params()
    p["client_id"] = f"x509_san_dns:{DNS}"
    with pytest.raises(ProtocolError):
        unsigned_request(p, allow_unsigned=True)


# --- links

def test_link_round_trip_post() -> None:
    link = request_link(client_id=f"x509_san_dns:{DNS}", request_uri=f"https://{DNS}/request/1",
                        request_uri_method="post", scheme="haip-vp://")
    assert link.startswith("haip-vp://?client_id=x509_san_dns%3A")
    parsed = parse_request_link(link)
    assert parsed.client_id == f"x509_san_dns:{DNS}"
    assert parsed.request_uri_method == "post"


def test_link_rejects_bad_method() -> None:
    with pytest.raises(ProtocolError) as e:
        parse_request_link(f"openid4vp://?client_id=x&request_uri=https%3A%2F%2F{DNS}%2Fr&request_uri_method=put")
    assert e.value.code == "invalid_request_uri_method"


def test_link_rejects_http_request_uri() -> None:
    with pytest.raises(ProtocolError):
        parse_request_link("openid4vp://?client_id=x&request_uri=http%3A%2F%2Fevil%2Fr")


def test_link_rejects_repeated_client_id() -> None:
    with pytest.raises(ProtocolError):
        parse_request_link(f"openid4vp://?client_id=a&client_id=b&request_uri=https%3A%2F%2F{DNS}%2Fr")


def test_request_uri_post_round_trip() -> None:
    from portfeil.protocols.oid4vp import build_wallet_metadata

    md = build_wallet_metadata()
    body = request_uri_post_body(wallet_nonce="wn", wallet_metadata=md)
    assert parse_request_uri_post(body) == (md, "wn")
    assert md["authorization_encryption_alg_values_supported"] == ["ECDH-ES"]


def test_request_uri_post_rejects_non_object_metadata() -> None:
    with pytest.raises(ProtocolError):
        parse_request_uri_post({"wallet_metadata": "[1, 2]", "wallet_nonce": "wn"})


# --- responses

def _request(rp: Pki, mode: str = "direct_post.jwt") -> Any:
    return _verify(_ro(rp, response_mode=mode), rp)


@pytest.mark.parametrize("mode", ["direct_post", "direct_post.jwt"])
def test_response_round_trip(rp_access: Pki, mode: str) -> None:
    req = _request(rp_access, mode)
    form = build_authorization_response(req, {"pid": ["eyJ...~disclosure~kb"]})
    if mode == "direct_post.jwt":
        assert set(form) == {"response"}
    res = parse_authorization_response(form, response_mode=mode, expected_state="st-1",  # type: ignore[arg-type]
                                       credential_query_ids={"pid"}, decryption_key=ENC)
    assert res.vp_token == {"pid": ["eyJ...~disclosure~kb"]}
    assert res.encrypted == (mode == "direct_post.jwt")


def test_response_rejects_wrong_state(rp_access: Pki) -> None:
    form = build_authorization_response(_request(rp_access), {"pid": ["x"]})
    with pytest.raises(ProtocolError):
        parse_authorization_response(form, response_mode="direct_post.jwt", expected_state="st-2", decryption_key=ENC)


def test_response_rejects_plain_params_in_jwt_mode(rp_access: Pki) -> None:
    form = build_authorization_response(_request(rp_access, "direct_post"), {"pid": ["x"]})
    with pytest.raises(ProtocolError):
        parse_authorization_response(form, response_mode="direct_post.jwt", expected_state="st-1", decryption_key=ENC)


def test_response_rejects_other_kid(rp_access: Pki) -> None:
    other = generate_encryption_key()
    token = encrypt(json.dumps({"vp_token": {"pid": ["x"]}, "state": "st-1"}).encode(), other.jwk, enc="A128GCM")
    with pytest.raises(ProtocolError):
        parse_authorization_response({"response": token}, response_mode="direct_post.jwt", expected_state="st-1",
                                     decryption_key=ENC)


def test_response_rejects_disallowed_enc(rp_access: Pki) -> None:
    token = encrypt(json.dumps({"vp_token": {"pid": ["x"]}, "state": "st-1"}).encode(), ENC.jwk, enc="A256GCM")
    with pytest.raises(ProtocolError):
        parse_authorization_response({"response": token}, response_mode="direct_post.jwt", expected_state="st-1",
                                     decryption_key=ENC, enc_values={"A128GCM"})


def test_response_rejects_unrequested_query_id(rp_access: Pki) -> None:
    form = {"vp_token": json.dumps({"other": ["x"]}), "state": "st-1"}
    with pytest.raises(ProtocolError):
        parse_authorization_response(form, response_mode="direct_post", expected_state="st-1",
                                     credential_query_ids={"pid"})


def test_response_rejects_non_array_presentations() -> None:
    form = {"vp_token": json.dumps({"pid": "x"}), "state": "st-1"}
    with pytest.raises(ProtocolError):
        parse_authorization_response(form, response_mode="direct_post", expected_state="st-1")


def test_wallet_error_response() -> None:
    res = parse_authorization_response({"error": "access_denied", "state": "st-1"}, response_mode="direct_post",
                                       expected_state="st-1")
    assert res.error == "access_denied"


def test_wallet_rejects_vp_token_for_unknown_query(rp_access: Pki) -> None:
    with pytest.raises(ProtocolError):
        build_authorization_response(_request(rp_access), {"nope": ["x"]})


def test_response_rejects_several_presentations_without_multiple() -> None:
    form = {"vp_token": json.dumps({"pid": ["a", "b"]}), "state": "st-1"}
    with pytest.raises(ProtocolError):
        parse_authorization_response(form, response_mode="direct_post", expected_state="st-1", dcql_query=DCQL)
    multi = {"credentials": [{**DCQL["credentials"][0], "multiple": True}]}
    res = parse_authorization_response(form, response_mode="direct_post", expected_state="st-1", dcql_query=multi)
    assert res.vp_token == {"pid": ["a", "b"]}


def test_wallet_refuses_several_presentations_without_multiple(rp_access: Pki) -> None:
    with pytest.raises(ProtocolError):
        build_authorization_response(_request(rp_access), {"pid": ["a", "b"]})
