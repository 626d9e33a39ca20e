"""Keys, JWKs, thumbprints and raw JOSE/COSE signatures (RFC 7517/7518/7638/8037)."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from joserfc.jwk import ECKey, OKPKey, RSAKey

from portfeil.pki.errors import PKIError
from portfeil.pki.keys import (
    alg_for_key,
    alg_from_cose,
    b64url_decode,
    b64url_encode,
    generate_private_key,
    jwk_thumbprint,
    jwk_thumbprint_uri,
    key_from_jwk,
    private_jwk,
    public_jwk,
    public_key_from_jwk,
    sign,
    verify,
)

ALGS = ["ES256", "ES384", "ES512", "EdDSA"]
COORD = {"ES256": 32, "ES384": 48, "ES512": 66}


@pytest.mark.parametrize("alg", ALGS)
def test_jwk_round_trip(alg: str) -> None:
    key = generate_private_key(alg)
    assert alg_for_key(key) == alg
    pub = public_jwk(key)
    assert "d" not in pub
    assert set(pub) == ({"kty", "crv", "x", "y"} if alg != "EdDSA" else {"kty", "crv", "x"})
    priv = private_jwk(key)
    again = key_from_jwk(priv)
    assert private_jwk(again) == priv  # type: ignore[arg-type]
    assert public_jwk(key_from_jwk(pub)) == pub
    assert public_jwk(public_key_from_jwk(priv)) == pub
    assert not isinstance(public_key_from_jwk(priv), ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey)


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512"])
def test_ec_jwk_has_fixed_length_coordinates(alg: str) -> None:
    for _ in range(20):  # leading zero bytes must be kept (RFC 7518 §6.2.1.2)
        jwk = public_jwk(generate_private_key(alg))
        assert len(b64url_decode(jwk["x"])) == COORD[alg]
        assert len(b64url_decode(jwk["y"])) == COORD[alg]


def test_jwk_matches_joserfc() -> None:
    key = generate_private_key("ES256")
    jwk = private_jwk(key)
    theirs = ECKey.import_key(jwk)  # type: ignore[arg-type]
    assert theirs.as_dict(private=False)["x"] == jwk["x"]
    assert theirs.thumbprint() == jwk_thumbprint(jwk)
    ed = private_jwk(generate_private_key("EdDSA"))
    assert OKPKey.import_key(ed).thumbprint() == jwk_thumbprint(ed)  # type: ignore[arg-type]


def _off_curve(jwk: dict[str, str]) -> dict[str, str]:
    y = int.from_bytes(b64url_decode(jwk["y"]), "big")
    return {**jwk, "y": b64url_encode(((y + 1) % (2**256)).to_bytes(32, "big"))}


def test_rejects_off_curve_point() -> None:
    jwk = public_jwk(generate_private_key("ES256"))
    with pytest.raises(PKIError) as err:
        key_from_jwk(_off_curve(jwk))
    assert err.value.code == "invalid_jwk"


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda j: {**j, "x": j["x"][:-2]}, id="short_x"),
        pytest.param(lambda j: {**j, "y": j["y"] + "AA"}, id="long_y"),
        pytest.param(lambda j: {**j, "x": b64url_encode(b"\x00" + b64url_decode(j["x"]))}, id="x_33_bytes"),
        pytest.param(lambda j: {**j, "x": j["x"] + "="}, id="padded"),
        pytest.param(lambda j: {**j, "x": j["x"].replace(j["x"][0], "+", 1)}, id="std_alphabet"),
        pytest.param(lambda j: {**j, "crv": "P-257"}, id="unknown_crv"),
        pytest.param(lambda j: {**j, "crv": "secp256k1"}, id="secp256k1"),
        pytest.param(lambda j: {**j, "kty": "RSA"}, id="rsa_kty"),
        pytest.param(lambda j: {**j, "kty": "oct"}, id="oct_kty"),
        pytest.param(lambda j: {k: v for k, v in j.items() if k != "y"}, id="missing_y"),
        pytest.param(lambda j: {**j, "x": 5}, id="x_not_string"),
        pytest.param(lambda j: {**j, "alg": "ES384"}, id="alg_mismatch"),
        pytest.param(lambda j: {**j, "crv": "P-384"}, id="crv_length_mismatch"),
    ],
)
def test_rejects_malformed_ec_jwk(mutate: object) -> None:
    jwk = public_jwk(generate_private_key("ES256"))
    with pytest.raises(PKIError) as err:
        key_from_jwk(mutate(jwk))  # type: ignore[operator]
    assert err.value.code == "invalid_jwk"


def test_rejects_private_part_not_matching_public() -> None:
    a, b = private_jwk(generate_private_key("ES256")), private_jwk(generate_private_key("ES256"))
    with pytest.raises(PKIError, match="invalid_jwk"):
        key_from_jwk({**a, "d": b["d"]})
    e1, e2 = private_jwk(generate_private_key("EdDSA")), private_jwk(generate_private_key("EdDSA"))
    with pytest.raises(PKIError, match="invalid_jwk"):
        key_from_jwk({**e1, "d": e2["d"]})


def test_rejects_out_of_range_private_scalar() -> None:
    jwk = private_jwk(generate_private_key("ES256"))
    with pytest.raises(PKIError, match="invalid_jwk"):
        key_from_jwk({**jwk, "d": b64url_encode(b"\x00" * 32)})
    with pytest.raises(PKIError, match="invalid_jwk"):
        key_from_jwk({**jwk, "d": b64url_encode(b"\xff" * 32)})


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "OKP", "crv": "X25519", "x": b64url_encode(b"\x01" * 32)},
        {"kty": "OKP", "crv": "Ed448", "x": b64url_encode(b"\x01" * 57)},
        {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(b"\x01" * 31)},
        {"kty": "OKP", "crv": "Ed25519"},
        {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(b"\x01" * 32), "alg": "ES256"},
        {},
        {"kty": None},
    ],
)
def test_rejects_malformed_okp_jwk(jwk: dict[str, object]) -> None:
    with pytest.raises(PKIError) as err:
        key_from_jwk(jwk)
    assert err.value.code == "invalid_jwk"


def test_rejects_non_mapping_jwk() -> None:
    with pytest.raises(PKIError, match="invalid_jwk"):
        key_from_jwk(["kty", "EC"])  # type: ignore[arg-type]


RFC7638_JWK: dict[str, str] = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiF"
    "V4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0"
    "zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csF"
    "Cur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}


def test_rfc7638_published_example() -> None:
    """RFC 7638 §3.1: the RSA example key and its published SHA-256 thumbprint."""
    jwk = RFC7638_JWK
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    assert RSAKey.import_key(jwk).thumbprint() == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"  # type: ignore[arg-type]


def test_ec_thumbprint_by_rfc7638_rules() -> None:
    """RFC 7638 §3.2-3.3 computed independently: required members only, sorted, no whitespace."""
    jwk = {**private_jwk(generate_private_key("ES256")), "kid": "k1", "use": "sig"}
    canonical = '{"crv":"' + jwk["crv"] + '","kty":"EC","x":"' + jwk["x"] + '","y":"' + jwk["y"] + '"}'
    expected = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    assert jwk_thumbprint(jwk) == expected
    assert jwk_thumbprint(public_jwk(key_from_jwk(jwk))) == expected
    assert ECKey.import_key(jwk).thumbprint() == expected  # type: ignore[arg-type]
    assert json.loads(canonical)["kty"] == "EC"


def test_thumbprint_rejects_missing_members() -> None:
    with pytest.raises(PKIError, match="invalid_jwk"):
        jwk_thumbprint({"kty": "EC", "crv": "P-256", "x": "AA"})
    with pytest.raises(PKIError, match="invalid_jwk"):
        jwk_thumbprint({"kty": "oct", "k": "AA"})


@pytest.mark.parametrize("alg", ALGS)
def test_sign_verify(alg: str) -> None:
    key = generate_private_key(alg)
    sig = sign(key, alg, b"payload")
    assert len(sig) == (64 if alg == "EdDSA" else 2 * COORD[alg])
    verify(key.public_key(), alg, sig, b"payload")
    with pytest.raises(PKIError) as err:
        verify(key.public_key(), alg, sig, b"payloae")
    assert err.value.code == "bad_signature"
    tampered = bytes([sig[0] ^ 1]) + sig[1:]
    with pytest.raises(PKIError, match="bad_signature"):
        verify(key.public_key(), alg, tampered, b"payload")


def test_ecdsa_signature_interoperates_with_joserfc() -> None:
    from joserfc import jws

    key = generate_private_key("ES256")
    token = jws.serialize_compact({"alg": "ES256"}, b"hello", ECKey.import_key(private_jwk(key)))  # type: ignore[arg-type]
    header_b64, payload_b64, sig_b64 = token.split(".")
    verify(key.public_key(), "ES256", b64url_decode(sig_b64), f"{header_b64}.{payload_b64}".encode())
    ours = sign(key, "ES256", b"x.y")
    assert len(ours) == 64


def test_rejects_es256_signature_under_es384() -> None:
    key = generate_private_key("ES256")
    sig = sign(key, "ES256", b"m")
    with pytest.raises(PKIError) as err:
        verify(key.public_key(), "ES384", sig, b"m")
    assert err.value.code == "alg_key_mismatch"


def test_rejects_eddsa_key_with_es256() -> None:
    key = generate_private_key("EdDSA")
    with pytest.raises(PKIError) as err:
        verify(key.public_key(), "ES256", sign(key, "EdDSA", b"m"), b"m")
    assert err.value.code == "alg_key_mismatch"
    with pytest.raises(PKIError, match="alg_key_mismatch"):
        sign(key, "ES256", b"m")


def test_rejects_ec_key_with_eddsa() -> None:
    key = generate_private_key("ES256")
    with pytest.raises(PKIError, match="alg_key_mismatch"):
        verify(key.public_key(), "EdDSA", b"\x00" * 64, b"m")


@pytest.mark.parametrize("alg", ["none", "HS256", "RS256", "PS256", "ES256K", "", "es256"])
def test_rejects_unsupported_alg(alg: str) -> None:
    key = generate_private_key("ES256")
    with pytest.raises(PKIError) as err:
        verify(key.public_key(), alg, b"\x00" * 64, b"m")
    assert err.value.code == "unsupported_alg"
    with pytest.raises(PKIError, match="unsupported_alg"):
        sign(key, alg, b"m")
    with pytest.raises(PKIError, match="unsupported_alg"):
        generate_private_key(alg)


def test_rejects_der_encoded_ecdsa_signature() -> None:
    """JOSE uses fixed-length r||s (RFC 7518 §3.4); a DER signature must not be accepted."""
    from cryptography.hazmat.primitives import hashes

    key = generate_private_key("ES256")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    der = key.sign(b"m", ec.ECDSA(hashes.SHA256()))
    with pytest.raises(PKIError, match="bad_signature"):
        verify(key.public_key(), "ES256", der, b"m")


def test_ed25519_alias_accepted() -> None:
    key = generate_private_key("Ed25519")
    verify(key.public_key(), "Ed25519", sign(key, "EdDSA", b"m"), b"m")


def test_b64url_is_strict() -> None:
    assert b64url_decode("AQAB") == b"\x01\x00\x01"
    for bad in ("AQAB=", "AQ+B", "A", "AR", "AQ B", "AQA\n", "AQAB\n"):  # "AR" has non-zero trailing bits
        with pytest.raises(PKIError):
            b64url_decode(bad)


def test_thumbprint_uri_rfc9278() -> None:
    """RFC 9278 §3 example: the RFC 7638 key's thumbprint as a URN."""
    assert jwk_thumbprint_uri(RFC7638_JWK) == (
        "urn:ietf:params:oauth:jwk-thumbprint:sha-256:NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    )


def test_cose_algorithm_ids() -> None:
    assert [alg_from_cose(i) for i in (-7, -35, -36, -8)] == ["ES256", "ES384", "ES512", "EdDSA"]
    for bad in (-257, 0, True, "ES256"):
        with pytest.raises(PKIError, match="unsupported_alg"):
            alg_from_cose(bad)  # type: ignore[arg-type]
