"""COSE_Sign1 (RFC 9052) and COSE_Key (RFC 9053) on ``cbor2`` + ``cryptography``; a hardened CBOR decoder.

Only what the wallet ecosystem needs: single-signer ``COSE_Sign1`` (RFC 9052 §4.2) with ES256 / ES384 / EdDSA,
``x5chain`` (RFC 9360 §2, label 33), detached payloads, and ``COSE_Key`` for EC2 and OKP public keys. Every
parse error, whatever the input, is a :class:`~portfeil.formats.FormatError` with a stable code.

Security rules enforced here:

- the algorithm comes only from the *protected* header and must be in a caller-given allow-list, and it must
  match the verification key's type and curve (no algorithm confusion, RFC 9052 §8.1 / RFC 9053 §2.1);
- ``crit`` headers we do not understand are refused (RFC 9052 §3.1);
- ECDSA signatures must be exactly ``r || s`` of the curve's size (RFC 9053 §2.1);
- CBOR input is bounded in size and nesting, duplicate map keys, trailing bytes and (by default)
  indefinite-length items are refused, and exotic cbor2 tag decoders (shared references, regular expressions,
  MIME, bignums ...) are disabled.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, TypeAlias

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from portfeil.formats.errors import FormatError
from portfeil.formats.jws import bounded_put

__all__ = [
    "ALG_EDDSA",
    "ALG_ES256",
    "ALG_ES384",
    "ALG_NAMES",
    "CBOR_ARRAY_TYPES",
    "CBOR_MAP_TYPES",
    "DEFAULT_ALLOWED_ALGS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "HEADER_ALG",
    "HEADER_CONTENT_TYPE",
    "HEADER_CRIT",
    "HEADER_KID",
    "HEADER_X5CHAIN",
    "TAG_COSE_SIGN1",
    "CoseSign1",
    "PrivateKey",
    "PublicKey",
    "alg_for_private_key",
    "cbor_decode",
    "cbor_decode_many",
    "cbor_encode",
    "cose_key_from_public_key",
    "decode_sign1",
    "public_key_from_cose_key",
    "sig_structure",
    "sign1",
]

PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
PublicKey: TypeAlias = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
_EDWARDS: Final = (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey, ed448.Ed448PrivateKey, ed448.Ed448PublicKey)

# RFC 9053 §2.1 / §2.2 (IANA "COSE Algorithms")
ALG_ES256: Final = -7
ALG_ES384: Final = -35
ALG_EDDSA: Final = -8
ALG_NAMES: Final[Mapping[int, str]] = {ALG_ES256: "ES256", ALG_ES384: "ES384", ALG_EDDSA: "EdDSA"}
DEFAULT_ALLOWED_ALGS: Final[frozenset[int]] = frozenset(ALG_NAMES)

# RFC 9052 §3.1 common header parameters, RFC 9360 §2 x5chain
HEADER_ALG: Final = 1
HEADER_CRIT: Final = 2
HEADER_CONTENT_TYPE: Final = 3
HEADER_KID: Final = 4
HEADER_X5CHAIN: Final = 33
_UNDERSTOOD_HEADERS: Final = frozenset({HEADER_ALG, HEADER_CRIT, HEADER_CONTENT_TYPE, HEADER_KID, HEADER_X5CHAIN})

TAG_COSE_SIGN1: Final = 18

DEFAULT_MAX_BYTES: Final = 2 * 1024 * 1024
DEFAULT_MAX_DEPTH: Final = 16

# COSE_Key (RFC 9052 §7, RFC 9053 §7)
_KTY_OKP: Final = 1
_KTY_EC2: Final = 2
_EC2_CURVES: Final[Mapping[int, tuple[type[ec.EllipticCurve], int]]] = {
    1: (ec.SECP256R1, 32),
    2: (ec.SECP384R1, 48),
    3: (ec.SECP521R1, 66),
}
_CURVE_IDS: Final[Mapping[str, int]] = {"secp256r1": 1, "secp384r1": 2, "secp521r1": 3}
_OKP_ED25519: Final = 6
_OKP_ED448: Final = 7

# Tags cbor2 would decode into rich objects (epoch times, bignums, decimals, shared references, regular
# expressions, MIME, UUID, sets, IP addresses, string references ...): kept raw as CBORTag instead.
_RAW_TAGS: Final = (
    1, 2, 3, 4, 5, 25, 28, 29, 30, 32, 33, 34, 35, 36, 37, 52, 54, 100,
    256, 258, 260, 261, 262, 263, 270, 55799,
)  # fmt: skip


def _raw_tag(tag: int) -> Callable[[Any, bool], Any]:
    def decode(value: Any, immutable: bool) -> Any:
        return cbor2.CBORTag(tag, value)

    return decode


_SEMANTIC_DECODERS: Final[Mapping[int, Callable[[Any, bool], Any]]] = {t: _raw_tag(t) for t in _RAW_TAGS}


_CBOR_ERRORS: Final = (
    cbor2.CBORError, ValueError, TypeError, OverflowError, LookupError, EOFError, RecursionError, MemoryError,
)  # fmt: skip


# One random byte string appended after the input: decoding ``[input, sentinel]`` with the fast ``cbor2.loads``
# yields the sentinel as second element only if the input is exactly one complete data item (trailing bytes or a
# truncated item would shift it, and the input cannot predict 16 random bytes).
_SENTINEL_VALUE: Final = os.urandom(16)
_SENTINEL: Final = cbor2.dumps(_SENTINEL_VALUE)

CBOR_MAP_TYPES: Final = (dict, cbor2.frozendict)
"""Concrete types a decoded CBOR map can have (tag contents decode immutably in cbor2 6)."""
CBOR_ARRAY_TYPES: Final = (list, tuple)


def cbor_decode(
    data: bytes,
    *,
    what: str = "cbor",
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    allow_indefinite: bool = False,
) -> Any:
    """Decode exactly one CBOR data item (RFC 8949) defensively.

    Refuses input over ``max_bytes``, nesting over ``max_depth``, duplicate map keys (RFC 8949 §5.6), trailing
    bytes and, unless allowed, indefinite lengths. Tags 0 (tdate) and 1004 (full-date) decode to
    ``datetime``/``date``; tag 24 and other tags stay :class:`cbor2.CBORTag`. Raises ``FormatError`` only.
    """
    if type(data) is not bytes:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise FormatError("cbor_malformed", f"{what}: expected bytes")
        data = bytes(data)
    if len(data) > max_bytes:
        raise FormatError("cbor_too_large", f"{what}: {len(data)} bytes exceeds the limit of {max_bytes}")
    if len(data) == 0:
        raise FormatError("cbor_malformed", f"{what}: empty input")
    try:
        wrapped = cbor2.loads(
            b"\x82" + data + _SENTINEL,
            semantic_decoders=_SEMANTIC_DECODERS,
            max_depth=max_depth + 1,
            allow_indefinite=allow_indefinite,
            allow_duplicate_keys=False,
        )
    except _CBOR_ERRORS as exc:
        raise FormatError("cbor_malformed", f"{what}: {type(exc).__name__}") from None
    if wrapped[1] != _SENTINEL_VALUE:
        raise FormatError("cbor_malformed", f"{what}: not exactly one data item (trailing bytes)")
    return wrapped[0]


def _array_head(n: int) -> bytes:
    if n < 24:
        return bytes((0x80 | n,))
    if n < 0x100:
        return bytes((0x98, n))
    if n < 0x10000:
        return b"\x99" + n.to_bytes(2, "big")
    return b"\x9a" + n.to_bytes(4, "big")


def cbor_decode_many(
    chunks: Sequence[bytes],
    *,
    what: str = "cbor",
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    allow_indefinite: bool = False,
) -> list[Any]:
    """Decode several byte strings, each exactly one CBOR data item, in a single decoder call.

    Same rules as :func:`cbor_decode`. The chunks are decoded as ``[[c1, S, c2, S, ...], S]`` with the secret
    sentinel ``S``: a chunk with trailing bytes or a truncated chunk shifts some sentinel position (or runs out
    of input), so each result is exactly its own chunk. Used for the many small IssuerSignedItems of an mdoc.
    """
    n = len(chunks)
    if n == 0:
        return []
    total = 0
    for chunk in chunks:
        if type(chunk) is not bytes or not chunk:
            raise FormatError("cbor_malformed", f"{what}: expected non-empty bytes")
        total += len(chunk)
    if total > max_bytes:
        raise FormatError("cbor_too_large", f"{what}: {total} bytes exceeds the limit of {max_bytes}")
    parts = [b"\x82", _array_head(2 * n)]
    for chunk in chunks:
        parts.append(chunk)
        parts.append(_SENTINEL)
    parts.append(_SENTINEL)
    try:
        wrapped = cbor2.loads(
            b"".join(parts),
            semantic_decoders=_SEMANTIC_DECODERS,
            max_depth=max_depth + 2,
            allow_indefinite=allow_indefinite,
            allow_duplicate_keys=False,
        )
    except _CBOR_ERRORS as exc:
        raise FormatError("cbor_malformed", f"{what}: {type(exc).__name__}") from None
    items = wrapped[0]
    if wrapped[1] != _SENTINEL_VALUE or items[1::2] != [_SENTINEL_VALUE] * n:
        raise FormatError("cbor_malformed", f"{what}: not exactly one data item per chunk")
    result: list[Any] = items[0::2]
    return result


def cbor_encode(value: Any) -> bytes:
    """Encode with cbor2's defaults (definite lengths, shortest integer forms; date -> tag 1004)."""
    try:
        return cbor2.dumps(value)
    except (cbor2.CBORError, ValueError, TypeError, OverflowError) as exc:
        raise FormatError("cbor_unencodable", f"cannot encode value as CBOR: {type(exc).__name__}") from None


def sig_structure(protected_bytes: bytes, external_aad: bytes, payload: bytes) -> bytes:
    """``Sig_structure`` for COSE_Sign1 (RFC 9052 §4.4): ``["Signature1", body_protected, aad, payload]``."""
    return cbor2.dumps(["Signature1", protected_bytes, external_aad, payload])


def alg_for_private_key(key: PrivateKey | PublicKey) -> int:
    """The COSE algorithm implied by a key: P-256 -> ES256, P-384 -> ES384, Ed25519/Ed448 -> EdDSA."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP256R1):
            return ALG_ES256
        if isinstance(key.curve, ec.SECP384R1):
            return ALG_ES384
        raise FormatError("cose_unsupported_key", f"no supported COSE algorithm for curve {key.curve.name}")
    if isinstance(key, _EDWARDS):
        return ALG_EDDSA
    raise FormatError("cose_unsupported_key", "unsupported key type")


def _check_key_matches_alg(key: PrivateKey | PublicKey, alg: int) -> None:
    """RFC 9053 §2.1: ES256 needs P-256, ES384 needs P-384; §2.2: EdDSA needs an Edwards key."""
    if alg == ALG_EDDSA:
        ok = isinstance(key, _EDWARDS)
    elif isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        ok = (alg == ALG_ES256 and isinstance(key.curve, ec.SECP256R1)) or (
            alg == ALG_ES384 and isinstance(key.curve, ec.SECP384R1)
        )
    else:
        ok = False
    if not ok:
        raise FormatError("cose_alg_key_mismatch", f"algorithm {alg} does not fit the key")


_ECDSA: Final = {ALG_ES256: ec.ECDSA(hashes.SHA256()), ALG_ES384: ec.ECDSA(hashes.SHA384())}


def _raw_sign(key: PrivateKey, alg: int, data: bytes) -> bytes:
    _check_key_matches_alg(key, alg)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        size = (key.curve.key_size + 7) // 8
        der = key.sign(data, _ECDSA[alg])
        r, s = decode_dss_signature(der)
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return key.sign(data)


_EC_PUBLIC_TYPE: Final = type(ec.derive_private_key(1, ec.SECP256R1()).public_key())
"""The concrete class of ``cryptography``'s EC public keys (an exact type check is cheaper than the ABC's)."""
_EC_ALG_CURVES: Final = {ALG_ES256: ec.SECP256R1, ALG_ES384: ec.SECP384R1}


def _raw_verify(key: PublicKey, alg: int, signature: bytes, data: bytes) -> None:
    if type(key) is not _EC_PUBLIC_TYPE or type(key.curve) is not _EC_ALG_CURVES.get(alg):
        _check_key_matches_alg(key, alg)
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            size = (key.curve.key_size + 7) // 8
            if len(signature) != 2 * size:
                raise FormatError("cose_bad_signature", "signature has the wrong length")
            der = encode_dss_signature(int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big"))
            key.verify(der, data, _ECDSA[alg])
        else:
            key.verify(signature, data)
    except InvalidSignature:
        raise FormatError("cose_bad_signature", "signature does not verify") from None


def _header_map(value: Any, what: str) -> dict[Any, Any]:
    if not isinstance(value, CBOR_MAP_TYPES):
        raise FormatError("cose_malformed", f"{what} header is not a map")
    if not _LABEL_TYPES.issuperset(map(type, value)):
        raise FormatError("cose_malformed", f"{what} header label is not an int or text")
    return dict(value)


_LABEL_TYPES: Final = frozenset({int, str})
_ONLY_BYTES: Final = {bytes}


_EMPTY_HEADER: Final[Mapping[Any, Any]] = MappingProxyType({})
_PROTECTED_CACHE: dict[bytes, Mapping[Any, Any]] = {}
_PROTECTED_CACHE_MAX: Final = 256


def _protected_header(protected_bytes: bytes, max_bytes: int) -> Mapping[Any, Any]:
    """Decoded protected header; short ones (the same few bytes for every message of a signer) are memoised."""
    cached = _PROTECTED_CACHE.get(protected_bytes)
    if cached is not None:
        return cached
    header = MappingProxyType(
        _header_map(cbor_decode(protected_bytes, what="protected header", max_bytes=max_bytes), "protected")
    )
    if len(protected_bytes) <= 64:
        if len(_PROTECTED_CACHE) >= _PROTECTED_CACHE_MAX:
            _PROTECTED_CACHE.clear()
        _PROTECTED_CACHE[protected_bytes] = header
    return header


@dataclass(frozen=True, slots=True)
class CoseSign1:
    """A decoded COSE_Sign1 (RFC 9052 §4.2). ``protected_bytes`` are kept exactly as received."""

    protected_bytes: bytes
    protected: Mapping[Any, Any]
    unprotected: Mapping[Any, Any]
    payload: bytes | None
    signature: bytes
    tagged: bool = True
    _x5chain: tuple[bytes, ...] | None = field(default=None, repr=False, compare=False)

    @property
    def alg(self) -> int:
        """The algorithm from the protected header (RFC 9052 §3.1); absent or malformed -> FormatError."""
        alg = self.protected.get(HEADER_ALG)
        if not isinstance(alg, int) or isinstance(alg, bool):
            raise FormatError("cose_missing_alg", "protected header has no integer alg")
        return alg

    @property
    def x5chain(self) -> tuple[bytes, ...]:
        """DER certificates from ``x5chain`` (RFC 9360 §2): one bstr or an array of bstr, leaf first."""
        raw = self.protected.get(HEADER_X5CHAIN, self.unprotected.get(HEADER_X5CHAIN))
        if raw is None:
            return ()
        if isinstance(raw, bytes):
            return (raw,)
        if isinstance(raw, list | tuple) and raw and (
            set(map(type, raw)) == _ONLY_BYTES or all(isinstance(c, bytes) for c in raw)
        ):
            return tuple(raw)
        raise FormatError("cose_malformed", "x5chain is neither a bstr nor a non-empty array of bstr")

    def to_cbor_obj(self, *, tagged: bool | None = None) -> Any:
        """The CBOR structure (a list, or the list under tag 18) for embedding into a larger item."""
        arr = [self.protected_bytes, dict(self.unprotected), self.payload, self.signature]
        use_tag = self.tagged if tagged is None else tagged
        return cbor2.CBORTag(TAG_COSE_SIGN1, arr) if use_tag else arr

    def encode(self, *, tagged: bool | None = None) -> bytes:
        return cbor2.dumps(self.to_cbor_obj(tagged=tagged))

    def verify(
        self,
        public_key: PublicKey,
        *,
        allowed_algs: Iterable[int] = DEFAULT_ALLOWED_ALGS,
        detached_payload: bytes | None = None,
        external_aad: bytes = b"",
    ) -> bytes:
        """Verify the signature (RFC 9052 §4.4) and return the payload.

        The algorithm must be in the protected header and in ``allowed_algs``, and must fit ``public_key``.
        For a detached payload (``payload`` is nil) the caller passes it as ``detached_payload``.
        """
        alg = self.alg
        if alg not in allowed_algs:
            raise FormatError("cose_alg_not_allowed", f"algorithm {alg} is not allowed")
        if self.payload is None:
            if detached_payload is None:
                raise FormatError("cose_detached_payload_missing", "payload is detached and none was given")
            payload = detached_payload
        else:
            if detached_payload is not None:
                raise FormatError("cose_payload_not_detached", "payload is attached but a detached one was given")
            payload = self.payload
        _raw_verify(public_key, alg, self.signature, sig_structure(self.protected_bytes, external_aad, payload))
        return payload


def sign1(
    payload: bytes,
    key: PrivateKey,
    *,
    alg: int | None = None,
    protected: Mapping[Any, Any] | None = None,
    unprotected: Mapping[Any, Any] | None = None,
    x5chain: Sequence[bytes] | None = None,
    x5chain_protected: bool = False,
    detached: bool = False,
    external_aad: bytes = b"",
    tagged: bool = True,
) -> CoseSign1:
    """Create a COSE_Sign1 (RFC 9052 §4.2/§4.4). ``alg`` defaults to the key's algorithm.

    ``x5chain`` (DER, leaf first) goes into the unprotected header unless ``x5chain_protected`` (18013-5 puts
    it unprotected); a single certificate is encoded as a bstr, several as an array (RFC 9360 §2).
    """
    alg = alg_for_private_key(key) if alg is None else alg
    if alg not in ALG_NAMES:
        raise FormatError("cose_alg_not_allowed", f"algorithm {alg} is not supported")
    prot: dict[Any, Any] = {HEADER_ALG: alg}
    prot.update(protected or {})
    if prot[HEADER_ALG] != alg:
        raise FormatError("cose_alg_key_mismatch", "protected alg differs from the signing algorithm")
    unprot: dict[Any, Any] = dict(unprotected or {})
    if HEADER_ALG in unprot:
        raise FormatError("cose_malformed", "alg belongs in the protected header")
    if x5chain:
        chain = [bytes(c) for c in x5chain]
        (prot if x5chain_protected else unprot)[HEADER_X5CHAIN] = chain[0] if len(chain) == 1 else chain
    protected_bytes = cbor_encode(prot)
    signature = _raw_sign(key, alg, sig_structure(protected_bytes, external_aad, payload))
    return CoseSign1(
        protected_bytes=protected_bytes,
        protected=prot,
        unprotected=unprot,
        payload=None if detached else payload,
        signature=signature,
        tagged=tagged,
    )


def decode_sign1(
    data: bytes | Any,
    *,
    require_tag: bool | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> CoseSign1:
    """Parse a COSE_Sign1 from bytes or from an already-decoded CBOR item (RFC 9052 §4.2).

    ``require_tag``: True demands tag 18, False forbids any tag, None accepts both (18013-5 embeds the
    untagged form). Header shapes are checked; the signature is not (call :meth:`CoseSign1.verify`).
    """
    obj = cbor_decode(data, what="COSE_Sign1", max_bytes=max_bytes) if isinstance(data, bytes) else data
    tagged = False
    if isinstance(obj, cbor2.CBORTag):
        if obj.tag != TAG_COSE_SIGN1:
            raise FormatError("cose_malformed", f"unexpected CBOR tag {obj.tag}, expected 18")
        if require_tag is False:
            raise FormatError("cose_malformed", "a tagged COSE_Sign1 is not allowed here")
        tagged, obj = True, obj.value
    elif require_tag:
        raise FormatError("cose_malformed", "COSE_Sign1 tag 18 is required")
    if not isinstance(obj, list | tuple) or len(obj) != 4:
        raise FormatError("cose_malformed", "COSE_Sign1 is not an array of four items")
    protected_bytes, unprotected, payload, signature = obj
    if type(protected_bytes) is not bytes and not isinstance(protected_bytes, bytes):
        raise FormatError("cose_malformed", "protected header is not a bstr")
    if type(signature) is not bytes and not isinstance(signature, bytes):
        raise FormatError("cose_malformed", "signature is not a bstr")
    if payload is not None and type(payload) is not bytes and not isinstance(payload, bytes):
        raise FormatError("cose_malformed", "payload is neither a bstr nor nil")
    protected: Mapping[Any, Any] = _EMPTY_HEADER
    if protected_bytes:  # RFC 9052 §3: a zero-length bstr means an empty map
        protected = _protected_header(protected_bytes, max_bytes)
    unprot = _header_map(unprotected, "unprotected")
    if HEADER_ALG in unprot:
        raise FormatError("cose_alg_unprotected", "alg must be in the protected header")
    if unprot and not protected.keys().isdisjoint(unprot):
        raise FormatError("cose_malformed", "a header label appears in both buckets (RFC 9052 §3)")
    crit = protected.get(HEADER_CRIT)
    if crit is not None:
        if not isinstance(crit, list | tuple) or not crit:
            raise FormatError("cose_malformed", "crit is not a non-empty array")
        for label in crit:
            if label not in _UNDERSTOOD_HEADERS or label not in protected:
                raise FormatError("cose_unknown_critical_header", "a critical header is not understood")
    if HEADER_CRIT in unprot:
        raise FormatError("cose_malformed", "crit must be protected")
    return CoseSign1(
        protected_bytes=protected_bytes,
        protected=protected,
        unprotected=unprot,
        payload=payload,
        signature=signature,
        tagged=tagged,
    )


def cose_key_from_public_key(key: PublicKey) -> dict[int, Any]:
    """COSE_Key for a public key (RFC 9053 §7.1 EC2, §7.2 OKP). EC2 keys carry both coordinates."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        crv = _CURVE_IDS.get(key.curve.name)
        if crv is None:
            raise FormatError("cose_unsupported_key", f"curve {key.curve.name} has no COSE identifier here")
        size = _EC2_CURVES[crv][1]
        nums = key.public_numbers()
        return {1: _KTY_EC2, -1: crv, -2: nums.x.to_bytes(size, "big"), -3: nums.y.to_bytes(size, "big")}
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {1: _KTY_OKP, -1: _OKP_ED25519 if isinstance(key, ed25519.Ed25519PublicKey) else _OKP_ED448, -2: raw}


_EC2_KEY_CACHE: dict[tuple[int, bytes], ec.EllipticCurvePublicKey] = {}
_EC2_KEY_CACHE_MAX: Final = 1024


def public_key_from_cose_key(cose_key: Any) -> PublicKey:
    """The public key of a COSE_Key map (RFC 9053 §7); refuses private parts, unknown kty/crv, bad points."""
    if not isinstance(cose_key, Mapping):
        raise FormatError("cose_bad_key", "COSE_Key is not a map")
    if -4 in cose_key:
        raise FormatError("cose_bad_key", "COSE_Key carries a private key")
    kty = cose_key.get(1)
    crv = cose_key.get(-1)
    x = cose_key.get(-2)
    try:
        if kty == _KTY_EC2 and isinstance(crv, int) and crv in _EC2_CURVES:
            curve_cls, size = _EC2_CURVES[crv]
            y = cose_key.get(-3)
            if not isinstance(x, bytes) or len(x) != size:
                raise FormatError("cose_bad_key", "EC2 x coordinate missing or of wrong size")
            if isinstance(y, bytes) and len(y) == size:
                point = b"\x04" + x + y
            elif isinstance(y, bool):  # RFC 9053 §7.1.1: sign bit of y (point compression)
                point = (b"\x03" if y else b"\x02") + x
            else:
                raise FormatError("cose_bad_key", "EC2 y coordinate missing or of wrong size")
            # A verifier meets the same device and issuer keys again and again: remember validated points by
            # their exact encoding. This saves the point validation and, more, the first-use cost of a fresh
            # OpenSSL key object (a verification with a new key object is ~30 % slower than with a used one).
            cache_key = (crv, point)
            cached = _EC2_KEY_CACHE.get(cache_key)
            if cached is None:
                cached = ec.EllipticCurvePublicKey.from_encoded_point(curve_cls(), point)
                bounded_put(_EC2_KEY_CACHE, cache_key, cached, _EC2_KEY_CACHE_MAX)
            return cached
        if kty == _KTY_OKP and isinstance(x, bytes):
            if crv == _OKP_ED25519:
                return ed25519.Ed25519PublicKey.from_public_bytes(x)
            if crv == _OKP_ED448:
                return ed448.Ed448PublicKey.from_public_bytes(x)
    except ValueError:
        raise FormatError("cose_bad_key", "COSE_Key is not a valid public key") from None
    raise FormatError("cose_unsupported_key", "unsupported COSE_Key kty/crv")
