from __future__ import annotations

import json
from typing import Any

import pytest

from portfeil.protocols import ProtocolError
from portfeil.protocols.oauth import (
    PRE_AUTHORIZED_CODE_GRANT,
    authorization_server_metadata,
    check_authorization_code_grant,
    check_pre_authorized_code_grant,
    new_request_uri,
    par_response,
    parse_request_uri,
    token_response,
    validate_par_request,
    validate_token_request,
)
from portfeil.protocols.pkce import code_challenge, generate_code_verifier

VERIFIER = generate_code_verifier()
DETAILS = json.dumps([{"type": "openid_credential", "credential_configuration_id": "pid_sd_jwt"}])


def _par(**over: Any) -> dict[str, Any]:
    p: dict[str, Any] = {
        "client_id": "wallet-1", "response_type": "code", "redirect_uri": "https://wallet.example.bg/cb",
        "code_challenge": code_challenge(VERIFIER), "code_challenge_method": "S256",
        "authorization_details": DETAILS, "state": "s1", "issuer_state": "is-1",
    }
    p.update(over)
    return {k: v for k, v in p.items() if v is not None}


def test_par_with_authorization_details() -> None:
    r = validate_par_request(_par(), authenticated_client_id="wallet-1", known_configuration_ids={"pid_sd_jwt"})
    assert r.credential_configuration_ids == ("pid_sd_jwt",)
    assert r.issuer_state == "is-1"


def test_par_with_scope() -> None:
    r = validate_par_request(_par(authorization_details=None, scope="eu.europa.ec.eudi.pid.1"),
                             scope_to_configuration={"eu.europa.ec.eudi.pid.1": "pid_mdoc"})
    assert r.credential_configuration_ids == ("pid_mdoc",)


def test_par_rejects_missing_pkce() -> None:
    with pytest.raises(ProtocolError) as e:
        validate_par_request(_par(code_challenge=None, code_challenge_method=None))
    assert e.value.code == "invalid_request"


def test_par_rejects_plain_pkce() -> None:
    with pytest.raises(ProtocolError):
        validate_par_request(_par(code_challenge=VERIFIER, code_challenge_method="plain"))


def test_par_rejects_wrong_response_type() -> None:
    with pytest.raises(ProtocolError) as e:
        validate_par_request(_par(response_type="token"))
    assert e.value.code == "unsupported_response_type"


def test_par_rejects_client_mismatch() -> None:
    with pytest.raises(ProtocolError) as e:
        validate_par_request(_par(), authenticated_client_id="wallet-2")
    assert e.value.code == "invalid_client"


def test_par_rejects_request_uri_param() -> None:
    with pytest.raises(ProtocolError):
        validate_par_request(_par(request_uri="urn:ietf:params:oauth:request_uri:abc"))


def test_par_rejects_unregistered_redirect_uri() -> None:
    with pytest.raises(ProtocolError):
        validate_par_request(_par(), redirect_uri_allowed=lambda u: u == "https://other/cb")


def test_par_rejects_missing_redirect_uri() -> None:
    with pytest.raises(ProtocolError):
        validate_par_request(_par(redirect_uri=None))


def test_par_rejects_nothing_requested() -> None:
    with pytest.raises(ProtocolError):
        validate_par_request(_par(authorization_details=None))


def test_par_rejects_wrong_details_type() -> None:
    with pytest.raises(ProtocolError) as e:
        validate_par_request(_par(authorization_details=json.dumps([{"type": "payment"}])))
    assert e.value.code == "invalid_authorization_details"


def test_par_rejects_unknown_configuration() -> None:
    with pytest.raises(ProtocolError):
        validate_par_request(_par(), known_configuration_ids={"other"})


def test_par_rejects_unknown_scope() -> None:
    with pytest.raises(ProtocolError) as e:
        validate_par_request(_par(authorization_details=None, scope="x"), scope_to_configuration={})
    assert e.value.code == "invalid_scope"


def test_par_rejects_locations_of_other_issuer() -> None:
    d = json.dumps([{"type": "openid_credential", "credential_configuration_id": "pid_sd_jwt",
                     "locations": ["https://other.example"]}])
    with pytest.raises(ProtocolError):
        validate_par_request(_par(authorization_details=d), credential_issuer="https://issuer.example.bg")


def test_request_uri_format_and_response() -> None:
    uri = new_request_uri()
    assert uri.startswith("urn:ietf:params:oauth:request_uri:")
    assert parse_request_uri(uri) == uri
    assert par_response(uri, 60) == {"request_uri": uri, "expires_in": 60}


def test_rejects_foreign_request_uri() -> None:
    with pytest.raises(ProtocolError) as e:
        parse_request_uri("https://evil.example/req")
    assert e.value.code == "invalid_request_uri"


def test_authorization_code_grant() -> None:
    req = validate_token_request({"grant_type": "authorization_code", "code": "c", "code_verifier": VERIFIER,
                                  "redirect_uri": "https://wallet.example.bg/cb", "client_id": "wallet-1"})
    check_authorization_code_grant(req, code_challenge=code_challenge(VERIFIER),
                                   redirect_uri="https://wallet.example.bg/cb", client_id="wallet-1")


def test_code_grant_rejects_wrong_verifier() -> None:
    req = validate_token_request({"grant_type": "authorization_code", "code": "c",
                                  "code_verifier": generate_code_verifier(),
                                  "redirect_uri": "https://wallet.example.bg/cb"})
    with pytest.raises(ProtocolError) as e:
        check_authorization_code_grant(req, code_challenge=code_challenge(VERIFIER),
                                       redirect_uri="https://wallet.example.bg/cb", client_id="wallet-1")
    assert e.value.code == "invalid_grant"


def test_code_grant_rejects_redirect_mismatch() -> None:
    req = validate_token_request({"grant_type": "authorization_code", "code": "c", "code_verifier": VERIFIER,
                                  "redirect_uri": "https://evil.example/cb"})
    with pytest.raises(ProtocolError):
        check_authorization_code_grant(req, code_challenge=code_challenge(VERIFIER),
                                       redirect_uri="https://wallet.example.bg/cb", client_id="wallet-1")


def test_code_grant_rejects_other_client() -> None:
    req = validate_token_request({"grant_type": "authorization_code", "code": "c", "code_verifier": VERIFIER,
                                  "redirect_uri": "https://wallet.example.bg/cb", "client_id": "wallet-2"})
    with pytest.raises(ProtocolError):
        check_authorization_code_grant(req, code_challenge=code_challenge(VERIFIER),
                                       redirect_uri="https://wallet.example.bg/cb", client_id="wallet-1")


def test_code_grant_rejects_missing_verifier() -> None:
    with pytest.raises(ProtocolError) as e:
        validate_token_request({"grant_type": "authorization_code", "code": "c"})
    assert e.value.code == "invalid_grant"


def test_pre_authorized_grant_with_tx_code() -> None:
    req = validate_token_request({"grant_type": PRE_AUTHORIZED_CODE_GRANT, "pre-authorized_code": "p",
                                  "tx_code": "493536"})
    check_pre_authorized_code_grant(req, expected_tx_code="493536")


def test_pre_authorized_rejects_missing_tx_code() -> None:
    req = validate_token_request({"grant_type": PRE_AUTHORIZED_CODE_GRANT, "pre-authorized_code": "p"})
    with pytest.raises(ProtocolError) as e:
        check_pre_authorized_code_grant(req, expected_tx_code="493536")
    assert e.value.code == "invalid_request"


def test_pre_authorized_rejects_wrong_tx_code() -> None:
    req = validate_token_request({"grant_type": PRE_AUTHORIZED_CODE_GRANT, "pre-authorized_code": "p",
                                  "tx_code": "000000"})
    with pytest.raises(ProtocolError) as e:
        check_pre_authorized_code_grant(req, expected_tx_code="493536")
    assert e.value.code == "invalid_grant"


def test_pre_authorized_rejects_anonymous_when_unsupported() -> None:
    req = validate_token_request({"grant_type": PRE_AUTHORIZED_CODE_GRANT, "pre-authorized_code": "p"})
    with pytest.raises(ProtocolError) as e:
        check_pre_authorized_code_grant(req, expected_tx_code=None, anonymous_access_supported=False)
    assert e.value.code == "invalid_client"
    assert e.value.status == 401


def test_rejects_unknown_grant() -> None:
    with pytest.raises(ProtocolError) as e:
        validate_token_request({"grant_type": "password", "username": "x"})
    assert e.value.code == "unsupported_grant_type"


def test_rejects_repeated_parameter() -> None:
    with pytest.raises(ProtocolError):
        validate_token_request({"grant_type": ["authorization_code", "password"]})


def test_token_response_shape() -> None:
    r = token_response("at", expires_in=300, credential_identifiers={"pid_sd_jwt": ["pid-1", "pid-2"]})
    assert r["token_type"] == "DPoP"
    assert r["authorization_details"][0]["credential_identifiers"] == ["pid-1", "pid-2"]
    assert "c_nonce" not in r


def test_as_metadata_haip() -> None:
    md = authorization_server_metadata("https://issuer.example.bg", authorization_endpoint="https://i/a",
                                       token_endpoint="https://i/t", pushed_authorization_request_endpoint="https://i/p")
    assert md["require_pushed_authorization_requests"] is True
    assert md["code_challenge_methods_supported"] == ["S256"]
    assert "attest_jwt_client_auth" in md["token_endpoint_auth_methods_supported"]
    assert md["dpop_signing_alg_values_supported"] == ["ES256"]
    assert md["pre-authorized_grant_anonymous_access_supported"] is True


# --- wallet-side parsers

def test_parse_token_response() -> None:
    from portfeil.protocols.oauth import parse_token_response

    r = parse_token_response(token_response("at", expires_in=60, credential_identifiers={"pid": ["p1"]}))
    assert r.credential_identifiers == {"pid": ("p1",)}


def test_token_response_rejects_bearer_when_dpop_expected() -> None:
    from portfeil.protocols.oauth import parse_token_response

    with pytest.raises(ProtocolError):
        parse_token_response({"access_token": "at", "token_type": "Bearer", "expires_in": 60})


def test_parse_par_response() -> None:
    from portfeil.protocols.oauth import parse_par_response

    uri = new_request_uri()
    assert parse_par_response(par_response(uri, 90)) == (uri, 90)
    with pytest.raises(ProtocolError):
        parse_par_response({"request_uri": uri, "expires_in": True})


def test_parse_as_metadata_rejects_issuer_mismatch() -> None:
    from portfeil.protocols.oauth import parse_authorization_server_metadata

    md = authorization_server_metadata("https://as.example.bg", authorization_endpoint="https://as.example.bg/a",
                                       token_endpoint="https://as.example.bg/t",
                                       pushed_authorization_request_endpoint="https://as.example.bg/p")
    assert parse_authorization_server_metadata(md, expected_issuer="https://as.example.bg") == md
    with pytest.raises(ProtocolError):
        parse_authorization_server_metadata(md, expected_issuer="https://evil.example")
    md["code_challenge_methods_supported"] = ["plain"]
    with pytest.raises(ProtocolError):
        parse_authorization_server_metadata(md, expected_issuer="https://as.example.bg")
