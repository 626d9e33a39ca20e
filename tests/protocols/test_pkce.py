from __future__ import annotations

import pytest

from portfeil.protocols import ProtocolError
from portfeil.protocols.pkce import check_code_verifier, code_challenge, generate_code_verifier, validate_code_challenge


def test_rfc7636_appendix_b_vector() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_round_trip() -> None:
    v = generate_code_verifier()
    assert 43 <= len(v) <= 128
    ch = validate_code_challenge(code_challenge(v), "S256")
    check_code_verifier(v, ch)


def test_rejects_plain_method() -> None:
    v = generate_code_verifier()
    with pytest.raises(ProtocolError) as e:
        validate_code_challenge(v, "plain")
    assert e.value.code == "invalid_request"


def test_rejects_missing_method() -> None:
    with pytest.raises(ProtocolError):
        validate_code_challenge(code_challenge(generate_code_verifier()), None)


def test_rejects_missing_challenge() -> None:
    with pytest.raises(ProtocolError) as e:
        validate_code_challenge(None, "S256")
    assert e.value.code == "invalid_request"


def test_rejects_malformed_challenge() -> None:
    with pytest.raises(ProtocolError):
        validate_code_challenge("short", "S256")


def test_rejects_wrong_verifier() -> None:
    ch = code_challenge(generate_code_verifier())
    with pytest.raises(ProtocolError) as e:
        check_code_verifier(generate_code_verifier(), ch)
    assert e.value.code == "invalid_grant"


def test_rejects_too_short_verifier() -> None:
    with pytest.raises(ProtocolError) as e:
        check_code_verifier("a" * 42, code_challenge("a" * 43))
    assert e.value.code == "invalid_grant"


def test_rejects_missing_verifier() -> None:
    with pytest.raises(ProtocolError):
        check_code_verifier(None, code_challenge("a" * 43))
