"""Compact JSON Web Signatures (RFC 7515 §7.1) for every JWT the project signs or checks.

One small, strict implementation shared by SD-JWT VCs, key-binding JWTs, status list tokens, request objects,
DPoP proofs, registration certificates and wallet attestations:

* an explicit algorithm allow-list (``ES256``, ``ES384``, ``EdDSA``); ``none`` and every HMAC algorithm are
  refused, and the key must match the algorithm (no algorithm/key confusion);
* strict base64url (RFC 7515 §2: no padding, no whitespace, canonical trailing bits) and bounded sizes;
* ``typ`` checked when the caller names the expected type (RFC 8725 §3.11), ``crit`` refused
  (RFC 7515 §4.1.11);
* the key is passed in, or found through the ``x5c`` header (RFC 7515 §4.1.6) and a chain validator.

Signing and verifying call ``cryptography`` directly (raw ``r||s`` signatures, RFC 7518 §3.4); this is the hot
path of every presentation check, so it avoids any generic JOSE layer (see benchmarks/bench_sdjwt.py).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature, encode_dss_signature

from portfeil.errors import PortfeilError
from portfeil.formats.errors import FormatError

__all__ = [
    "ALLOWED_ALGORITHMS",
    "MAX_JWS_SIZE",
    "ChainValidatorLike",
    "JWSPrivateKey",
    "JWSPublicKey",
    "ParsedJWS",
    "VerifiedJWS",
    "alg_for_key",
    "b64url_decode",
    "b64url_decode_checked_alphabet",
    "b64url_encode",
    "bounded_put",
    "check_key_matches_alg",
    "check_time_claims",
    "json_dumps_compact",
    "json_loads_strict",
    "numeric_claim",
    "parse_compact",
    "public_jwk",
    "public_key_from_jwk",
    "resolve_x5c_key",
    "sign_compact",
    "verify_compact",
    "verify_parsed",
    "verify_signature",
    "verify_signature_digest",
    "x5c_der",
]

JWSPrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
JWSPublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey

ALLOWED_ALGORITHMS: Final[frozenset[str]] = frozenset({"ES256", "ES384", "EdDSA"})
"""The only JWS algorithms portfeil signs or accepts (HAIP: ES256; ES384 for CAs with P-384; EdDSA)."""

MAX_JWS_SIZE: Final[int] = 64 * 1024
"""Default upper bound for one compact JWS, in characters; callers may lower or raise it."""

MAX_X5C_CERTS: Final[int] = 8

_EC_ALGS: Final[dict[str, tuple[type[ec.EllipticCurve], hashes.HashAlgorithm, int]]] = {
    "ES256": (ec.SECP256R1, hashes.SHA256(), 32),
    "ES384": (ec.SECP384R1, hashes.SHA384(), 48),
}
_ECDSA: Final[dict[str, ec.ECDSA]] = {alg: ec.ECDSA(h) for alg, (_, h, _) in _EC_ALGS.items()}
_ECDSA_PREHASHED: Final[dict[str, ec.ECDSA]] = {alg: ec.ECDSA(Prehashed(h)) for alg, (_, h, _) in _EC_ALGS.items()}
_EC_PUBLIC_TYPE: Final = type(ec.derive_private_key(1, ec.SECP256R1()).public_key())
"""The concrete class of ``cryptography``'s EC public keys (an exact type check is cheaper than the ABC's)."""


class ChainValidatorLike(Protocol):
    """What :class:`portfeil.pki.chains.ChainValidator` offers: validate a DER chain, leaf first."""

    def validate(self, chain_der: Sequence[bytes], *, now: datetime) -> x509.Certificate: ...


# --- base64url / JSON


def b64url_encode(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").translate(_STD_TO_B64URL).decode("ascii")


def b64url_decode(text: str, *, what: str = "value") -> bytes:
    """Strict base64url decoding (RFC 7515 §2, RFC 4648 §5): no padding, no whitespace, canonical final bits.

    Raises ``FormatError("malformed_base64url")`` on anything else.
    """
    # '+', '/' and '=' would survive the alphabet translation below; strict decoding refuses everything else.
    if not text.isascii() or "=" in text or "+" in text or "/" in text:
        raise FormatError("malformed_base64url", f"{what} is not strict base64url")
    return b64url_decode_checked_alphabet(text, what=what)


def b64url_decode_checked_alphabet(text: str, *, what: str = "value") -> bytes:
    """:func:`b64url_decode` for ASCII text that the caller checked already holds no '+', '/' or '=' (a whole
    compact serialisation at once); strict decoding still refuses every other foreign character (whitespace,
    '.'), impossible lengths and non-canonical final bits."""
    rem = len(text) & 3
    if rem:
        if rem == 1:
            raise FormatError("malformed_base64url", f"{what} is not strict base64url")
        # Reject non-canonical encodings (unused trailing bits set), so every value has exactly one encoding.
        if _B64URL_VALUE.get(text[-1], 0xFF) & (0x0F if rem == 2 else 0x03):
            raise FormatError("malformed_base64url", f"{what} has non-canonical trailing bits")
    try:
        return binascii.a2b_base64(text.encode("ascii").translate(_B64URL_TO_STD) + _PAD[rem], strict_mode=True)
    except (binascii.Error, ValueError) as exc:  # e.g. a '.' where the caller's alphabet check allowed one
        raise FormatError("malformed_base64url", f"{what} is not strict base64url") from exc


_B64URL_TO_STD: Final = bytes.maketrans(b"-_", b"+/")
_STD_TO_B64URL: Final = bytes.maketrans(b"+/", b"-_")
_PAD: Final = (b"", b"", b"==", b"=")
_B64URL_VALUE: Final[dict[str, int]] = {
    c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate member name")
    return out


_STRICT_JSON: Final = json.JSONDecoder(object_pairs_hook=_unique_pairs, parse_constant=_reject_constant)
_SCAN_ONCE: Final[Callable[[str, int], tuple[Any, int]]] = _STRICT_JSON.scan_once  # type: ignore[attr-defined]


def json_loads_strict(data: bytes | str, *, what: str = "JSON") -> Any:
    """Parse UTF-8 JSON as RFC 8259 says (no NaN/Infinity); duplicate member names are refused (RFC 7515 §5.2)."""
    try:
        text = data.decode("utf-8") if type(data) is bytes or isinstance(data, bytes) else data
        # The C scanner parses one value from position 0; anything around it (whitespace, or trailing garbage)
        # goes through the full decoder, which accepts surrounding whitespace only.
        try:
            value, end = _SCAN_ONCE(text, 0)
        except StopIteration:
            end = -1
        if end == len(text):
            return value
        return _STRICT_JSON.decode(text)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise FormatError("malformed_json", f"{what} is not valid JSON") from exc


#: one encoder for every call: ``json.dumps`` with non-default options builds a new encoder each time (~1 µs, and
#: an SD-JWT VC PID makes ~30 Disclosures)
_COMPACT_JSON: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def json_dumps_compact(obj: Any) -> bytes:
    """Compact UTF-8 JSON for JWS headers and payloads."""
    return _COMPACT_JSON.encode(obj).encode("utf-8")


def x5c_member(chain: Sequence[x509.Certificate]) -> list[str]:
    """The ``x5c`` header member (RFC 7515 §4.1.6): base64 (not base64url) DER, leaf first. Each certificate's
    encoding is remembered by identity (an issuer signs with the same chain objects all day)."""
    out = []
    for cert in chain:
        known = _X5C_ENCODED.get(id(cert))
        if known is None or known[0] is not cert:
            known = (cert, base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii"))
            bounded_put(_X5C_ENCODED, id(cert), known, 64)
        out.append(known[1])
    return out


_X5C_ENCODED: dict[int, tuple[x509.Certificate, str]] = {}


def bounded_put(cache: dict[Any, Any], key: Any, value: Any, size: int) -> None:
    """Insert into a small module-level cache, dropping the oldest entry when full.

    Safe under threads: a concurrent eviction at worst empties the cache, it never raises.
    """
    if len(cache) >= size:
        try:
            cache.pop(next(iter(cache)), None)
        except (RuntimeError, StopIteration):  # resized by another thread meanwhile
            cache.clear()
    cache[key] = value


# --- keys


def alg_for_key(key: JWSPrivateKey | JWSPublicKey) -> str:
    """The JWS ``alg`` that goes with a key (RFC 7518 §3.4, RFC 8037 §3.1)."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP256R1):
            return "ES256"
        if isinstance(key.curve, ec.SECP384R1):
            return "ES384"
        raise FormatError("unsupported_alg", f"no allowed JWS algorithm for curve {key.curve.name}")
    if isinstance(
        key,
        ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey | ed448.Ed448PrivateKey | ed448.Ed448PublicKey,
    ):
        return "EdDSA"
    raise FormatError("unsupported_alg", "unsupported key type")


def check_key_matches_alg(key: object, alg: str) -> JWSPublicKey:
    """Refuse algorithm/key confusion: an ES256 signature needs a P-256 key, EdDSA an Ed25519/Ed448 key."""
    if alg in _EC_ALGS:
        if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, _EC_ALGS[alg][0]):
            return key
    elif alg == "EdDSA":
        if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            return key
    else:
        raise FormatError("unsupported_alg", "JWS algorithm is not allowed")
    raise FormatError("alg_key_mismatch", "the key does not match the JWS algorithm")


_JWK_CURVES: Final[dict[str, tuple[ec.EllipticCurve, int]]] = {
    "P-256": (ec.SECP256R1(), 32),
    "P-384": (ec.SECP384R1(), 48),
}


_JWK_CACHE: dict[tuple[str, str, str, str], JWSPublicKey] = {}
_JWK_CACHE_SIZE: Final = 1024


def public_key_from_jwk(jwk: object) -> JWSPublicKey:
    """A public key from a JWK (RFC 7517 §4, RFC 7518 §6.2, RFC 8037 §2); private members are refused.

    Only key types portfeil verifies with (EC P-256/P-384, OKP Ed25519/Ed448).
    """
    if not isinstance(jwk, Mapping):
        raise FormatError("invalid_jwk", "JWK is not an object")
    if "d" in jwk:
        raise FormatError("invalid_jwk", "a public JWK must not contain private key material")
    kty = jwk.get("kty")
    crv = jwk.get("crv")
    x = jwk.get("x")
    if not isinstance(x, str) or not isinstance(crv, str):
        raise FormatError("invalid_jwk", "JWK lacks crv or x")
    try:
        if kty == "EC":
            y = jwk.get("y")
            if crv not in _JWK_CURVES or not isinstance(y, str):
                raise FormatError("invalid_jwk", "unsupported EC JWK")
            # Point validation costs as much as a third of a signature check: remember validated keys.
            cache_key = (kty, crv, x, y)
            cached = _JWK_CACHE.get(cache_key)
            if cached is not None:
                return cached
            curve, size = _JWK_CURVES[crv]
            xb = b64url_decode(x, what="JWK x")
            yb = b64url_decode(y, what="JWK y")
            if len(xb) != size or len(yb) != size:
                raise FormatError("invalid_jwk", "EC JWK coordinate has the wrong length")
            key = ec.EllipticCurvePublicKey.from_encoded_point(curve, b"\x04" + xb + yb)
            bounded_put(_JWK_CACHE, cache_key, key, _JWK_CACHE_SIZE)
            return key
        if kty == "OKP":
            xb = b64url_decode(x, what="JWK x")
            if crv == "Ed25519":
                return ed25519.Ed25519PublicKey.from_public_bytes(xb)
            if crv == "Ed448":
                return ed448.Ed448PublicKey.from_public_bytes(xb)
            raise FormatError("invalid_jwk", "unsupported OKP JWK")
    except ValueError as exc:
        raise FormatError("invalid_jwk", "JWK is not a valid public key") from exc
    raise FormatError("invalid_jwk", "unsupported JWK key type")


def public_jwk(key: JWSPrivateKey | JWSPublicKey) -> dict[str, str]:
    """The public JWK of a key (RFC 7518 §6.2.1, RFC 8037 §2), members only: kty, crv, x(, y)."""
    pub = key.public_key() if not isinstance(key, JWSPublicKey) else key
    if isinstance(pub, ec.EllipticCurvePublicKey):
        size = (pub.curve.key_size + 7) // 8
        nums = pub.public_numbers()
        crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[pub.curve.name]
        return {
            "kty": "EC",
            "crv": crv,
            "x": b64url_encode(nums.x.to_bytes(size, "big")),
            "y": b64url_encode(nums.y.to_bytes(size, "big")),
        }
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    crv = "Ed25519" if isinstance(pub, ed25519.Ed25519PublicKey) else "Ed448"
    return {"kty": "OKP", "crv": crv, "x": b64url_encode(raw)}


# --- sign / verify


def _sign_raw(key: JWSPrivateKey, alg: str, data: bytes) -> bytes:
    if alg in _EC_ALGS:
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, _EC_ALGS[alg][0]):
            raise FormatError("alg_key_mismatch", "the key does not match the JWS algorithm")
        r, s = decode_dss_signature(key.sign(data, _ECDSA[alg]))
        size = _EC_ALGS[alg][2]
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if alg == "EdDSA":
        if not isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
            raise FormatError("alg_key_mismatch", "the key does not match the JWS algorithm")
        return key.sign(data)
    raise FormatError("unsupported_alg", "JWS algorithm is not allowed")


def verify_signature(key: JWSPublicKey, alg: str, signature: bytes, data: bytes) -> None:
    """Check a raw JWS signature (RFC 7518 §3.4: ``r||s`` for ECDSA; RFC 8037 §3.1 for EdDSA)."""
    if type(key) is _EC_PUBLIC_TYPE and alg in _EC_ALGS and type(key.curve) is _EC_ALGS[alg][0]:
        pub: JWSPublicKey = key  # the common case, without the abstract-class checks below
    else:
        pub = check_key_matches_alg(key, alg)
    try:
        if isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(_der_signature(signature, alg), data, _ECDSA[alg])
        else:
            pub.verify(signature, data)
    except InvalidSignature as exc:
        raise FormatError("bad_signature", "JWS signature does not verify") from exc


def verify_signature_digest(key: JWSPublicKey, alg: str, signature: bytes, digest: bytes) -> None:
    """:func:`verify_signature` for an ECDSA ``alg`` given the digest of the signing input (hashed by the caller,
    who needs the same hash state for something else, e.g. an SD-JWT ``sd_hash``)."""
    if alg not in _EC_ALGS:
        raise FormatError("unsupported_alg", "JWS algorithm is not allowed")
    pub = check_key_matches_alg(key, alg) if type(key) is not _EC_PUBLIC_TYPE else key
    if not isinstance(pub, ec.EllipticCurvePublicKey) or type(pub.curve) is not _EC_ALGS[alg][0]:
        raise FormatError("alg_key_mismatch", "the key does not match the JWS algorithm")
    if len(digest) != _EC_ALGS[alg][1].digest_size:
        raise FormatError("bad_signature", "digest has the wrong length")
    try:
        pub.verify(_der_signature(signature, alg), digest, _ECDSA_PREHASHED[alg])
    except InvalidSignature as exc:
        raise FormatError("bad_signature", "JWS signature does not verify") from exc


def _der_signature(signature: bytes, alg: str) -> bytes:
    """RFC 7518 §3.4 ``r||s`` to the DER ``Ecdsa-Sig-Value`` that OpenSSL verifies."""
    size = _EC_ALGS[alg][2]
    if len(signature) != 2 * size:
        raise FormatError("bad_signature", "JWS signature has the wrong length")
    return encode_dss_signature(int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big"))


def sign_compact(
    payload: Mapping[str, Any] | bytes,
    key: JWSPrivateKey,
    *,
    alg: str | None = None,
    typ: str | None = None,
    x5c: Sequence[x509.Certificate] = (),
    header: Mapping[str, Any] | None = None,
) -> str:
    """Sign ``payload`` as a compact JWS (RFC 7515 §7.1). ``alg`` defaults to the key's algorithm."""
    alg = alg or alg_for_key(key)
    if alg not in ALLOWED_ALGORITHMS:
        raise FormatError("unsupported_alg", "JWS algorithm is not allowed")
    hdr: dict[str, Any] = {"alg": alg}
    if typ is not None:
        hdr["typ"] = typ
    if x5c:
        hdr["x5c"] = x5c_member(x5c)
    if header:
        for name, value in header.items():
            if name in ("alg", "crit"):
                raise FormatError("invalid_header", f"header member {name} cannot be set this way")
            hdr[name] = value
    try:
        body = payload if isinstance(payload, bytes) else json_dumps_compact(dict(payload))
        encoded_header = json_dumps_compact(hdr)
    except (TypeError, ValueError, RecursionError) as exc:
        raise FormatError("invalid_claim_value", "header or payload is not JSON-serialisable") from exc
    signing_input = b64url_encode(encoded_header) + "." + b64url_encode(body)
    sig = _sign_raw(key, alg, signing_input.encode("ascii"))
    return signing_input + "." + b64url_encode(sig)


class ParsedJWS(NamedTuple):
    """A compact JWS split and decoded but NOT yet verified (RFC 7515 §5.2 steps 1-7).

    (A NamedTuple rather than a frozen dataclass: it is built twice per presentation check.)
    """

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes
    header_b64: str = ""

    @property
    def alg(self) -> str:
        return str(self.header["alg"])


class VerifiedJWS(NamedTuple):
    """A compact JWS whose signature verified; ``leaf`` is the validated x5c leaf if the key came from it."""

    header: dict[str, Any]
    payload: dict[str, Any]
    key: JWSPublicKey
    leaf: x509.Certificate | None


def parse_compact(
    token: str,
    *,
    max_size: int = MAX_JWS_SIZE,
    algorithms: Collection[str] = ALLOWED_ALGORITHMS,
    typ: str | Collection[str] | None = None,
) -> ParsedJWS:
    """Split and decode a compact JWS with a JSON object payload, checking ``alg``, ``typ`` and ``crit``.

    RFC 7515 §5.2; ``typ`` is compared exactly (RFC 8725 §3.11) against one value or a set of values.
    """
    if not isinstance(token, str):
        raise FormatError("malformed_jws", "JWS must be a string")
    if len(token) > max_size:
        raise FormatError("jws_too_large", "JWS exceeds the size limit")
    # three parts; find() (memchr) is much cheaper than split() on a kilobytes-long token
    dot1 = token.find(".")
    dot2 = token.find(".", dot1 + 1) if dot1 >= 0 else -1
    if dot2 < 0 or token.find(".", dot2 + 1) >= 0:
        raise FormatError("malformed_jws", "compact JWS must have three parts")
    h64, p64, s64 = token[:dot1], token[dot1 + 1 : dot2], token[dot2 + 1 :]
    # '+', '/' and '=' would survive the alphabet translation of the decoders: refused here for all three parts
    # at once; strict decoding refuses every other foreign character.
    if not token.isascii() or "=" in token or "+" in token or "/" in token:
        raise FormatError("malformed_base64url", "JWS is not strict base64url")
    # The protected header of one signer is the same in every token it signs (an x5c header is kilobytes):
    # remember parsed headers, keyed by their exact encoding. Checks below still run on every call.
    cached = _HEADER_CACHE.get(h64)
    if cached is None:
        header = json_loads_strict(b64url_decode_checked_alphabet(h64, what="JWS header"), what="JWS header")
        if not isinstance(header, dict):
            raise FormatError("malformed_jws", "JWS header is not a JSON object")
        bounded_put(_HEADER_CACHE, h64, header, _HEADER_CACHE_SIZE)
    else:
        header = cached
    header = dict(header)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS or alg not in algorithms:
        raise FormatError("unsupported_alg", "JWS algorithm is missing or not allowed")
    if "crit" in header:
        raise FormatError("unsupported_crit", "JWS header has critical extensions")
    if typ is not None:
        got = header.get("typ")
        allowed = (typ,) if isinstance(typ, str) else typ
        if not isinstance(got, str) or got not in allowed:
            raise FormatError("invalid_typ", "JWS typ header is missing or not the expected type")
    payload = json_loads_strict(b64url_decode_checked_alphabet(p64, what="JWS payload"), what="JWS payload")
    if type(payload) is not dict:
        raise FormatError("malformed_jws", "JWS payload is not a JSON object")
    signature = b64url_decode_checked_alphabet(s64, what="JWS signature")
    return ParsedJWS(header, payload, token[:dot2].encode("ascii"), signature, h64)


_HEADER_CACHE: dict[str, dict[str, Any]] = {}
_HEADER_CACHE_SIZE: Final = 256
_X5C_CACHE: dict[str, tuple[bytes, ...]] = {}


def x5c_der(header: Mapping[str, Any]) -> tuple[bytes, ...]:
    """The DER certificates of an ``x5c`` header (RFC 7515 §4.1.6: standard base64, leaf first)."""
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not x5c or len(x5c) > MAX_X5C_CERTS:
        raise FormatError("invalid_x5c", "x5c header must be a non-empty list of certificates")
    out = []
    for item in x5c:
        if not isinstance(item, str):
            raise FormatError("invalid_x5c", "x5c entries must be strings")
        try:
            out.append(base64.b64decode(item, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise FormatError("invalid_x5c", "x5c entry is not base64") from exc
    return tuple(out)


def resolve_x5c_key(
    header: Mapping[str, Any], trust: ChainValidatorLike, now: datetime, header_b64: str = ""
) -> tuple[JWSPublicKey, x509.Certificate]:
    """Validate the ``x5c`` chain with ``trust`` and return the leaf's key; PKI errors become FormatError.

    ``header_b64`` (the encoded header, when known) lets repeated headers skip decoding the certificates.
    """
    chain = _X5C_CACHE.get(header_b64) if header_b64 else None
    if chain is None:
        chain = x5c_der(header)
        if header_b64:
            bounded_put(_X5C_CACHE, header_b64, chain, _HEADER_CACHE_SIZE)
    try:
        leaf = trust.validate(chain, now=now)
    except FormatError:
        raise
    except PortfeilError as exc:  # PKIError: keep its code visible in the details
        raise FormatError("untrusted_issuer", "x5c chain does not validate", pki_code=exc.code) from exc
    except (ValueError, TypeError) as exc:
        raise FormatError("untrusted_issuer", "x5c chain does not validate") from exc
    # The validator returns the same leaf object for a cached chain: remember its checked key by identity (the
    # entry holds the leaf, so its id cannot be reused while cached).
    known = _LEAF_KEYS.get(id(leaf))
    if known is not None and known[0] is leaf:
        return known[1], leaf
    pub = leaf.public_key()
    if not isinstance(pub, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        raise FormatError("alg_key_mismatch", "x5c leaf key type is not allowed")
    bounded_put(_LEAF_KEYS, id(leaf), (leaf, pub), _HEADER_CACHE_SIZE)
    return pub, leaf


_LEAF_KEYS: dict[int, tuple[x509.Certificate, JWSPublicKey]] = {}


def verify_parsed(
    parsed: ParsedJWS,
    *,
    key: JWSPublicKey | None = None,
    trust: ChainValidatorLike | None = None,
    now: datetime | None = None,
) -> VerifiedJWS:
    """Verify a parsed JWS (RFC 7515 §5.2 step 8) with ``key`` or the ``x5c`` chain through ``trust``."""
    leaf = None
    if key is None:
        if trust is None or now is None:
            raise FormatError("missing_key", "no key and no trust anchors to verify the JWS with")
        key, leaf = resolve_x5c_key(parsed.header, trust, now, parsed.header_b64)
    verify_signature(key, parsed.alg, parsed.signature, parsed.signing_input)
    return VerifiedJWS(parsed.header, parsed.payload, key, leaf)


def verify_compact(
    token: str,
    *,
    key: JWSPublicKey | None = None,
    trust: ChainValidatorLike | None = None,
    now: datetime | None = None,
    typ: str | Collection[str] | None = None,
    algorithms: Collection[str] = ALLOWED_ALGORITHMS,
    max_size: int = MAX_JWS_SIZE,
) -> VerifiedJWS:
    """Parse and verify a compact JWS (RFC 7515 §5.2) with a JSON object payload.

    Give ``key``, or ``trust`` (a :class:`portfeil.pki.chains.ChainValidator`) and ``now`` to take the key
    from the validated ``x5c`` leaf. Only :class:`FormatError` escapes.
    """
    parsed = parse_compact(token, max_size=max_size, algorithms=algorithms, typ=typ)
    return verify_parsed(parsed, key=key, trust=trust, now=now)


# --- JWT time claims (shared by every JWT profile of the project)


def numeric_claim(payload: Mapping[str, Any], name: str) -> float | None:
    """A NumericDate claim (RFC 7519 §2): a JSON number, not a boolean; None when absent."""
    value = payload.get(name)
    if value is None:
        return None
    if type(value) is int or type(value) is float:
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FormatError("invalid_claim", f"{name} must be a number")
    return float(value)


def check_time_claims(
    payload: Mapping[str, Any],
    now: datetime,
    *,
    clock_skew: timedelta = timedelta(seconds=60),
    require_exp: bool = False,
    require_iat: bool = False,
    max_age: timedelta | None = None,
    code_prefix: str = "jwt",
) -> None:
    """Check ``exp``, ``nbf`` and ``iat`` (RFC 7519 §4.1.4-§4.1.6) at ``now`` with a bounded clock skew.

    ``max_age`` bounds how old ``iat`` may be (proofs of possession: DPoP, KB-JWT, wallet attestations).
    Codes: ``<prefix>_expired``, ``<prefix>_not_yet_valid``, ``iat_in_future``, ``<prefix>_too_old``,
    ``missing_exp``, ``missing_iat``, ``invalid_claim``.
    """
    now_ts = now.timestamp()
    skew = clock_skew.total_seconds()
    exp = numeric_claim(payload, "exp")
    if exp is None:
        if require_exp:
            raise FormatError("missing_exp", "the token has no exp")
    elif now_ts >= exp + skew:
        raise FormatError(f"{code_prefix}_expired", "the token has expired")
    nbf = numeric_claim(payload, "nbf")
    if nbf is not None and now_ts + skew < nbf:
        raise FormatError(f"{code_prefix}_not_yet_valid", "the token is not yet valid")
    iat = numeric_claim(payload, "iat")
    if iat is None:
        if require_iat or max_age is not None:
            raise FormatError("missing_iat", "the token has no iat")
        return
    if iat > now_ts + skew:
        raise FormatError("iat_in_future", "the token was issued in the future")
    if max_age is not None and iat < now_ts - max_age.total_seconds() - skew:
        raise FormatError(f"{code_prefix}_too_old", "the token is too old")
