"""Hypothesis fuzzing: whatever the input, only PKIError escapes the parsers."""

from __future__ import annotations

import base64
import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfeil.pki.ca import cert_from_b64der, cert_from_der, cert_to_der, certs_from_pem, create_root_ca, issue_leaf
from portfeil.pki.chains import ChainValidator
from portfeil.pki.errors import PKIError
from portfeil.pki.keys import b64url_encode, generate_private_key, jwk_thumbprint, key_from_jwk, public_jwk, verify
from portfeil.pki.roles import Role

from .conftest import NOW

_b64 = st.binary(min_size=0, max_size=80).map(b64url_encode)
_value = st.one_of(
    st.none(), st.integers(), st.text(max_size=20), _b64, st.booleans(), st.lists(st.integers(), max_size=2)
)
_jwk = st.fixed_dictionaries(
    {},
    optional={
        "kty": st.sampled_from(["EC", "OKP", "RSA", "oct", "", "ec"]) | _value,
        "crv": st.sampled_from(["P-256", "P-384", "P-521", "Ed25519", "X25519", "secp256k1"]) | _value,
        "x": _value,
        "y": _value,
        "d": _value,
        "alg": st.sampled_from(["ES256", "EdDSA", "none"]) | _value,
    },
)

_EC = public_jwk(generate_private_key("ES256"))


def _only_pki_error(fn: Any, *args: Any, **kwargs: Any) -> None:
    with contextlib.suppress(PKIError):
        fn(*args, **kwargs)


@settings(max_examples=400, deadline=None)
@given(_jwk)
def test_fuzz_key_from_jwk(jwk: dict[str, Any]) -> None:
    _only_pki_error(key_from_jwk, jwk)
    _only_pki_error(jwk_thumbprint, jwk)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["x", "y"]), st.binary(min_size=32, max_size=32))
def test_fuzz_ec_coordinates(member: str, raw: bytes) -> None:
    """Random 32-byte coordinates are almost never on the curve: PKIError, never a crash."""
    _only_pki_error(key_from_jwk, {**_EC, member: b64url_encode(raw)})


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["ES256", "ES384", "EdDSA", "RS256", "none"]), st.binary(max_size=140))
def test_fuzz_verify(alg: str, sig: bytes) -> None:
    key = generate_private_key("ES256")
    _only_pki_error(verify, key.public_key(), alg, sig, b"data")


_ROOT = create_root_ca("fuzz root", Role.PID_PROVIDER, now=NOW)
_LEAF_DER = cert_to_der(issue_leaf(_ROOT, "leaf", generate_private_key().public_key(), Role.PID_PROVIDER, now=NOW))
_VALIDATOR = ChainValidator([_ROOT.certificate], Role.PID_PROVIDER)


@st.composite
def _mutated_der(draw: st.DrawFn) -> bytes:
    data = bytearray(_LEAF_DER)
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(data) - 1))
        data[pos] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(data)))
        data = data[:cut]
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_mutated_der() | st.binary(max_size=300), min_size=0, max_size=3))
def test_fuzz_chain_parsing(chain: list[bytes]) -> None:
    _only_pki_error(_VALIDATOR.validate, chain, now=NOW)


@settings(max_examples=200, deadline=None)
@given(_mutated_der())
def test_fuzz_certificate_parsers(der: bytes) -> None:
    _only_pki_error(cert_from_der, der)
    _only_pki_error(cert_from_b64der, base64.b64encode(der).decode())
    pem = b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der) + b"-----END CERTIFICATE-----\n"
    _only_pki_error(certs_from_pem, pem)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200) | st.integers() | st.none())
def test_fuzz_x5c_entry(value: Any) -> None:
    _only_pki_error(cert_from_b64der, value)
