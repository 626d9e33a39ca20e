"""JWE with ECDH-ES key agreement (RFC 7516, RFC 7518 §4.6) for the encrypted responses of OpenID4VP 1.0 §8.3
(``direct_post.jwt``) and OpenID4VCI 1.0 §10 (credential request/response encryption).

HAIP 1.0 §5 / §6 fix the algorithms: ``alg`` ECDH-ES with P-256, ``enc`` A128GCM or A256GCM. Nothing else is
accepted on input: the header is checked *before* any decryption is attempted (alg, enc, no ``zip``, no ``crit``,
expected ``kid``). Encryption uses joserfc with a registry restricted to these algorithms; decryption (the
verifier's hot path) runs ECDH + Concat KDF + AES-GCM directly on ``cryptography``, about 2-3x faster, and is
tested against both joserfc and the ``jose`` npm package.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from joserfc import jwe as _jwe
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from portfeil.errors import PortfeilError
from portfeil.formats.jws import b64url_decode
from portfeil.pki.keys import public_jwk
from portfeil.protocols._common import jwk_thumbprint, one_of
from portfeil.protocols.errors import ProtocolError

__all__ = [
    "ALLOWED_ALGS",
    "ALLOWED_ENCS",
    "MAX_JWE_SIZE",
    "DecryptedJWE",
    "EncryptionKey",
    "decrypt",
    "encrypt",
    "generate_encryption_key",
]

ALLOWED_ALGS: Final[frozenset[str]] = frozenset({"ECDH-ES"})
ALLOWED_ENCS: Final[frozenset[str]] = frozenset({"A128GCM", "A256GCM"})
MAX_JWE_SIZE: Final[int] = 2 * 1024 * 1024
_CURVES: Final[frozenset[str]] = frozenset({"P-256", "P-384"})
_REGISTRY: Final[_jwe.JWERegistry] = _jwe.JWERegistry(algorithms=[*sorted(ALLOWED_ALGS), *sorted(ALLOWED_ENCS)])


@dataclass(frozen=True, slots=True)
class EncryptionKey:
    """An ephemeral encryption key pair: ``jwk`` (public, with ``kid``, ``use`` enc and ``alg``) to publish."""

    private_key: ec.EllipticCurvePrivateKey
    jwk: dict[str, str]

    @property
    def kid(self) -> str:
        return self.jwk["kid"]


@dataclass(frozen=True, slots=True)
class DecryptedJWE:
    header: dict[str, Any]
    plaintext: bytes


def generate_encryption_key(*, alg: str = "ECDH-ES", curve: str = "P-256") -> EncryptionKey:
    """A fresh P-256 key for ECDH-ES (HAIP 1.0); ``kid`` is its RFC 7638 thumbprint."""
    if alg not in ALLOWED_ALGS or curve not in _CURVES:
        raise ProtocolError("server_error", "unsupported encryption algorithm")
    key = ec.generate_private_key(ec.SECP256R1() if curve == "P-256" else ec.SECP384R1())
    jwk: dict[str, str] = dict(public_jwk(key))
    jwk["kid"] = jwk_thumbprint(jwk, code="server_error")
    jwk["use"] = "enc"
    jwk["alg"] = alg
    return EncryptionKey(key, jwk)


def _import_public(jwk: Mapping[str, Any], code: str) -> ECKey:
    if not isinstance(jwk, Mapping) or jwk.get("kty") != "EC" or not one_of(jwk.get("crv"), _CURVES) or "d" in jwk:
        raise ProtocolError(code, "encryption key must be a public EC P-256/P-384 JWK")
    if jwk.get("use") not in (None, "enc"):
        raise ProtocolError(code, "the JWK is not an encryption key")
    try:
        return ECKey.import_key({k: jwk[k] for k in ("kty", "crv", "x", "y")})
    except (JoseError, KeyError, ValueError, TypeError) as exc:
        raise ProtocolError(code, "encryption JWK is invalid") from exc


def encrypt(
    plaintext: bytes,
    recipient_jwk: Mapping[str, Any],
    *,
    enc: str,
    alg: str | None = None,
    header: Mapping[str, Any] | None = None,
    code: str = "invalid_request",
) -> str:
    """Encrypt to ``recipient_jwk`` (compact serialisation, RFC 7516 §7.1). ``alg`` defaults to the JWK's ``alg``
    (OpenID4VP 1.0 §8.3, OpenID4VCI 1.0 §10) or ECDH-ES; the ``kid`` of the JWK goes into the header."""
    alg = alg or str(recipient_jwk.get("alg") or "ECDH-ES")
    if not one_of(alg, ALLOWED_ALGS):
        raise ProtocolError(code, "JWE alg is not supported")
    if not one_of(enc, ALLOWED_ENCS):
        raise ProtocolError(code, "JWE enc is not supported")
    key = _import_public(recipient_jwk, code)
    protected: dict[str, Any] = {"alg": alg, "enc": enc}
    kid = recipient_jwk.get("kid")
    if isinstance(kid, str):
        protected["kid"] = kid
    for name, value in (header or {}).items():
        if name in ("alg", "enc", "zip", "crit", "epk"):
            raise ProtocolError("server_error", f"header {name} cannot be set")
        protected[name] = value
    try:
        return _jwe.encrypt_compact(protected, plaintext, key, registry=_REGISTRY)
    except (JoseError, ValueError, TypeError) as exc:
        raise ProtocolError("server_error", "JWE encryption failed") from exc


def _header(token: str, code: str) -> dict[str, Any]:
    first = token.split(".", 1)[0]
    raw = _b64(first, code, "header")
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(code, "JWE header is not JSON") from exc
    if not isinstance(header, dict):
        raise ProtocolError(code, "JWE header is not an object")
    return header


def decrypt(
    token: object,
    private_key: ec.EllipticCurvePrivateKey,
    *,
    expected_kid: str | None = None,
    algorithms: Collection[str] = ALLOWED_ALGS,
    encryptions: Collection[str] = ALLOWED_ENCS,
    code: str = "invalid_request",
    max_size: int = MAX_JWE_SIZE,
) -> DecryptedJWE:
    """Decrypt a compact JWE after checking its header: five parts, ``alg``/``enc`` allowed, ``kid`` equal to
    ``expected_kid`` when given, no ``zip`` (compression is a decompression-bomb risk) and no ``crit``."""
    if not isinstance(token, str) or len(token) > max_size:
        raise ProtocolError(code, "JWE must be a string within the size limit")
    if token.count(".") != 4:
        raise ProtocolError(code, "JWE must be in compact serialisation")
    header = _header(token, code)
    if not one_of(header.get("alg"), algorithms) or not one_of(header.get("alg"), ALLOWED_ALGS):
        raise ProtocolError(code, "JWE alg is not allowed")
    if not one_of(header.get("enc"), encryptions) or not one_of(header.get("enc"), ALLOWED_ENCS):
        raise ProtocolError(code, "JWE enc is not allowed")
    if "zip" in header or "crit" in header:
        raise ProtocolError(code, "JWE zip/crit are not supported")
    if expected_kid is not None and header.get("kid") != expected_kid:
        raise ProtocolError(code, "JWE kid is not the expected key")
    epk = header.get("epk")
    if not isinstance(epk, dict) or epk.get("kty") != "EC" or "d" in epk:
        raise ProtocolError(code, "JWE epk is missing or not an EC public key")
    plaintext = _ecdh_es_decrypt(token, header, epk, private_key, code)
    return DecryptedJWE(header, plaintext)


_ENC_KEY_BITS: Final[dict[str, int]] = {"A128GCM": 128, "A256GCM": 256}
_CURVE_FOR_CRV: Final[dict[str, tuple[ec.EllipticCurve, int]]] = {"P-256": (ec.SECP256R1(), 32),
                                                                  "P-384": (ec.SECP384R1(), 48)}


def _b64(value: object, code: str, what: str) -> bytes:
    if not isinstance(value, str):
        raise ProtocolError(code, f"JWE {what} is not a string")
    try:
        return b64url_decode(value, what=what)
    except PortfeilError as exc:
        raise ProtocolError(code, f"JWE {what} is not base64url") from exc


def _length_prefixed(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def _ecdh_es_decrypt(token: str, header: Mapping[str, Any], epk: Mapping[str, Any],
                     private_key: ec.EllipticCurvePrivateKey, code: str) -> bytes:
    """ECDH-ES direct key agreement (RFC 7518 §4.6) + AES-GCM (§5.3) straight on ``cryptography``: the Concat KDF
    of NIST SP 800-56A §5.8.1 with AlgorithmID = ``enc``, PartyUInfo/PartyVInfo = ``apu``/``apv``, SuppPubInfo =
    key length in bits; AAD = the protected header segment (RFC 7516 §5.2 step 14). The encrypted key must be
    empty (direct agreement)."""
    h64, ek64, iv64, ct64, tag64 = token.split(".")
    if ek64:
        raise ProtocolError(code, "ECDH-ES JWE must not carry an encrypted key")
    crv = epk.get("crv")
    if not isinstance(crv, str) or crv not in _CURVE_FOR_CRV:
        raise ProtocolError(code, "JWE epk curve is not supported")
    curve, size = _CURVE_FOR_CRV[crv]
    if private_key.curve.name != curve.name:
        raise ProtocolError(code, "JWE epk curve differs from the recipient key")
    x, y = _b64(epk.get("x"), code, "epk x"), _b64(epk.get("y"), code, "epk y")
    if len(x) != size or len(y) != size:
        raise ProtocolError(code, "JWE epk has the wrong length")
    try:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(curve, b"\x04" + x + y)
        shared = private_key.exchange(ec.ECDH(), peer)
    except ValueError as exc:
        raise ProtocolError(code, "JWE epk is not a point on the curve") from exc
    enc = str(header["enc"])
    bits = _ENC_KEY_BITS[enc]
    apu = _b64(header["apu"], code, "apu") if "apu" in header else b""
    apv = _b64(header["apv"], code, "apv") if "apv" in header else b""
    other_info = (_length_prefixed(enc.encode("ascii")) + _length_prefixed(apu) + _length_prefixed(apv)
                  + bits.to_bytes(4, "big"))
    cek = ConcatKDFHash(algorithm=hashes.SHA256(), length=bits // 8, otherinfo=other_info).derive(shared)
    iv = _b64(iv64, code, "iv")
    tag = _b64(tag64, code, "tag")
    if len(iv) != 12 or len(tag) != 16:
        raise ProtocolError(code, "JWE iv or tag has the wrong length")
    try:
        return AESGCM(cek).decrypt(iv, _b64(ct64, code, "ciphertext") + tag, h64.encode("ascii"))
    except InvalidTag as exc:
        raise ProtocolError(code, "JWE does not decrypt") from exc


