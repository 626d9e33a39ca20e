"""Signing keys, JWKs and raw JOSE/COSE signatures.

Algorithms (JOSE names, also used for COSE):

=========  ==========  =====================================  ===========================
alg        key         signature (RFC 7518 §3.4, RFC 8037)    COSE alg (RFC 9053)
=========  ==========  =====================================  ===========================
ES256      P-256       r || s, 32 + 32 bytes, SHA-256          -7
ES384      P-384       r || s, 48 + 48 bytes, SHA-384          -35
ES512      P-521       r || s, 66 + 66 bytes, SHA-512          -36
EdDSA      Ed25519     64 bytes (RFC 8032)                     -8
=========  ==========  =====================================  ===========================

``Ed25519`` (the fully specified name of RFC 9864) is accepted as an alias of ``EdDSA`` on input.

Everything here is pure and raises only :class:`~portfeil.pki.errors.PKIError` with these codes:
``invalid_jwk``, ``unsupported_alg``, ``alg_key_mismatch``, ``bad_signature``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, TypeAlias

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from portfeil.pki.errors import PKIError

PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey: TypeAlias = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

__all__ = [
    "ALGORITHMS",
    "COSE_ALGORITHMS",
    "PrivateKey",
    "PublicKey",
    "alg_for_key",
    "alg_from_cose",
    "b64url_decode",
    "b64url_encode",
    "generate_private_key",
    "jwk_thumbprint",
    "jwk_thumbprint_uri",
    "key_from_jwk",
    "private_jwk",
    "public_jwk",
    "public_key_from_jwk",
    "sign",
    "verify",
]


class _EC:
    __slots__ = ("alg", "coord_len", "crv", "curve_cls", "curve_name", "hash_alg")

    def __init__(self, alg: str, crv: str, curve_cls: type[ec.EllipticCurve], coord_len: int,
                 hash_alg: hashes.HashAlgorithm) -> None:
        self.alg = alg
        self.crv = crv
        self.curve_cls = curve_cls
        self.curve_name: str = curve_cls().name
        self.coord_len = coord_len
        self.hash_alg = hash_alg


_EC_BY_ALG: dict[str, _EC] = {
    "ES256": _EC("ES256", "P-256", ec.SECP256R1, 32, hashes.SHA256()),
    "ES384": _EC("ES384", "P-384", ec.SECP384R1, 48, hashes.SHA384()),
    "ES512": _EC("ES512", "P-521", ec.SECP521R1, 66, hashes.SHA512()),
}
_EC_BY_CRV: dict[str, _EC] = {p.crv: p for p in _EC_BY_ALG.values()}
_EC_BY_CURVE_NAME: dict[str, _EC] = {p.curve_name: p for p in _EC_BY_ALG.values()}
_ECDSA: dict[str, ec.ECDSA] = {alg: ec.ECDSA(p.hash_alg) for alg, p in _EC_BY_ALG.items()}
_EDDSA_NAMES = frozenset({"EdDSA", "Ed25519"})

ALGORITHMS: frozenset[str] = frozenset({*_EC_BY_ALG, *_EDDSA_NAMES})
"""Every algorithm name :func:`sign` and :func:`verify` accept."""

COSE_ALGORITHMS: dict[str, int] = {"ES256": -7, "ES384": -35, "ES512": -36, "EdDSA": -8}
"""JOSE name -> COSE algorithm identifier (RFC 9053 §2)."""

_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def b64url_encode(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(value: str, *, code: str = "invalid_base64url") -> bytes:
    """Strict base64url without padding (RFC 7515 §2): no padding, no other characters, canonical trailing bits."""
    if not isinstance(value, str) or not _B64URL.fullmatch(value) or len(value) % 4 == 1:
        raise PKIError(code, "not canonical unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise PKIError(code, "not canonical unpadded base64url") from exc
    if b64url_encode(raw) != value:
        raise PKIError(code, "not canonical unpadded base64url")
    return raw


def _ec_params(curve: ec.EllipticCurve) -> _EC:
    params = _EC_BY_CURVE_NAME.get(curve.name)
    if params is None:
        raise PKIError("unsupported_alg", f"unsupported curve {curve.name}")
    return params


def generate_private_key(alg: str = "ES256") -> PrivateKey:
    """A fresh private key for ``alg`` (ES256, ES384, ES512 or EdDSA)."""
    if alg in _EC_BY_ALG:
        return ec.generate_private_key(_EC_BY_ALG[alg].curve_cls())
    if alg in _EDDSA_NAMES:
        return ed25519.Ed25519PrivateKey.generate()
    raise PKIError("unsupported_alg", "unsupported algorithm")


def alg_for_key(key: PrivateKey | PublicKey) -> str:
    """The JOSE ``alg`` a key signs with (RFC 7518 §3.1: one algorithm per curve; EdDSA for Ed25519)."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return _ec_params(key.curve).alg
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "EdDSA"
    raise PKIError("unsupported_alg", "unsupported key type")


def public_jwk(key: PrivateKey | PublicKey) -> dict[str, str]:
    """The public JWK (RFC 7518 §6.2.1, RFC 8037 §2): only kty, crv, x (and y for EC)."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        key = key.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        params = _ec_params(key.curve)
        numbers = key.public_numbers()
        return {
            "kty": "EC",
            "crv": params.crv,
            "x": b64url_encode(numbers.x.to_bytes(params.coord_len, "big")),
            "y": b64url_encode(numbers.y.to_bytes(params.coord_len, "big")),
        }
    if isinstance(key, ed25519.Ed25519PublicKey):
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw))}
    raise PKIError("unsupported_alg", "unsupported key type")


def private_jwk(key: PrivateKey) -> dict[str, str]:
    """The private JWK: the public members plus ``d`` (RFC 7518 §6.2.2.1, RFC 8037 §2)."""
    jwk = public_jwk(key)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        params = _ec_params(key.curve)
        jwk["d"] = b64url_encode(key.private_numbers().private_value.to_bytes(params.coord_len, "big"))
        return jwk
    if isinstance(key, ed25519.Ed25519PrivateKey):
        from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

        jwk["d"] = b64url_encode(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))
        return jwk
    raise PKIError("unsupported_alg", "unsupported key type")


def _member(jwk: Mapping[str, Any], name: str, length: int) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise PKIError("invalid_jwk", f"JWK member {name} missing or not a string")
    raw = b64url_decode(value, code="invalid_jwk")
    if len(raw) != length:
        raise PKIError("invalid_jwk", f"JWK member {name} has the wrong length")
    return raw


def key_from_jwk(jwk: Mapping[str, Any]) -> PrivateKey | PublicKey:
    """Parse a JWK strictly (RFC 7517 §4, RFC 7518 §6.2, RFC 8037 §2).

    Checks kty/crv, exact member lengths, canonical base64url, that the point is on the curve, that ``d`` is in
    range and matches the public part, and that an ``alg`` member (if any) fits the key. Returns a private key
    when ``d`` is present, otherwise a public key. Any failure raises ``PKIError("invalid_jwk")``.
    """
    if not isinstance(jwk, Mapping):
        raise PKIError("invalid_jwk", "JWK is not an object")
    kty = jwk.get("kty")
    crv = jwk.get("crv")
    key: PrivateKey | PublicKey
    if kty == "EC":
        params = _EC_BY_CRV.get(crv) if isinstance(crv, str) else None
        if params is None:
            raise PKIError("invalid_jwk", "unsupported EC curve")
        x = int.from_bytes(_member(jwk, "x", params.coord_len), "big")
        y = int.from_bytes(_member(jwk, "y", params.coord_len), "big")
        try:
            public_numbers = ec.EllipticCurvePublicNumbers(x, y, params.curve_cls())
            pub = public_numbers.public_key()
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise PKIError("invalid_jwk", "EC point is not on the curve") from exc
        key = pub
        if "d" in jwk:
            d = int.from_bytes(_member(jwk, "d", params.coord_len), "big")
            try:
                priv = ec.EllipticCurvePrivateNumbers(d, public_numbers).private_key()
            except (ValueError, UnsupportedAlgorithm) as exc:
                raise PKIError("invalid_jwk", "EC private key does not match its public key") from exc
            key = priv
    elif kty == "OKP":
        if crv != "Ed25519":
            raise PKIError("invalid_jwk", "unsupported OKP curve")
        x_raw = _member(jwk, "x", 32)
        try:
            pub_ed = ed25519.Ed25519PublicKey.from_public_bytes(x_raw)
        except (ValueError, UnsupportedAlgorithm) as exc:  # pragma: no cover - every 32-byte string loads
            raise PKIError("invalid_jwk", "invalid Ed25519 public key") from exc
        key = pub_ed
        if "d" in jwk:
            priv_ed = ed25519.Ed25519PrivateKey.from_private_bytes(_member(jwk, "d", 32))
            if public_jwk(priv_ed)["x"] != jwk["x"]:
                raise PKIError("invalid_jwk", "Ed25519 private key does not match its public key")
            key = priv_ed
    else:
        raise PKIError("invalid_jwk", "unsupported kty")
    alg = jwk.get("alg")
    if alg is not None:
        expected = alg_for_key(key)
        if not isinstance(alg, str) or (alg != expected and not (expected == "EdDSA" and alg in _EDDSA_NAMES)):
            raise PKIError("invalid_jwk", "JWK alg does not fit the key")
    return key


def public_key_from_jwk(jwk: Mapping[str, Any]) -> PublicKey:
    """Like :func:`key_from_jwk` but always returns the public key (a JWK carrying ``d`` is checked, then
    reduced to its public part)."""
    key = key_from_jwk(jwk)
    if isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        return key.public_key()
    return key


_THUMBPRINT_MEMBERS: dict[str, tuple[str, ...]] = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
}


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 §3 JWK thumbprint with SHA-256, base64url without padding.

    Uses only the required members in lexicographic order, no whitespace (§3.2, §3.3). Works for EC, OKP and
    RSA JWKs (RSA only for the thumbprint: this package does not sign with RSA). Members must be strings.
    """
    if not isinstance(jwk, Mapping):
        raise PKIError("invalid_jwk", "JWK is not an object")
    kty = jwk.get("kty")
    members = _THUMBPRINT_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise PKIError("invalid_jwk", "unsupported kty")
    canonical: dict[str, str] = {}
    for name in members:
        value = jwk.get(name)
        if not isinstance(value, str):
            raise PKIError("invalid_jwk", f"JWK member {name} missing or not a string")
        canonical[name] = value
    data = json.dumps(canonical, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return b64url_encode(hashlib.sha256(data).digest())


def jwk_thumbprint_uri(jwk: Mapping[str, Any]) -> str:
    """RFC 9278 §3 JWK thumbprint URI: ``urn:ietf:params:oauth:jwk-thumbprint:sha-256:<thumbprint>``."""
    return f"urn:ietf:params:oauth:jwk-thumbprint:sha-256:{jwk_thumbprint(jwk)}"


_ALG_BY_COSE = {v: k for k, v in COSE_ALGORITHMS.items()}


def alg_from_cose(cose_alg: int) -> str:
    """The JOSE name of a COSE algorithm identifier (RFC 9053 §2); ``unsupported_alg`` if not offered here."""
    alg = _ALG_BY_COSE.get(cose_alg) if isinstance(cose_alg, int) and not isinstance(cose_alg, bool) else None
    if alg is None:
        raise PKIError("unsupported_alg", "unsupported COSE algorithm")
    return alg


def sign(key: PrivateKey, alg: str, data: bytes) -> bytes:
    """A raw JOSE/COSE signature over ``data`` (RFC 7518 §3.4: fixed-length r||s for ECDSA; RFC 8037 §3.1)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        params = _EC_BY_ALG.get(alg)
        if params is None:
            raise PKIError("unsupported_alg" if alg not in ALGORITHMS else "alg_key_mismatch",
                           "algorithm does not fit the key")
        if key.curve.name != params.curve_name:
            raise PKIError("alg_key_mismatch", "algorithm does not fit the key's curve")
        r, s = decode_dss_signature(key.sign(data, _ECDSA[alg]))
        return r.to_bytes(params.coord_len, "big") + s.to_bytes(params.coord_len, "big")
    if isinstance(key, ed25519.Ed25519PrivateKey):
        if alg not in _EDDSA_NAMES:
            raise PKIError("unsupported_alg" if alg not in ALGORITHMS else "alg_key_mismatch",
                           "algorithm does not fit the key")
        return key.sign(data)
    raise PKIError("unsupported_alg", "unsupported key type")


def verify(key: PublicKey, alg: str, signature: bytes, data: bytes) -> None:
    """Check a raw JOSE/COSE signature (RFC 7515 §5.2 step 8, RFC 7518 §3.4, RFC 8037 §3.1).

    The algorithm must be known (``unsupported_alg``) and fit the key type and curve (``alg_key_mismatch``):
    the algorithm is never taken from the key. A bad or wrongly sized signature raises ``bad_signature``.
    """
    if isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        key = key.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        params = _EC_BY_ALG.get(alg)
        if params is None:
            raise PKIError("unsupported_alg" if alg not in ALGORITHMS else "alg_key_mismatch",
                           "algorithm does not fit the key")
        if key.curve.name != params.curve_name:
            raise PKIError("alg_key_mismatch", "algorithm does not fit the key's curve")
        n = params.coord_len
        if not isinstance(signature, bytes | bytearray | memoryview) or len(signature) != 2 * n:
            raise PKIError("bad_signature", "signature has the wrong length")
        sig = bytes(signature)
        der = encode_dss_signature(int.from_bytes(sig[:n], "big"), int.from_bytes(sig[n:], "big"))
        try:
            key.verify(der, data, _ECDSA[alg])
        except InvalidSignature:
            raise PKIError("bad_signature", "signature does not verify") from None
        return
    if isinstance(key, ed25519.Ed25519PublicKey):
        if alg not in _EDDSA_NAMES:
            raise PKIError("unsupported_alg" if alg not in ALGORITHMS else "alg_key_mismatch",
                           "algorithm does not fit the key")
        if not isinstance(signature, bytes | bytearray | memoryview) or len(signature) != 64:
            raise PKIError("bad_signature", "signature has the wrong length")
        try:
            key.verify(bytes(signature), data)
        except InvalidSignature:
            raise PKIError("bad_signature", "signature does not verify") from None
        return
    raise PKIError("unsupported_alg", "unsupported key type")
