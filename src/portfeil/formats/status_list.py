"""Token Status List (draft-ietf-oauth-status-list-13): build, encode, sign, parse and verify.

What is here, by section of the draft:

* §4.1 the byte array: :class:`StatusList`, 1, 2, 4 or 8 bits per Referenced Token, bits counted from the least
  significant bit of each byte, compressed with DEFLATE in the ZLIB format (highest level).
* §4.2 / §4.3 the JSON (``{"bits", "lst"}``, ``lst`` base64url) and CBOR (``lst`` a byte string) forms.
* §5.1 / §5.2 the Status List Token as a JWT (``typ`` ``statuslist+jwt``) and as a CWT (COSE_Sign1, protected
  header 16 ``application/statuslist+cwt``; claims 2 sub, 6 iat, 4 exp, 65534 ttl, 65533 status_list).
* §6.2 / §6.3 the ``status`` claim of a Referenced Token: :func:`parse_status_claim`.
* §7 the status types :data:`VALID`, :data:`INVALID`, :data:`SUSPENDED`, :data:`APPLICATION_SPECIFIC`.
* §8.3 the validation rules: :func:`verify_status_list_jwt`, :func:`verify_status_list_cwt`,
  :func:`verify_status_list_token`; then :meth:`StatusListToken.status_of` (an index out of bounds fails).
* §9.3 Status List Aggregation: :func:`parse_status_list_aggregation`; §13.7 / §11.5 caching:
  :meth:`StatusListToken.refresh_at`.
* §12.4, §12.5.1, §13.3 non-sequential indices without double allocation: :class:`IndexAllocator`.

Safety: every parser here raises only :class:`~portfeil.formats.FormatError`; the decompressor stops at
``max_bytes`` (default :data:`DEFAULT_MAX_BYTES`), so a ZLIB bomb cannot exhaust memory.

Signatures go through the shared :mod:`portfeil.formats.jws` (JWT) and :mod:`portfeil.formats.cose` (CWT)
layers: algorithm allow-list (ES256, ES384, EdDSA), key/algorithm match, ``crit`` refused, hardened CBOR; their
error codes are restated as ``status_list_*`` codes (the original in ``details["cause"]``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from portfeil.errors import PortfeilError
from portfeil.formats import cose as _cose
from portfeil.formats import jws as _jws
from portfeil.formats.errors import FormatError

__all__ = [
    "APPLICATION_SPECIFIC",
    "CWT_CLAIM_EXP",
    "CWT_CLAIM_IAT",
    "CWT_CLAIM_STATUS",
    "CWT_CLAIM_STATUS_LIST",
    "CWT_CLAIM_SUB",
    "CWT_CLAIM_TTL",
    "CWT_TYP",
    "DEFAULT_ALGORITHMS",
    "DEFAULT_MAX_BYTES",
    "INVALID",
    "JWT_TYP",
    "SUSPENDED",
    "VALID",
    "AllocatorState",
    "ChainValidatorLike",
    "IndexAllocator",
    "StatusList",
    "StatusListToken",
    "StatusReference",
    "issue_status_list_cwt",
    "issue_status_list_jwt",
    "parse_status_claim",
    "parse_status_list_aggregation",
    "verify_status_list_cwt",
    "verify_status_list_jwt",
    "verify_status_list_token",
]

# --- §7.1 Status Types -------------------------------------------------------------------------------------------
VALID: Final = 0x00
INVALID: Final = 0x01
SUSPENDED: Final = 0x02
APPLICATION_SPECIFIC: Final = 0x03  # 0x0B-0x0F are application specific as well (§7.1)

ALLOWED_BITS: Final = (1, 2, 4, 8)

#: Largest decompressed byte array accepted by default: 16 MiB, i.e. 16 million 8-bit or 134 million 1-bit statuses.
DEFAULT_MAX_BYTES: Final = 16 * 1024 * 1024
#: Largest serialized Status List Token accepted by default (a 16 MiB list of random statuses stays below this).
DEFAULT_MAX_TOKEN_BYTES: Final = 32 * 1024 * 1024

# --- §5.1 / §5.2 / §6.3 / §14.3 token constants --------------------------------------------------------------------
JWT_TYP: Final = "statuslist+jwt"
CWT_TYP: Final = "application/statuslist+cwt"
CWT_CLAIM_SUB: Final = 2
CWT_CLAIM_EXP: Final = 4
CWT_CLAIM_IAT: Final = 6
CWT_CLAIM_STATUS_LIST: Final = 65533
CWT_CLAIM_TTL: Final = 65534
CWT_CLAIM_STATUS: Final = 65535
_COSE_TYP: Final = 16  # RFC 9596 "typ" header parameter

#: Signature algorithms accepted by default: those of the shared JOSE/COSE layers (ES256, ES384, EdDSA); never
#: ``none``, never a MAC.
DEFAULT_ALGORITHMS: Final = _jws.ALLOWED_ALGORITHMS

PrivateKey = _jws.JWSPrivateKey
PublicKey = _jws.JWSPublicKey


# ================================================================================================================
# §4 Status List
# ================================================================================================================


def _check_bits(bits: object) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int) or bits not in ALLOWED_BITS:
        raise FormatError("status_list_invalid_bits", "bits must be 1, 2, 4 or 8")
    return bits


def _b64url_decode(value: object, code: str) -> bytes:
    """Strict base64url (the shared :func:`jws.b64url_decode`), failures restated with this module's ``code``."""
    if not isinstance(value, str):
        raise FormatError(code, "not base64url without padding")
    try:
        return _jws.b64url_decode(value)
    except FormatError as exc:
        raise FormatError(code, "not base64url without padding") from exc


_b64url_encode = _jws.b64url_encode


def _inflate(data: bytes, max_bytes: int) -> bytes:
    """§4.1 step 4 / §8.3 step 5: ZLIB (RFC 1950) DEFLATE (RFC 1951) decompression with a hard output cap."""
    if not data:
        raise FormatError("status_list_invalid_zlib", "empty compressed status list")
    if max_bytes <= 0:  # zlib reads a max_length of 0 as "no limit"
        raise FormatError("status_list_too_large", "the decompressed size limit must be positive")
    inflater = zlib.decompressobj(wbits=15)
    try:
        out = inflater.decompress(data, max_bytes)
        tail = inflater.unconsumed_tail
        while tail and not inflater.eof:
            # output stopped at the cap with input left: fine only if that input yields no more bytes (e.g. the
            # end-of-block code and Adler-32 trailer); any further byte means a list over the limit or a bomb
            if inflater.decompress(tail, 1):
                raise FormatError("status_list_too_large", f"decompressed status list exceeds {max_bytes} bytes")
            if len(inflater.unconsumed_tail) >= len(tail):
                break
            tail = inflater.unconsumed_tail
        out += inflater.flush()
    except zlib.error as exc:
        raise FormatError("status_list_invalid_zlib", "status list is not valid ZLIB/DEFLATE data") from exc
    if len(out) > max_bytes:
        raise FormatError("status_list_too_large", f"decompressed status list exceeds {max_bytes} bytes")
    if not inflater.eof:
        raise FormatError("status_list_invalid_zlib", "truncated ZLIB stream")
    if inflater.unused_data:
        raise FormatError("status_list_invalid_zlib", "trailing data after the ZLIB stream")
    return out


class StatusList:
    """§4.1: the statuses of many Referenced Tokens, ``bits`` bits each, in a byte array.

    Index ``i`` lives in byte ``i // (8 // bits)`` at bit offset ``(i % (8 // bits)) * bits`` counted from the least
    significant bit (§4.1 step 3, §11.1). Unused entries hold the default value (§13.3, normally :data:`VALID`).
    """

    __slots__ = ("_bits", "_data", "_mask", "_per_byte", "_shift", "aggregation_uri")

    def __init__(self, size: int, bits: int = 1, *, default: int = VALID, aggregation_uri: str | None = None):
        self._bits = _check_bits(bits)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise FormatError("status_list_invalid_size", "size must be a non-negative integer")
        self._per_byte = 8 // self._bits
        self._shift = self._per_byte.bit_length() - 1  # log2(entries per byte)
        self._mask = (1 << self._bits) - 1
        self._check_value(default)
        n_bytes = -(-size // self._per_byte)  # §13.4: whole bytes
        fill = 0
        for slot in range(self._per_byte):
            fill |= default << (slot * self._bits)
        self._data = bytearray([fill]) * n_bytes
        self.aggregation_uri = aggregation_uri

    # -- construction from bytes -----------------------------------------------------------------------------
    @classmethod
    def from_bytes(cls, data: bytes | bytearray, bits: int, *, aggregation_uri: str | None = None) -> StatusList:
        """A list over an uncompressed byte array (copied); its size is ``len(data) * 8 // bits``."""
        out = cls(0, bits, aggregation_uri=aggregation_uri)
        out._data = bytearray(data)
        return out

    @classmethod
    def from_compressed(
        cls, compressed: bytes, bits: int, *, max_bytes: int = DEFAULT_MAX_BYTES, aggregation_uri: str | None = None
    ) -> StatusList:
        """§4.1: decompress a ZLIB byte array, refusing more than ``max_bytes`` of output."""
        _check_bits(bits)
        return cls.from_bytes(_inflate(compressed, max_bytes), bits, aggregation_uri=aggregation_uri)

    @classmethod
    def from_json(cls, obj: object, *, max_bytes: int = DEFAULT_MAX_BYTES) -> StatusList:
        """§4.2: parse ``{"bits": 1|2|4|8, "lst": base64url(zlib(bytes)), "aggregation_uri"?: str}``."""
        if not isinstance(obj, Mapping):
            raise FormatError("status_list_invalid", "status_list must be a JSON object")
        if "bits" not in obj or "lst" not in obj:
            raise FormatError("status_list_invalid", "status_list needs bits and lst")
        bits = _check_bits(obj["bits"])
        agg = obj.get("aggregation_uri")
        if agg is not None and not isinstance(agg, str):
            raise FormatError("status_list_invalid", "aggregation_uri must be a string")
        compressed = _b64url_decode(obj["lst"], "status_list_invalid_lst")
        return cls.from_compressed(compressed, bits, max_bytes=max_bytes, aggregation_uri=agg)

    @classmethod
    def from_cbor_map(cls, obj: object, *, max_bytes: int = DEFAULT_MAX_BYTES) -> StatusList:
        """§4.3: parse a decoded CBOR ``StatusList`` map (``lst`` a byte string)."""
        if not isinstance(obj, Mapping):
            raise FormatError("status_list_invalid", "StatusList must be a CBOR map")
        if "bits" not in obj or "lst" not in obj:
            raise FormatError("status_list_invalid", "StatusList needs bits and lst")
        bits = _check_bits(obj["bits"])
        lst = obj["lst"]
        if not isinstance(lst, bytes):
            raise FormatError("status_list_invalid_lst", "lst must be a byte string")
        agg = obj.get("aggregation_uri")
        if agg is not None and not isinstance(agg, str):
            raise FormatError("status_list_invalid", "aggregation_uri must be a text string")
        return cls.from_compressed(lst, bits, max_bytes=max_bytes, aggregation_uri=agg)

    @classmethod
    def from_cbor(cls, data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> StatusList:
        """§4.3: parse CBOR-encoded ``StatusList`` bytes."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise FormatError("status_list_invalid", "CBOR StatusList must be bytes")
        try:
            obj = _cose.cbor_decode(bytes(data), what="StatusList", max_bytes=max(2 * max_bytes, 1024))
        except FormatError as exc:
            raise FormatError("status_list_invalid", "StatusList is not valid CBOR", cause=exc.code) from exc
        return cls.from_cbor_map(obj, max_bytes=max_bytes)

    # -- access ----------------------------------------------------------------------------------------------------
    @property
    def bits(self) -> int:
        return self._bits

    @property
    def size(self) -> int:
        """Number of entries (whole bytes, so possibly more than the issuer meant to use)."""
        return len(self._data) << self._shift

    def __len__(self) -> int:
        return self.size

    def _check_index(self, index: int) -> None:
        if isinstance(index, bool) or not isinstance(index, int):
            raise FormatError("status_list_invalid_index", "index must be an integer")
        if index < 0 or index >= self.size:
            raise FormatError("status_list_index_out_of_range", "index is outside the status list")

    def _check_value(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= self._mask:
            raise FormatError("status_list_invalid_value", f"status must fit in {self._bits} bits")

    def get(self, index: int) -> int:
        """§4.1 / §8.3 step 6: the status at ``index``; an index out of bounds is an error."""
        self._check_index(index)
        if self._bits == 8:
            return self._data[index]
        shift = (index & (self._per_byte - 1)) * self._bits
        return (self._data[index >> self._shift] >> shift) & self._mask

    def set(self, index: int, value: int) -> None:
        """§4.1 step 3: set the status at ``index`` to ``value`` (< 2**bits)."""
        self._check_index(index)
        self._check_value(value)
        if self._bits == 8:
            self._data[index] = value
            return
        shift = (index & (self._per_byte - 1)) * self._bits
        pos = index >> self._shift
        self._data[pos] = (self._data[pos] & ~(self._mask << shift) & 0xFF) | (value << shift)

    def set_many(self, indices: Sequence[int] | Any, value: int) -> None:
        """Set many entries to the same status (e.g. a batch revocation)."""
        self._check_value(value)
        for index in indices:
            self.set(index, value)

    __getitem__ = get
    __setitem__ = set

    def count(self, value: int) -> int:
        """How many entries hold ``value`` (handy for statistics and tests)."""
        self._check_value(value)
        if self._bits == 8:
            return self._data.count(value)
        total = 0
        for byte in range(256):
            per = sum(1 for s in range(self._per_byte) if (byte >> (s * self._bits)) & self._mask == value)
            if per:
                total += per * self._data.count(byte)
        return total

    def to_bytes(self) -> bytes:
        """§4.1: the uncompressed byte array."""
        return bytes(self._data)

    def compress(self, level: int = 9) -> bytes:
        """§4.1 step 4: ZLIB/DEFLATE, highest compression level by default (RECOMMENDED)."""
        return zlib.compress(self._data, level)

    def to_json(self, *, level: int = 9) -> dict[str, Any]:
        """§4.2: the JSON ``StatusList`` object."""
        out: dict[str, Any] = {"bits": self._bits, "lst": _b64url_encode(self.compress(level))}
        if self.aggregation_uri is not None:
            out["aggregation_uri"] = self.aggregation_uri
        return out

    def to_cbor_map(self, *, level: int = 9) -> dict[str, Any]:
        """§4.3: the CBOR ``StatusList`` map (before encoding)."""
        out: dict[str, Any] = {"bits": self._bits, "lst": self.compress(level)}
        if self.aggregation_uri is not None:
            out["aggregation_uri"] = self.aggregation_uri
        return out

    def to_cbor(self, *, level: int = 9) -> bytes:
        """§4.3: CBOR-encoded ``StatusList``."""
        return bytes(cbor2.dumps(self.to_cbor_map(level=level)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StatusList):
            return NotImplemented
        return self._bits == other._bits and self._data == other._data

    def __hash__(self) -> int:  # mutable: identity hash would lie about equality
        raise TypeError("StatusList is mutable and unhashable")

    def __repr__(self) -> str:
        return f"StatusList(size={self.size}, bits={self._bits})"


# ================================================================================================================
# §6 Referenced Token: the status claim
# ================================================================================================================


@dataclass(frozen=True, slots=True)
class StatusReference:
    """§6.2 / §6.3: ``status.status_list`` of a Referenced Token: where its status lives."""

    idx: int
    uri: str


def _is_uri(value: str) -> bool:
    # RFC 3986 §3: scheme ":" hier-part; a scheme starts with a letter. No spaces or control characters.
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f\x7f]+", value))


def parse_status_claim(status: object) -> StatusReference:
    """§6.2 (JOSE) and §6.3 (COSE, text keys) ``status`` claim: validate the ``status_list`` shape (§8.3 step 1).

    ``status`` is the value of the claim (``payload["status"]`` or ``cwt_claims[65535]``, or the MSO ``status``).
    Other status mechanisms may sit beside ``status_list``; they are ignored here.
    """
    if not isinstance(status, Mapping):
        raise FormatError("status_claim_invalid", "status must be an object")
    if "status_list" not in status:
        raise FormatError("status_claim_missing_status_list", "status has no status_list member")
    ref = status["status_list"]
    if not isinstance(ref, Mapping):
        raise FormatError("status_claim_invalid", "status_list must be an object")
    idx = ref.get("idx")
    if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0:
        raise FormatError("status_claim_invalid_idx", "idx must be a non-negative integer")
    uri = ref.get("uri")
    if not isinstance(uri, str) or not _is_uri(uri):
        raise FormatError("status_claim_invalid_uri", "uri must be a URI")
    return StatusReference(idx=idx, uri=uri)


# ================================================================================================================
# JOSE / COSE: the shared portfeil.formats.jws and portfeil.formats.cose modules
# ================================================================================================================

ChainValidatorLike = _jws.ChainValidatorLike
"""What :class:`portfeil.pki.chains.ChainValidator` offers: ``validate(chain_der, now=...) -> leaf``."""

# Codes of the shared JOSE/COSE layers, restated in this module's vocabulary (the original code stays in
# ``details["cause"]``), so callers see one stable set of ``status_list_*`` codes.
_LAYER_CODES: Final[Mapping[str, str]] = {
    "bad_signature": "status_list_invalid_signature",
    "cose_bad_signature": "status_list_invalid_signature",
    "unsupported_alg": "status_list_alg_not_allowed",
    "cose_alg_not_allowed": "status_list_alg_not_allowed",
    "cose_missing_alg": "status_list_alg_not_allowed",
    "cose_alg_unprotected": "status_list_alg_not_allowed",
    "alg_key_mismatch": "status_list_key_mismatch",
    "cose_alg_key_mismatch": "status_list_key_mismatch",
    "cose_unsupported_key": "status_list_key_mismatch",
    "cose_bad_key": "status_list_key_mismatch",
    "invalid_typ": "status_list_wrong_typ",
    "unsupported_crit": "status_list_unsupported_crit",
    "cose_unknown_critical_header": "status_list_unsupported_crit",
    "untrusted_issuer": "status_list_untrusted_chain",
    "invalid_x5c": "status_list_invalid_x5c",
    "missing_key": "status_list_no_key",
    "jws_too_large": "status_list_token_too_large",
    "cbor_too_large": "status_list_token_too_large",
}


def _restate(exc: FormatError) -> FormatError:
    code = _LAYER_CODES.get(exc.code, "status_list_token_invalid")
    return FormatError(code, exc.message, cause=exc.code)


def _alg_for_key(key: PrivateKey | PublicKey) -> str:
    try:
        return _jws.alg_for_key(key)
    except FormatError as exc:
        raise FormatError("status_list_unsupported_key", "unsupported signing key") from exc


def _cose_algs(algorithms: Collection[str]) -> frozenset[int]:
    return frozenset(cose_alg for cose_alg, name in _cose.ALG_NAMES.items() if name in algorithms)


# ================================================================================================================
# §5 Status List Token
# ================================================================================================================


@dataclass(frozen=True, slots=True)
class StatusListToken:
    """A verified Status List Token (§5): its claims and the decoded list."""

    sub: str
    iat: int
    status_list: StatusList
    exp: int | None = None
    ttl: int | None = None
    form: Literal["jwt", "cwt"] = "jwt"
    header: Mapping[Any, Any] = field(default_factory=dict)
    claims: Mapping[Any, Any] = field(default_factory=dict)

    @property
    def bits(self) -> int:
        return self.status_list.bits

    def status_of(self, idx: int) -> int:
        """§8.3 step 6: the status value at ``idx``; an index outside the list is an error."""
        return self.status_list.get(idx)

    def status_of_reference(self, ref: StatusReference) -> int:
        """§8.3 step 4a + 6: check ``sub`` equals the reference's ``uri``, then read its status."""
        if ref.uri != self.sub:
            raise FormatError("status_list_sub_mismatch", "token subject differs from the referenced uri")
        return self.status_of(ref.idx)

    def refresh_at(self, fetched_at: datetime, *, min_ttl: int = 60, max_ttl: int = 7 * 86400) -> datetime:
        """§13.7 / §11.5: when a cached copy fetched at ``fetched_at`` should be fetched again.

        ``fetched_at + ttl`` (the RECOMMENDED reading), never later than ``exp``; without ``ttl``, at ``exp``;
        with neither, after ``max_ttl``. ``ttl`` is clamped to ``[min_ttl, max_ttl]`` so that a hostile or
        careless issuer cannot make clients hammer the Status Provider, nor keep a stale list for months.
        """
        ts = _timestamp(fetched_at)
        ttl = max_ttl if self.ttl is None else min(max(self.ttl, min_ttl), max_ttl)
        when = ts + ttl
        if self.exp is not None:
            when = min(when, self.exp)
        return datetime.fromtimestamp(when, tz=UTC)


def parse_status_list_aggregation(obj: object) -> tuple[str, ...]:
    """§9.3: a Status List Aggregation (``{"status_lists": [uri, ...]}``, ``application/json``)."""
    if not isinstance(obj, Mapping):
        raise FormatError("status_list_aggregation_invalid", "aggregation must be a JSON object")
    lists = obj.get("status_lists")
    if not isinstance(lists, list) or not all(isinstance(u, str) and _is_uri(u) for u in lists):
        raise FormatError("status_list_aggregation_invalid", "status_lists must be an array of URIs")
    return tuple(lists)


def _timestamp(now: datetime) -> int:
    if now.tzinfo is None:
        raise FormatError("status_list_naive_time", "now must be timezone-aware")
    return int(now.timestamp())


def _check_times(
    iat: object, exp: object, ttl: object, now: datetime, leeway: int
) -> tuple[int, int | None, int | None]:
    """§5.1 / §5.2 / §8.3 step 4b-c: iat required, exp checked when present, ttl a positive number."""
    ts = _timestamp(now)
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise FormatError("status_list_missing_iat", "iat is required and must be a number")
    if iat > ts + leeway:
        raise FormatError("status_list_iat_in_future", "token is issued in the future")
    if exp is not None:
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            raise FormatError("status_list_invalid_exp", "exp must be a number")
        if exp <= ts - leeway:
            raise FormatError("status_list_expired", "status list token has expired")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl <= 0):
        raise FormatError("status_list_invalid_ttl", "ttl must be a positive number")
    return (
        int(iat),
        None if exp is None else int(exp),
        None if ttl is None else int(ttl),
    )


def _check_sub(sub: object, uri: str) -> str:
    if not isinstance(sub, str):
        raise FormatError("status_list_missing_sub", "sub is required and must be a string")
    if sub != uri:
        raise FormatError("status_list_sub_mismatch", "token subject differs from the fetched uri")
    return sub


# -- JWT (§5.1) ------------------------------------------------------------------------------------------------------


def issue_status_list_jwt(
    status_list: StatusList,
    *,
    uri: str,
    key: PrivateKey,
    now: datetime,
    exp: int | None = None,
    ttl: int | None = None,
    x5c: Sequence[x509.Certificate] | None = None,
    kid: str | None = None,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """§5.1: sign a Status List Token in JWT form (``typ`` ``statuslist+jwt``; ``sub``, ``iat``, ``exp``, ``ttl``)."""
    _alg_for_key(key)
    payload: dict[str, Any] = dict(extra_claims or {})
    payload.update({"sub": uri, "iat": _timestamp(now), "status_list": status_list.to_json()})
    if exp is not None:
        payload["exp"] = exp
    if ttl is not None:
        if ttl <= 0:
            raise FormatError("status_list_invalid_ttl", "ttl must be positive")
        payload["ttl"] = ttl
    header = {"kid": kid} if kid is not None else None
    try:
        return _jws.sign_compact(payload, key, typ=JWT_TYP, x5c=tuple(x5c or ()), header=header)
    except FormatError as exc:
        raise _restate(exc) from exc


def verify_status_list_jwt(
    token: str,
    *,
    uri: str,
    now: datetime,
    key: PublicKey | None = None,
    chain_validator: ChainValidatorLike | None = None,
    algorithms: Collection[str] = DEFAULT_ALGORITHMS,
    leeway: int = 60,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_token_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
) -> StatusListToken:
    """§8.3 steps 3-5 for a JWT Status List Token fetched from ``uri``.

    Checks ``typ`` (``statuslist+jwt``, or with the ``application/`` prefix RFC 7515 §4.1.9 allows), the
    algorithm allow-list, the signature (``key``, or the ``x5c`` chain through ``chain_validator``), then
    ``sub == uri``, ``iat``, ``exp`` and ``ttl``, and decompresses ``status_list`` under ``max_bytes``.
    """
    _timestamp(now)
    try:
        verified = _jws.verify_compact(
            token,
            key=key,
            trust=chain_validator,
            now=now,
            typ=(JWT_TYP, "application/" + JWT_TYP),
            algorithms=algorithms,
            max_size=max_token_bytes,
        )
    except FormatError as exc:
        raise _restate(exc) from exc
    payload = verified.payload
    sub = _check_sub(payload.get("sub"), uri)
    iat, exp, ttl = _check_times(payload.get("iat"), payload.get("exp"), payload.get("ttl"), now, leeway)
    if "status_list" not in payload:
        raise FormatError("status_list_missing", "status_list claim is required")
    sl = StatusList.from_json(payload["status_list"], max_bytes=max_bytes)
    return StatusListToken(
        sub=sub, iat=iat, exp=exp, ttl=ttl, status_list=sl, form="jwt", header=verified.header, claims=payload
    )


# -- CWT (§5.2) ------------------------------------------------------------------------------------------------------


def issue_status_list_cwt(
    status_list: StatusList,
    *,
    uri: str,
    key: PrivateKey,
    now: datetime,
    exp: int | None = None,
    ttl: int | None = None,
    x5chain: Sequence[x509.Certificate] | None = None,
    kid: bytes | None = None,
) -> bytes:
    """§5.2: sign a Status List Token as a CWT: tagged COSE_Sign1 (RFC 9052) with protected ``typ`` (16, RFC 9596)
    ``application/statuslist+cwt``; claims 2 sub, 6 iat, 4 exp, 65534 ttl, 65533 status_list. An ``x5chain``
    goes into the protected header, so the chain is covered by the signature."""
    _alg_for_key(key)
    claims: dict[int, Any] = {CWT_CLAIM_SUB: uri, CWT_CLAIM_IAT: _timestamp(now)}
    if exp is not None:
        claims[CWT_CLAIM_EXP] = exp
    if ttl is not None:
        if ttl <= 0:
            raise FormatError("status_list_invalid_ttl", "ttl must be positive")
        claims[CWT_CLAIM_TTL] = ttl
    claims[CWT_CLAIM_STATUS_LIST] = status_list.to_cbor_map()
    chain = [c.public_bytes(serialization.Encoding.DER) for c in x5chain or ()]
    try:
        signed = _cose.sign1(
            _cose.cbor_encode(claims),
            key,
            protected={_COSE_TYP: CWT_TYP},
            unprotected={_cose.HEADER_KID: kid} if kid is not None else None,
            x5chain=chain or None,
            x5chain_protected=True,
        )
    except FormatError as exc:
        raise _restate(exc) from exc
    return signed.encode(tagged=True)


def verify_status_list_cwt(
    token: bytes,
    *,
    uri: str,
    now: datetime,
    key: PublicKey | None = None,
    chain_validator: ChainValidatorLike | None = None,
    algorithms: Collection[str] = DEFAULT_ALGORITHMS,
    leeway: int = 60,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_token_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
) -> StatusListToken:
    """§8.3 steps 3-5 for a CWT Status List Token fetched from ``uri`` (same checks as the JWT form; ``typ``
    must be in the protected header)."""
    _timestamp(now)
    if not isinstance(token, bytes | bytearray | memoryview):
        raise FormatError("status_list_token_invalid", "a CWT must be bytes")
    try:
        sign1 = _cose.decode_sign1(bytes(token), max_bytes=max_token_bytes)
        if sign1.protected.get(_COSE_TYP) != CWT_TYP:
            raise FormatError("status_list_wrong_typ", "protected typ must be application/statuslist+cwt")
        allowed = _cose_algs(algorithms)
        if sign1.alg not in allowed:
            raise FormatError("status_list_alg_not_allowed", "signature algorithm is not allowed")
        pub = key if key is not None else _key_from_x5chain(sign1, chain_validator, now)
        payload = sign1.verify(pub, allowed_algs=allowed)
        claims = _cose.cbor_decode(payload, what="CWT claims", max_bytes=max_token_bytes)
    except FormatError as exc:
        if exc.code.startswith("status_list_"):
            raise
        raise _restate(exc) from exc
    if not isinstance(claims, Mapping):
        raise FormatError("status_list_token_invalid", "CWT claims must be a map")
    sub = _check_sub(claims.get(CWT_CLAIM_SUB), uri)
    raw_ttl = claims.get(CWT_CLAIM_TTL)
    if raw_ttl is not None and (isinstance(raw_ttl, bool) or not isinstance(raw_ttl, int)):
        raise FormatError("status_list_invalid_ttl", "ttl must be an unsigned integer")
    iat, exp, ttl = _check_times(claims.get(CWT_CLAIM_IAT), claims.get(CWT_CLAIM_EXP), raw_ttl, now, leeway)
    if CWT_CLAIM_STATUS_LIST not in claims:
        raise FormatError("status_list_missing", "status list claim (65533) is required")
    sl = StatusList.from_cbor_map(claims[CWT_CLAIM_STATUS_LIST], max_bytes=max_bytes)
    return StatusListToken(
        sub=sub, iat=iat, exp=exp, ttl=ttl, status_list=sl, form="cwt", header=sign1.protected, claims=claims
    )


def _key_from_x5chain(sign1: _cose.CoseSign1, trust: ChainValidatorLike | None, now: datetime) -> PublicKey:
    """§8.3 step 3a / §11.3: the leaf key of an ``x5chain`` that ``trust`` validates."""
    if trust is None:
        raise FormatError("status_list_no_key", "no verification key and no chain validator")
    chain = sign1.x5chain
    if not chain:
        raise FormatError("status_list_no_key", "token carries no certificate chain")
    try:
        leaf = trust.validate(chain, now=now)
    except FormatError:
        raise
    except PortfeilError as exc:
        raise FormatError("status_list_untrusted_chain", "certificate chain is not trusted", cause=exc.code) from exc
    except (ValueError, TypeError) as exc:
        raise FormatError("status_list_untrusted_chain", "certificate chain is not trusted") from exc
    pub = leaf.public_key()
    if not isinstance(pub, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise FormatError("status_list_key_mismatch", "unsupported leaf key type")
    return pub


def verify_status_list_token(
    token: str | bytes,
    *,
    uri: str,
    now: datetime,
    key: PublicKey | None = None,
    chain_validator: ChainValidatorLike | None = None,
    algorithms: Collection[str] = DEFAULT_ALGORITHMS,
    leeway: int = 60,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> StatusListToken:
    """§8.2: a JWT arrives as text (``application/statuslist+jwt``), a CWT as bytes (``application/statuslist+cwt``)."""
    if isinstance(token, str):
        return verify_status_list_jwt(
            token, uri=uri, now=now, key=key, chain_validator=chain_validator, algorithms=algorithms,
            leeway=leeway, max_bytes=max_bytes,
        )  # fmt: skip
    if isinstance(token, bytes | bytearray):
        return verify_status_list_cwt(
            bytes(token), uri=uri, now=now, key=key, chain_validator=chain_validator, algorithms=algorithms,
            leeway=leeway, max_bytes=max_bytes,
        )  # fmt: skip
    raise FormatError("status_list_token_invalid", "token must be text (JWT) or bytes (CWT)")


# ================================================================================================================
# §12.4 / §12.5.1 / §13.3 index allocation without revealing issuance order
# ================================================================================================================


@dataclass(frozen=True, slots=True)
class AllocatorState:
    """What a service persists for an :class:`IndexAllocator`: the list size, the secret key and the counter.

    The key is a secret (it maps issuance order to indices): store it like other key material.
    """

    size: int
    key: bytes
    counter: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"size": self.size, "key": _b64url_encode(self.key), "counter": self.counter}

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> AllocatorState:
        try:
            size, counter = obj["size"], obj["counter"]
            key = _b64url_decode(obj["key"], "status_list_allocator_invalid")
        except (KeyError, TypeError) as exc:
            raise FormatError("status_list_allocator_invalid", "allocator state needs size, key, counter") from exc
        for v in (size, counter):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise FormatError("status_list_allocator_invalid", "size and counter must be non-negative")
        if counter > size or len(key) < 16:
            raise FormatError("status_list_allocator_invalid", "counter beyond size or key too short")
        return cls(size=size, key=key, counter=counter)


class IndexAllocator:
    """Hands out every index of ``[0, size)`` exactly once, in an order that looks random without the key.

    Choice (draft §12.4, §12.5.1 "non-sequential, pseudo-random or random indices"; §13.3 "prevent double
    allocation"): the n-th allocation returns ``P_key(n)`` where ``P_key`` is a keyed pseudo-random permutation
    of ``[0, size)``: a balanced Feistel network over ``2*h`` bits (``4**h >= size``) with
    :data:`FEISTEL_ROUNDS` rounds whose round function is HMAC-SHA-256(key, round || half), restricted to
    ``[0, size)`` by cycle walking (re-apply until the value falls inside; expected < 4 steps). Because it is a
    permutation driven by a counter it never repeats, needs no table of used indices (O(1) memory: the counter
    and the key) and the state survives restarts. Without the key, the indices reveal neither the order of
    issuance nor how many tokens were issued (unused entries stay VALID, §13.3).
    """

    FEISTEL_ROUNDS: Final = 8

    def __init__(self, size: int, key: bytes | None = None, counter: int = 0) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise FormatError("status_list_allocator_invalid", "size must be a positive integer")
        if isinstance(counter, bool) or not isinstance(counter, int) or not 0 <= counter <= size:
            raise FormatError("status_list_allocator_invalid", "counter must be within [0, size]")
        self._key = secrets.token_bytes(32) if key is None else bytes(key)
        if len(self._key) < 16:
            raise FormatError("status_list_allocator_invalid", "key must have at least 128 bits")
        self._size = size
        self._counter = counter
        half_bits = max(1, -(-max(size - 1, 1).bit_length() // 2))
        self._half_bits = half_bits
        self._half_mask = (1 << half_bits) - 1
        # one keyed HMAC state per round, copied per call (saves re-keying on every round)
        self._round_macs = [
            hmac.new(
                hmac.new(self._key, b"portfeil-status-index" + bytes([r]), hashlib.sha256).digest(),
                digestmod=hashlib.sha256,
            )
            for r in range(self.FEISTEL_ROUNDS)
        ]

    @classmethod
    def from_state(cls, state: AllocatorState) -> IndexAllocator:
        return cls(state.size, state.key, state.counter)

    @property
    def state(self) -> AllocatorState:
        """The state to persist after each allocation (persist before handing the index out)."""
        return AllocatorState(size=self._size, key=self._key, counter=self._counter)

    @property
    def size(self) -> int:
        return self._size

    @property
    def remaining(self) -> int:
        return self._size - self._counter

    def _round(self, r: int, value: int) -> int:
        mac = self._round_macs[r].copy()
        mac.update(value.to_bytes(8, "big"))
        return int.from_bytes(mac.digest()[:8], "big") & self._half_mask

    def _feistel(self, x: int) -> int:
        hb, mask = self._half_bits, self._half_mask
        left, right = x >> hb, x & mask
        for r in range(self.FEISTEL_ROUNDS):
            left, right = right, left ^ self._round(r, right)
        return (left << hb) | right

    def permute(self, n: int) -> int:
        """The index for allocation number ``n`` (0-based), a bijection on ``[0, size)``."""
        if not 0 <= n < self._size:
            raise FormatError("status_list_allocator_invalid", "n outside the list")
        x = self._feistel(n)
        while x >= self._size:  # cycle walking keeps it a permutation of [0, size)
            x = self._feistel(x)
        return x

    def allocate(self) -> int:
        """§13.3: a fresh, never-used index; :class:`FormatError` ``status_list_full`` when all are used."""
        if self._counter >= self._size:
            raise FormatError("status_list_full", "every index of this status list is allocated")
        idx = self.permute(self._counter)
        self._counter += 1
        return idx
