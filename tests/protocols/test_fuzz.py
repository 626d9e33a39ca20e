"""Hypothesis fuzzing of every parser of portfeil.protocols: whatever the input, only ProtocolError escapes."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfeil.formats.jws import b64url_encode, sign_compact
from portfeil.pki.keys import generate_private_key, public_jwk
from portfeil.protocols import ProtocolError, jwe, oauth, oid4vci, oid4vp
from portfeil.protocols.client_attestation import verify_client_attestation, verify_key_attestation
from portfeil.protocols.dpop import verify_dpop_proof
from tests.protocols.conftest import NOW, Pki, Seen

SETTINGS = settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
KEY = generate_private_key("ES256")
ENC = jwe.generate_encryption_key()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
interesting_keys = st.sampled_from([
    "credential_issuer", "credential_configuration_ids", "grants", "tx_code", "input_mode", "length",
    "urn:ietf:params:oauth:grant-type:pre-authorized_code", "authorization_code", "pre-authorized_code",
    "credential_configuration_id", "credential_identifier", "proofs", "proof", "jwt", "attestation",
    "credential_response_encryption", "jwk", "enc", "alg", "kid", "typ", "x5c", "key_attestation",
    "notification_id", "event", "transaction_id", "client_id", "response_type", "response_mode", "response_uri",
    "nonce", "state", "dcql_query", "credentials", "id", "format", "client_metadata", "jwks", "keys", "aud", "iss",
    "exp", "iat", "nbf", "jti", "htm", "htu", "ath", "cnf", "sub", "attested_keys", "verifier_info", "data",
    "vp_token", "response", "error", "redirect_uri", "code_challenge", "code_challenge_method", "scope",
    "authorization_details", "type", "grant_type", "code", "code_verifier", "wallet_nonce", "wallet_metadata",
])
objects = st.dictionaries(interesting_keys | st.text(max_size=10), json_values, max_size=10)


def only_protocol_errors(fn: Callable[[], Any]) -> None:
    """Run ``fn``; a ProtocolError is a fine answer, any other exception fails the test."""
    with contextlib.suppress(ProtocolError):
        fn()


def signed(header: dict[str, Any], payload: dict[str, Any]) -> str:
    return sign_compact(payload, KEY, header={k: v for k, v in header.items() if k not in ("alg", "crit")})


@SETTINGS
@given(st.one_of(objects, json_values, st.text(max_size=200)))
def test_offer_and_metadata(data: Any) -> None:
    only_protocol_errors(lambda: oid4vci.parse_credential_offer(data))
    only_protocol_errors(lambda: oid4vci.parse_credential_issuer_metadata(data, expected_issuer="https://i"))
    if isinstance(data, dict):
        only_protocol_errors(lambda: oid4vci.parse_credential_offer(json.dumps(data)))


@SETTINGS
@given(st.text(max_size=300), objects)
def test_offer_links(text: str, obj: dict[str, Any]) -> None:
    from urllib.parse import quote

    only_protocol_errors(lambda: oid4vci.parse_credential_offer_uri(text))
    only_protocol_errors(lambda: oid4vci.parse_credential_offer_uri(
        "openid-credential-offer://?credential_offer=" + quote(json.dumps(obj))))
    only_protocol_errors(lambda: oid4vp.parse_request_link(text))
    only_protocol_errors(lambda: oid4vp.parse_request_link("openid4vp://?" + text))


@SETTINGS
@given(st.one_of(objects, json_values))
def test_credential_requests(data: Any) -> None:
    only_protocol_errors(lambda: oid4vci.validate_credential_request(
        data, known_configuration_ids={"a"}, authorized_identifiers={"x": "a"}, batch_size=3))
    only_protocol_errors(lambda: oid4vci.validate_deferred_credential_request(data))
    only_protocol_errors(lambda: oid4vci.validate_notification_request(data, known_notification_id=lambda n: True))
    only_protocol_errors(lambda: oauth.parse_authorization_details(data))
    only_protocol_errors(lambda: oauth.parse_token_response(data))
    only_protocol_errors(lambda: oauth.parse_par_response(data))
    only_protocol_errors(lambda: oauth.parse_authorization_server_metadata(data, expected_issuer="https://i"))
    only_protocol_errors(lambda: oid4vci.parse_credential_response(data))
    only_protocol_errors(lambda: oid4vci.parse_nonce_response(data))


@SETTINGS
@given(st.dictionaries(interesting_keys, st.text(max_size=60) | st.lists(st.text(max_size=5), max_size=2),
                       max_size=12))
def test_forms(form: dict[str, Any]) -> None:
    only_protocol_errors(lambda: oauth.validate_par_request(form, scope_to_configuration={"pid": "a"}))
    only_protocol_errors(lambda: oauth.validate_token_request(form))
    only_protocol_errors(lambda: oid4vp.parse_request_uri_post(form))
    only_protocol_errors(lambda: oid4vp.unsigned_request(form, allow_unsigned=True))
    for mode in ("direct_post", "direct_post.jwt"):
        only_protocol_errors(lambda m=mode: oid4vp.parse_authorization_response(  # type: ignore[misc]
            form, response_mode=m, expected_state="s", decryption_key=ENC,
            dcql_query={"credentials": [{"id": "pid", "format": "dc+sd-jwt"}]}))


@SETTINGS
@given(objects, objects)
def test_signed_jwts(header: dict[str, Any], payload: dict[str, Any]) -> None:
    token = signed(header, payload)
    only_protocol_errors(lambda: verify_dpop_proof(token, htm="POST", htu="https://a/t", now=NOW, seen=Seen()))
    withjwk = signed({**header, "typ": "dpop+jwt", "jwk": public_jwk(KEY)}, payload)
    only_protocol_errors(lambda: verify_dpop_proof(withjwk, htm="POST", htu="https://a/t", now=NOW, seen=Seen(),
                                                   access_token="t"))
    proof = signed({**header, "typ": "openid4vci-proof+jwt"}, payload)
    req = oid4vci.CredentialRequest("a", None, "jwt", (proof,), None)
    only_protocol_errors(lambda: oid4vci.verify_proofs(req, credential_issuer="https://i", now=NOW,
                                                       consume_nonce=lambda n: True))


@SETTINGS
@given(objects, objects)
def test_x5c_jwts(wallet_provider: Pki, header: dict[str, Any], payload: dict[str, Any]) -> None:
    from portfeil.pki.certs import certs_to_x5c

    x5c = certs_to_x5c(wallet_provider.chain)
    att = sign_compact(payload, wallet_provider.leaf_key,
                       header={**{k: v for k, v in header.items() if k not in ("alg", "crit")},
                               "typ": "oauth-client-attestation+jwt", "x5c": x5c})
    pop = signed({"typ": "oauth-client-attestation-pop+jwt"}, payload)
    only_protocol_errors(lambda: verify_client_attestation(att, pop, trust=wallet_provider.validator,
                                                           audience="https://a", now=NOW, seen=Seen()))
    ka = sign_compact(payload, wallet_provider.leaf_key, typ="key-attestation+jwt", header={"x5c": x5c})
    only_protocol_errors(lambda: verify_key_attestation(ka, trust=wallet_provider.validator, now=NOW))
    ro = sign_compact(payload, wallet_provider.leaf_key, typ="oauth-authz-req+jwt", header={"x5c": x5c})
    only_protocol_errors(lambda: oid4vp.verify_request_object(ro, trust=wallet_provider.validator, now=NOW))


@SETTINGS
@given(st.text(max_size=400))
def test_raw_tokens(text: str) -> None:
    only_protocol_errors(lambda: verify_dpop_proof(text, htm="GET", htu="https://a/", now=NOW, seen=Seen()))
    only_protocol_errors(lambda: jwe.decrypt(text, ENC.private_key))
    only_protocol_errors(lambda: oauth.parse_request_uri(text))
    only_protocol_errors(lambda: oid4vp.parse_authorization_response({"response": text},
                                                                     response_mode="direct_post.jwt",
                                                                     expected_state=None, decryption_key=ENC))


@SETTINGS
@given(objects, st.sampled_from(["A128GCM", "A256GCM"]))
def test_encrypted_responses(payload: dict[str, Any], enc: str) -> None:
    token = jwe.encrypt(json.dumps(payload).encode(), ENC.jwk, enc=enc)
    only_protocol_errors(lambda: oid4vp.parse_authorization_response(
        {"response": token}, response_mode="direct_post.jwt", expected_state=None, decryption_key=ENC))
    only_protocol_errors(lambda: oid4vci.decrypt_credential_request(token, ENC.private_key, kid=ENC.kid))
    only_protocol_errors(lambda: oid4vci.parse_credential_response(token, decryption_key=ENC))


@SETTINGS
@given(objects, st.binary(max_size=64))
def test_mangled_jwe_headers(header: dict[str, Any], tail: bytes) -> None:
    token = b64url_encode(json.dumps(header).encode()) + "..." + b64url_encode(tail) + "."
    only_protocol_errors(lambda: jwe.decrypt(token, ENC.private_key))


@pytest.mark.parametrize("value", ["a.b.c", "...", "e30.e30.", "eyJhbGciOiJub25lIn0.e30."])
def test_degenerate_tokens(value: str, wallet_provider: Pki) -> None:
    with pytest.raises(ProtocolError):
        verify_key_attestation(value, trust=wallet_provider.validator, now=NOW)


# --- mutations of valid messages: one member replaced by an arbitrary value reaches the deeper checks

def _valid_request_payload() -> dict[str, Any]:
    return {"client_id": "x509_san_dns:verifier.example.bg", "aud": "https://self-issued.me/v2",
            "response_type": "vp_token", "response_mode": "direct_post.jwt",
            "response_uri": "https://verifier.example.bg/r", "nonce": "n", "state": "s",
            "dcql_query": {"credentials": [{"id": "pid", "format": "dc+sd-jwt"}]},
            "client_metadata": oid4vp.build_client_metadata(ENC.jwk), "verifier_info": [{"format": "x", "data": "y"}],
            "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 60}


@SETTINGS
@given(st.sampled_from(sorted(_valid_request_payload())), json_values)
def test_mutated_request_objects(rp_access: Pki, name: str, value: Any) -> None:
    payload = _valid_request_payload()
    payload[name] = value
    token = sign_compact(payload, rp_access.leaf_key, typ="oauth-authz-req+jwt", x5c=rp_access.chain)
    only_protocol_errors(lambda: oid4vp.verify_request_object(token, trust=rp_access.validator, now=NOW))
    only_protocol_errors(lambda: oid4vp.unsigned_request(
        {**{k: v for k, v in payload.items() if isinstance(v, str)}, "client_id": "redirect_uri:https://a/r"},
        allow_unsigned=True))


@SETTINGS
@given(st.sampled_from(["jti", "htm", "htu", "iat", "ath", "nonce"]), json_values)
def test_mutated_dpop(name: str, value: Any) -> None:
    payload = {"jti": "j", "htm": "POST", "htu": "https://a/t", "iat": int(NOW.timestamp()), "ath": "x", "nonce": "n"}
    payload[name] = value
    token = sign_compact(payload, KEY, typ="dpop+jwt", header={"jwk": public_jwk(KEY)})
    only_protocol_errors(lambda: verify_dpop_proof(token, htm="POST", htu="https://a/t", now=NOW, seen=Seen(),
                                                   access_token="t", check_nonce=lambda n: n == "n"))


@SETTINGS
@given(st.sampled_from(["credential_issuer", "credential_configuration_ids", "grants"]), json_values)
def test_mutated_offers(name: str, value: Any) -> None:
    offer = oid4vci.build_credential_offer("https://i.example", ["a"], pre_authorized_code="p",
                                           tx_code=oid4vci.TxCode(length=6), issuer_state="s")
    offer[name] = value
    only_protocol_errors(lambda: oid4vci.parse_credential_offer(offer))


@SETTINGS
@given(st.sampled_from(["aud", "iat", "nonce", "iss"]), json_values)
def test_mutated_proofs(name: str, value: Any) -> None:
    payload = {"aud": "https://i", "iat": int(NOW.timestamp()), "nonce": "n", "iss": "w"}
    payload[name] = value
    proof = sign_compact(payload, KEY, typ="openid4vci-proof+jwt", header={"jwk": public_jwk(KEY)})
    req = oid4vci.CredentialRequest("a", None, "jwt", (proof,), None)
    only_protocol_errors(lambda: oid4vci.verify_proofs(req, credential_issuer="https://i", now=NOW,
                                                       consume_nonce=lambda n: n == "n", client_id="w"))


ids = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x10FFFF, exclude_categories=["Cs"]),
              min_size=1, max_size=30)


@SETTINGS
@given(st.lists(ids, min_size=1, max_size=4, unique=True), ids, st.none() | ids, st.booleans())
def test_offer_round_trip(config_ids: list[str], code: str, issuer_state: str | None, haip: bool) -> None:
    offer = oid4vci.build_credential_offer("https://issuer.example.bg", config_ids, pre_authorized_code=code,
                                           tx_code=oid4vci.TxCode("text", 8, "код"), issuer_state=issuer_state)
    uri = oid4vci.credential_offer_uri(offer, scheme="haip-vci://" if haip else oid4vci.CREDENTIAL_OFFER_SCHEME)
    parsed = oid4vci.parse_credential_offer_uri(uri)
    assert not isinstance(parsed, str)
    assert parsed.to_dict() == offer


@SETTINGS
@given(ids, st.sampled_from(["get", "post"]), st.sampled_from(["openid4vp://", "haip-vp://", "https://w.example/"]))
def test_request_link_round_trip(client_id: str, method: str, scheme: str) -> None:
    link = oid4vp.request_link(client_id=client_id, request_uri="https://v.example/r/1",
                               request_uri_method="post" if method == "post" else "get", scheme=scheme)
    parsed = oid4vp.parse_request_link(link)
    assert (parsed.client_id, parsed.request_uri, parsed.request_uri_method) == (client_id, "https://v.example/r/1",
                                                                                 method)
