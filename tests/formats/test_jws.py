"""Compact JWS (RFC 7515) of portfeil.formats.jws: round trips and one named negative test per check."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

from portfeil.formats import FormatError, jws
from portfeil.pki.ca import create_root_ca, issue_leaf
from portfeil.pki.chains import ChainValidator
from portfeil.pki.roles import Role

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_token(header: dict[str, object], payload: dict[str, object], sig: bytes = b"\x00" * 64) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}.{b64(sig)}"


@pytest.fixture(scope="module")
def p256() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.mark.parametrize(
    ("key", "alg"),
    [
        (ec.generate_private_key(ec.SECP256R1()), "ES256"),
        (ec.generate_private_key(ec.SECP384R1()), "ES384"),
        (ed25519.Ed25519PrivateKey.generate(), "EdDSA"),
    ],
)
def test_round_trip_each_allowed_algorithm(key: jws.JWSPrivateKey, alg: str) -> None:
    token = jws.sign_compact({"sub": "x", "n": 1}, key, typ="JWT", header={"kid": "k1"})
    out = jws.verify_compact(token, key=key.public_key(), typ="JWT")
    assert out.header == {"alg": alg, "typ": "JWT", "kid": "k1"}
    assert out.payload == {"sub": "x", "n": 1}
    assert out.leaf is None


def test_ecdsa_signature_is_raw_r_s(p256: ec.EllipticCurvePrivateKey) -> None:
    token = jws.sign_compact({"a": 1}, p256)
    assert len(jws.b64url_decode(token.split(".")[2])) == 64


def test_public_jwk_round_trip(p256: ec.EllipticCurvePrivateKey) -> None:
    jwk = jws.public_jwk(p256)
    assert set(jwk) == {"kty", "crv", "x", "y"}
    back = jws.public_key_from_jwk(jwk)
    assert isinstance(back, ec.EllipticCurvePublicKey)
    assert back.public_numbers() == p256.public_key().public_numbers()
    ed = ed25519.Ed25519PrivateKey.generate()
    assert jws.public_jwk(jws.public_key_from_jwk(jws.public_jwk(ed))) == jws.public_jwk(ed)


def test_rejects_alg_none(p256: ec.EllipticCurvePrivateKey) -> None:
    token = raw_token({"alg": "none"}, {"a": 1}, b"")
    with pytest.raises(FormatError) as err:
        jws.verify_compact(token, key=p256.public_key())
    assert err.value.code == "unsupported_alg"


def test_rejects_hs256_signed_with_public_key_bytes(p256: ec.EllipticCurvePrivateKey) -> None:
    """The classic confusion attack: HMAC keyed with the verifier's public key."""
    secret = json.dumps(jws.public_jwk(p256)).encode()
    h = b64(json.dumps({"alg": "HS256"}).encode())
    p = b64(b'{"a":1}')
    sig = hmac.new(secret, f"{h}.{p}".encode(), hashlib.sha256).digest()
    with pytest.raises(FormatError) as err:
        jws.verify_compact(f"{h}.{p}.{b64(sig)}", key=p256.public_key())
    assert err.value.code == "unsupported_alg"


def test_rejects_alg_key_confusion(p256: ec.EllipticCurvePrivateKey) -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    token = jws.sign_compact({"a": 1}, p384)  # ES384
    with pytest.raises(FormatError) as err:
        jws.verify_compact(token, key=p256.public_key())
    assert err.value.code == "alg_key_mismatch"
    ed_token = jws.sign_compact({"a": 1}, ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(FormatError) as err:
        jws.verify_compact(ed_token, key=p256.public_key())
    assert err.value.code == "alg_key_mismatch"


def test_rejects_algorithm_outside_caller_list(p256: ec.EllipticCurvePrivateKey) -> None:
    token = jws.sign_compact({"a": 1}, p256)
    with pytest.raises(FormatError) as err:
        jws.verify_compact(token, key=p256.public_key(), algorithms={"EdDSA"})
    assert err.value.code == "unsupported_alg"


def test_refuses_to_sign_with_disallowed_alg(p256: ec.EllipticCurvePrivateKey) -> None:
    with pytest.raises(FormatError) as err:
        jws.sign_compact({"a": 1}, p256, alg="HS256")
    assert err.value.code == "unsupported_alg"


def test_rejects_bad_signature(p256: ec.EllipticCurvePrivateKey) -> None:
    h, _p, s = jws.sign_compact({"a": 1}, p256).split(".")
    other = b64(b'{"a":2}')
    with pytest.raises(FormatError) as err:
        jws.verify_compact(f"{h}.{other}.{s}", key=p256.public_key())
    assert err.value.code == "bad_signature"


def test_rejects_signature_of_wrong_length(p256: ec.EllipticCurvePrivateKey) -> None:
    h, p, s = jws.sign_compact({"a": 1}, p256).split(".")
    with pytest.raises(FormatError) as err:
        jws.verify_compact(f"{h}.{p}.{b64(jws.b64url_decode(s) + b'x')}", key=p256.public_key())
    assert err.value.code == "bad_signature"


def test_rejects_der_signature(p256: ec.EllipticCurvePrivateKey) -> None:
    from cryptography.hazmat.primitives import hashes

    h, p, _ = jws.sign_compact({"a": 1}, p256).split(".")
    der = p256.sign(f"{h}.{p}".encode(), ec.ECDSA(hashes.SHA256()))
    with pytest.raises(FormatError) as err:
        jws.verify_compact(f"{h}.{p}.{b64(der)}", key=p256.public_key())
    assert err.value.code == "bad_signature"


def test_rejects_wrong_typ(p256: ec.EllipticCurvePrivateKey) -> None:
    token = jws.sign_compact({"a": 1}, p256, typ="JWT")
    with pytest.raises(FormatError) as err:
        jws.verify_compact(token, key=p256.public_key(), typ="kb+jwt")
    assert err.value.code == "invalid_typ"


def test_rejects_missing_typ(p256: ec.EllipticCurvePrivateKey) -> None:
    token = jws.sign_compact({"a": 1}, p256)
    with pytest.raises(FormatError) as err:
        jws.verify_compact(token, key=p256.public_key(), typ={"dc+sd-jwt", "vc+sd-jwt"})
    assert err.value.code == "invalid_typ"


def test_rejects_crit(p256: ec.EllipticCurvePrivateKey) -> None:
    h = b64(json.dumps({"alg": "ES256", "crit": ["exp"], "exp": 1}).encode())
    p = b64(b'{"a":1}')
    token = f"{h}.{p}.{b64(b'0' * 64)}"
    with pytest.raises(FormatError) as err:
        jws.verify_compact(token, key=p256.public_key())
    assert err.value.code == "unsupported_crit"
    with pytest.raises(FormatError):
        jws.sign_compact({"a": 1}, p256, header={"crit": ["x"]})


def test_rejects_duplicate_header_names(p256: ec.EllipticCurvePrivateKey) -> None:
    h = b64(b'{"alg":"ES256","typ":"JWT","typ":"kb+jwt"}')
    token = f"{h}.{b64(b'{}')}.{b64(b'0' * 64)}"
    with pytest.raises(FormatError) as err:
        jws.verify_compact(token, key=p256.public_key())
    assert err.value.code == "malformed_json"


def test_rejects_non_object_payload(p256: ec.EllipticCurvePrivateKey) -> None:
    token = jws.sign_compact(b"[1,2]", p256)
    with pytest.raises(FormatError) as err:
        jws.verify_compact(token, key=p256.public_key())
    assert err.value.code == "malformed_jws"


def test_rejects_oversized_input(p256: ec.EllipticCurvePrivateKey) -> None:
    token = jws.sign_compact({"pad": "x" * 2000}, p256)
    with pytest.raises(FormatError) as err:
        jws.verify_compact(token, key=p256.public_key(), max_size=1000)
    assert err.value.code == "jws_too_large"


@pytest.mark.parametrize("bad", ["QQ==", "Q Q", "QQ\n", "QR", "Q+/A", "A", "QUJ"])
def test_rejects_non_strict_base64url(bad: str) -> None:
    with pytest.raises(FormatError) as err:
        jws.b64url_decode(bad)
    assert err.value.code == "malformed_base64url"


def test_rejects_padded_segment(p256: ec.EllipticCurvePrivateKey) -> None:
    h, p, s = jws.sign_compact({"ab": 1}, p256).split(".")
    with pytest.raises(FormatError) as err:
        jws.verify_compact(f"{h}.{p}=.{s}", key=p256.public_key())
    assert err.value.code == "malformed_base64url"


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "..", "e30.e30", 42])
def test_rejects_malformed_structure(token: object, p256: ec.EllipticCurvePrivateKey) -> None:
    with pytest.raises(FormatError):
        jws.verify_compact(token, key=p256.public_key())  # type: ignore[arg-type]


def test_rejects_private_jwk_as_public_key(p256: ec.EllipticCurvePrivateKey) -> None:
    jwk = {**jws.public_jwk(p256), "d": b64(b"\x01" * 32)}
    with pytest.raises(FormatError) as err:
        jws.public_key_from_jwk(jwk)
    assert err.value.code == "invalid_jwk"


def test_rejects_off_curve_jwk() -> None:
    jwk = {"kty": "EC", "crv": "P-256", "x": b64(b"\x01" * 32), "y": b64(b"\x01" * 32)}
    with pytest.raises(FormatError) as err:
        jws.public_key_from_jwk(jwk)
    assert err.value.code == "invalid_jwk"


def test_missing_key_is_an_error(p256: ec.EllipticCurvePrivateKey) -> None:
    token = jws.sign_compact({"a": 1}, p256)
    with pytest.raises(FormatError) as err:
        jws.verify_compact(token)
    assert err.value.code == "missing_key"


# --- x5c key resolution through the PKI chain validator


@pytest.fixture(scope="module")
def pid_ca():  # type: ignore[no-untyped-def]
    return create_root_ca("PID CA", Role.PID_PROVIDER, now=NOW - timedelta(days=1))


def test_x5c_key_from_validated_chain(pid_ca) -> None:  # type: ignore[no-untyped-def]
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = issue_leaf(pid_ca, "PID issuer", key.public_key(), Role.PID_PROVIDER, now=NOW - timedelta(hours=1),
                      san_uris=["https://pid.example.bg"])
    token = jws.sign_compact({"a": 1}, key, x5c=[leaf])
    out = jws.verify_compact(token, trust=ChainValidator([pid_ca.certificate], Role.PID_PROVIDER), now=NOW)
    assert out.leaf == leaf
    assert out.payload == {"a": 1}


def test_rejects_untrusted_x5c_chain(pid_ca) -> None:  # type: ignore[no-untyped-def]
    other = create_root_ca("Other CA", Role.PID_PROVIDER, now=NOW - timedelta(days=1))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = issue_leaf(other, "rogue", key.public_key(), Role.PID_PROVIDER, now=NOW - timedelta(hours=1),
                      san_uris=["https://rogue.example"])
    token = jws.sign_compact({"a": 1}, key, x5c=[leaf])
    with pytest.raises(FormatError) as err:
        jws.verify_compact(token, trust=ChainValidator([pid_ca.certificate], Role.PID_PROVIDER), now=NOW)
    assert err.value.code == "untrusted_issuer"
    assert err.value.details["pki_code"]


def test_rejects_x5c_leaf_key_that_did_not_sign(pid_ca) -> None:  # type: ignore[no-untyped-def]
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = issue_leaf(pid_ca, "PID issuer", key.public_key(), Role.PID_PROVIDER, now=NOW - timedelta(hours=1),
                      san_uris=["https://pid.example.bg"])
    token = jws.sign_compact({"a": 1}, ec.generate_private_key(ec.SECP256R1()), x5c=[leaf])
    with pytest.raises(FormatError) as err:
        jws.verify_compact(token, trust=ChainValidator([pid_ca.certificate], Role.PID_PROVIDER), now=NOW)
    assert err.value.code == "bad_signature"


@pytest.mark.parametrize("x5c", [[], "abc", ["!!"], [1], ["QQ=="] * 20])
def test_rejects_malformed_x5c(x5c: object, pid_ca) -> None:  # type: ignore[no-untyped-def]
    key = ec.generate_private_key(ec.SECP256R1())
    token = jws.sign_compact({"a": 1}, key, header={"x5c": x5c})
    with pytest.raises(FormatError):
        jws.verify_compact(token, trust=ChainValidator([pid_ca.certificate], Role.PID_PROVIDER), now=NOW)


# --- fuzz: only FormatError escapes


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_arbitrary_text_only_format_error(text: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    with contextlib.suppress(FormatError):
        jws.verify_compact(text, key=key)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(header=st.dictionaries(st.sampled_from(["alg", "typ", "crit", "x5c", "kid", "b64"]), json_values),
       payload=json_values, sig=st.binary(max_size=80))
def test_fuzz_structured_tokens_only_format_error(header: dict[str, object], payload: object, sig: bytes) -> None:
    token = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}.{b64(sig)}"
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    with contextlib.suppress(FormatError):
        jws.verify_compact(token, key=key, typ="JWT")


# --- shared JWT time checks


def test_time_claims_accept_valid_window() -> None:
    t = int(NOW.timestamp())
    jws.check_time_claims({"iat": t - 10, "nbf": t - 10, "exp": t + 10}, NOW, max_age=timedelta(minutes=1))


@pytest.mark.parametrize(
    ("payload", "kw", "code"),
    [
        ({"exp": -100}, {}, "jwt_expired"),
        ({"nbf": +100}, {}, "jwt_not_yet_valid"),
        ({"iat": +100}, {}, "iat_in_future"),
        ({"iat": -600}, {"max_age": timedelta(minutes=5)}, "jwt_too_old"),
        ({}, {"require_exp": True}, "missing_exp"),
        ({}, {"max_age": timedelta(minutes=5)}, "missing_iat"),
        ({"exp": True}, {}, "invalid_claim"),
        ({"exp": "2099-01-01"}, {}, "invalid_claim"),
    ],
)
def test_time_claims_rejections(payload: dict[str, object], kw: dict[str, object], code: str) -> None:
    t = int(NOW.timestamp())
    shifted = {k: (t + v if isinstance(v, int) and not isinstance(v, bool) else v) for k, v in payload.items()}
    with pytest.raises(FormatError) as err:
        jws.check_time_claims(shifted, NOW, **kw)  # type: ignore[arg-type]
    assert err.value.code == code


def test_time_claims_skew_is_bounded() -> None:
    t = int(NOW.timestamp())
    jws.check_time_claims({"exp": t - 30, "iat": t + 30}, NOW, clock_skew=timedelta(seconds=60))
    with pytest.raises(FormatError):
        jws.check_time_claims({"exp": t - 90}, NOW, clock_skew=timedelta(seconds=60))
