"""Selective Disclosure for JWTs (RFC 9901) and the SD-JWT VC profile (draft-ietf-oauth-sd-jwt-vc-13).

Three roles, one module:

* **issue** (RFC 9901 §4): :func:`issue_sd_jwt`, :func:`issue_sd_jwt_vc`: every chosen object property, nested
  claim (each one on its own, PID Rulebook PID_21) and array element becomes a Disclosure; decoy digests; random
  128-bit salts; ``_sd_alg`` sha-256; ``cnf.jwk`` holder binding; SD-JWT VC header ``typ: dc+sd-jwt`` with
  ``x5c``.
* **present** (RFC 9901 §4.3, §4.3.1): :func:`present` picks Disclosures by claim path (parents follow) and adds
  a Key Binding JWT (``typ: kb+jwt``, ``aud``, ``nonce``, ``iat``, ``sd_hash``).
* **verify** (RFC 9901 §7.1-§7.3, SD-JWT VC §3): :func:`verify_sd_jwt`, :func:`verify_sd_jwt_vc` return a
  :class:`VerifiedSdJwt` with the disclosed claims as a plain dict.

Every MUST of RFC 9901 §7 is enforced, including those other Python verifiers skip (SPECS.md §6): a Disclosure
that no digest references is refused (``unreferenced_disclosure``, §7.1 step 5), as are duplicate Disclosures
and digests, claim-name clashes, reserved claim names in Disclosures, stale or future Key Binding JWTs (§7.3)
and expired credentials. Beyond the RFC, on purpose: duplicate JSON member names are refused (RFC 7519 would
let the last one win) and an array element holding ``...`` next to other keys is refused, not read as a plain
object. Only :class:`~portfeil.formats.FormatError` escapes, whatever the input.

Claim paths are tuples like ``("address", "locality")`` or ``("nationalities", 0)``; in requests (``present``)
``None`` stands for every element of an array, as in DCQL claim paths (OpenID4VP 1.0 §7).
"""

from __future__ import annotations

import binascii
import hashlib
import itertools
import operator
import secrets
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple

from cryptography import x509

from portfeil.consttime import text_equal
from portfeil.formats.errors import FormatError
from portfeil.formats.jws import (
    _STRICT_JSON,
    ChainValidatorLike,
    JWSPrivateKey,
    JWSPublicKey,
    ParsedJWS,
    b64url_decode,
    b64url_decode_checked_alphabet,
    b64url_encode,
    bounded_put,
    check_time_claims,
    json_dumps_compact,
    numeric_claim,
    parse_compact,
    public_key_from_jwk,
    resolve_x5c_key,
    sign_compact,
    verify_signature,
    verify_signature_digest,
)

__all__ = [
    "KB_JWT_TYP",
    "LEGACY_VC_TYP",
    "SD_JWT_VC_TYP",
    "VC_NEVER_DISCLOSABLE",
    "ClaimPath",
    "Disclosure",
    "KeyBinding",
    "SdJwtParts",
    "StatusReference",
    "VerifiedSdJwt",
    "disclosure_digest",
    "issue_sd_jwt",
    "issue_sd_jwt_vc",
    "make_disclosure",
    "parse_disclosure",
    "present",
    "split_sd_jwt",
    "verify_sd_jwt",
    "verify_sd_jwt_vc",
]

ClaimPath = tuple[str | int | None, ...]

SD_JWT_VC_TYP: Final = "dc+sd-jwt"
LEGACY_VC_TYP: Final = "vc+sd-jwt"
KB_JWT_TYP: Final = "kb+jwt"
DEFAULT_SD_ALG: Final = "sha-256"

MAX_SD_JWT_SIZE: Final = 1024 * 1024
"""Default size bound for a whole SD-JWT (a PID carries a JPEG portrait as a data URL)."""
MAX_DISCLOSURES: Final = 512
MAX_DEPTH: Final = 24
MIN_SALT_BYTES: Final = 16

_HASHES: Final[dict[str, Callable[[bytes], Any]]] = {
    "sha-256": hashlib.sha256,
    "sha-384": hashlib.sha384,
    "sha-512": hashlib.sha512,
}
_RESERVED_NAMES: Final = frozenset({"_sd", "...", "_sd_alg"})
"""Claim names a Disclosure must never carry (RFC 9901 §4.2.1)."""

VC_NEVER_DISCLOSABLE: Final = frozenset({"iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "status"})
"""Claims that SD-JWT VC draft-13 §3.2.2.2 forbids to make selectively disclosable."""
_VC_DEFAULT_VISIBLE: Final = VC_NEVER_DISCLOSABLE | {"iat"}
_VC_NEVER_DISCLOSABLE_PATHS: Final = frozenset((name,) for name in VC_NEVER_DISCLOSABLE)

Rng = Callable[[int], bytes]


# --- Disclosures (RFC 9901 §4.2)


@dataclass(frozen=True, slots=True)
class Disclosure:
    """One Disclosure (RFC 9901 §4.2.1/§4.2.2): ``name`` is None for an array element."""

    encoded: str
    salt: str
    name: str | None
    value: Any

    def digest(self, sd_alg: str = DEFAULT_SD_ALG) -> str:
        return disclosure_digest(self.encoded, sd_alg)


def disclosure_digest(encoded: str, sd_alg: str = DEFAULT_SD_ALG) -> str:
    """The digest of a Disclosure: base64url(hash(ASCII(encoded Disclosure))) (RFC 9901 §4.2.3)."""
    return _b64_digest(_HASHES[sd_alg](encoded.encode("ascii")).digest())


def _b64_digest(digest: bytes) -> str:
    return binascii.b2a_base64(digest, newline=False).rstrip(b"=").translate(_STD_TO_B64URL).decode("ascii")


_STD_TO_B64URL: Final = bytes.maketrans(b"+/", b"-_")


def make_disclosure(name: str | None, value: Any, *, rng: Rng | None = None, salt: str | None = None) -> Disclosure:
    """Create a Disclosure with a fresh 128-bit salt (RFC 9901 §4.2.1, §9.3)."""
    if name is not None and (not isinstance(name, str) or name in _RESERVED_NAMES):
        raise FormatError("reserved_claim_name", "this claim name cannot be selectively disclosed")
    if salt is None:
        salt = b64url_encode((rng or secrets.token_bytes)(MIN_SALT_BYTES))
    content: list[Any] = [salt, value] if name is None else [salt, name, value]
    try:
        encoded = b64url_encode(json_dumps_compact(content))
    except (TypeError, ValueError) as exc:
        raise FormatError("invalid_claim_value", "claim value is not JSON-serialisable") from exc
    return Disclosure(encoded, salt, name, value)


def parse_disclosure(encoded: str) -> Disclosure:
    """Decode and check one Disclosure (RFC 9901 §7.1 step 3)."""
    content = _decode_disclosure(encoded)
    if len(content) == 3:
        return Disclosure(encoded, content[0], content[1], content[2])
    return Disclosure(encoded, content[0], None, content[1])


def _digest_disclosures(disclosures: Sequence[str], sd_alg: str) -> dict[str, list[Any]]:
    """Digest and decode every presented Disclosure (RFC 9901 §7.1 step 3); see :func:`_digest_region`."""
    if not disclosures:
        return {}
    try:
        region = "".join(d + "~" for d in disclosures).encode("ascii")
    except UnicodeEncodeError as exc:
        raise FormatError("malformed_base64url", "Disclosure is not strict base64url") from exc
    if b"=" in region or b"+" in region or b"/" in region or b"~~" in region or region.startswith(b"~"):
        raise FormatError("malformed_base64url", "Disclosure is not strict base64url")
    return _digest_region(region, sd_alg)


def _digest_region(region: bytes, sd_alg: str) -> dict[str, list[Any]]:
    """Digest and decode the Disclosures ``b"D1~D2~...~Dn~"`` of a presentation: the hot loop of verification.

    The caller (:func:`split_sd_jwt`) made sure the region is ASCII without '=', '+', '/' or empty Disclosures.
    Every step runs over all Disclosures at once through C functions (``map``, ``bytes`` methods), so the
    interpreter does no work per Disclosure:

    * digests (RFC 9901 §4.2.3): hash each encoded Disclosure, base64url every digest in one string;
    * base64url (RFC 4648 §5, strict): each Disclosure gets ``==`` appended and is decoded leniently (surplus
      padding is ignored, a length of 4k+1 fails); then all decoded values are re-encoded in one string that must
      equal the input exactly, which refuses foreign characters and non-canonical trailing bits alike;
    * UTF-8 and JSON (the C scanner, duplicate member names refused); a value followed by anything (whitespace,
      trailing garbage) goes through the full decoder, which accepts surrounding whitespace only;
    * shape: ``[salt, value]`` or ``[salt, name, value]`` with string salt (names are checked where used).
    """
    pieces = region.split(b"~")
    pieces.pop()  # the region ends in "~"
    count = len(pieces)
    b2a = binascii.b2a_base64
    # b2a_base64 ends each digest in "\n": one translate drops the padding, one split separates them.
    digests = (
        b"".join(map(b2a, map(_HASH_DIGEST, map(_HASHES[sd_alg], pieces))))
        .translate(_STD_TO_B64URL, b"=")
        .decode("ascii")
        .split("\n")
    )
    std = region.translate(_B64URL_TO_STD)
    try:
        raw = list(map(binascii.a2b_base64, std.replace(b"~", b"==~").split(b"~")))
    except (binascii.Error, ValueError) as exc:
        raise FormatError("malformed_base64url", "Disclosure is not strict base64url") from exc
    raw.pop()
    if b"".join(map(b2a, raw)).replace(b"=", b"") != std.replace(b"~", b"\n"):
        raise FormatError("malformed_base64url", "Disclosure is not strict base64url")
    try:
        texts = list(map(_UTF8_DECODE, raw))
    except ValueError as exc:  # UnicodeDecodeError
        raise FormatError("malformed_disclosure", "Disclosure is not UTF-8") from exc
    try:
        scanned = list(map(_SCAN, texts, _ZEROS))
        if list(map(len, texts)) == list(map(_SECOND, scanned)):
            contents = list(map(_FIRST, scanned))
        else:  # surrounding whitespace, or trailing garbage
            contents = [_STRICT_JSON.decode(t) for t in texts]
    except (ValueError, RecursionError, StopIteration) as exc:
        raise FormatError("malformed_disclosure", "Disclosure is not valid JSON") from exc
    if (
        set(map(type, contents)) != _ONLY_LIST
        or not _DISCLOSURE_LENGTHS.issuperset(map(len, contents))
        or set(map(type, map(_FIRST, contents))) != _ONLY_STR
    ):
        _check_contents(contents)
    digests.pop()
    by_digest = dict(zip(digests, contents, strict=True))
    if len(by_digest) != count:
        raise FormatError("duplicate_disclosure", "the same Disclosure is presented twice")
    return by_digest


def _check_contents(contents: Sequence[Any]) -> None:
    """Raise the error for the first ill-formed decoded Disclosure (RFC 9901 §7.1 step 3), if any."""
    for c in contents:
        if type(c) is list and len(c) == 3 and type(c[1]) is str and c[1] in _RESERVED_NAMES:
            raise FormatError("reserved_claim_name", "Disclosure uses a reserved claim name")
    for c in contents:
        if type(c) is not list or not 2 <= len(c) <= 3 or type(c[0]) is not str or (
            len(c) == 3 and type(c[1]) is not str
        ):
            raise FormatError("malformed_disclosure", "Disclosure must be [salt, (name,) value]")


_HASH_DIGEST: Final[Callable[[Any], bytes]] = type(hashlib.sha256()).digest
_UTF8_DECODE: Final[Callable[[bytes], str]] = bytes.decode
_ZEROS: Final = itertools.repeat(0)
_FIRST: Final = operator.itemgetter(0)
_SECOND: Final = operator.itemgetter(1)
_ONLY_LIST: Final = {list}
_ONLY_STR: Final = {str}
_DISCLOSURE_LENGTHS: Final = frozenset({2, 3})


_B64URL_TO_STD: Final = bytes.maketrans(b"-_", b"+/")


def _decode_disclosure(encoded: str, *, alphabet_checked: bool = False) -> list[Any]:
    if alphabet_checked:
        raw = b64url_decode_checked_alphabet(encoded, what="Disclosure")
    else:
        raw = b64url_decode(encoded, what="Disclosure")
    try:
        text = raw.decode("utf-8")
        # The C scanner parses one value from position 0; anything else (leading or trailing whitespace, or
        # trailing garbage) goes through the full decoder, which accepts surrounding whitespace only.
        content, end = _SCAN(text, 0)
        if end != len(text):
            content = _STRICT_JSON.decode(text)
    except (ValueError, RecursionError, StopIteration) as exc:
        raise FormatError("malformed_disclosure", "Disclosure is not valid JSON") from exc
    if not isinstance(content, list) or not 2 <= len(content) <= 3 or not isinstance(content[0], str):
        raise FormatError("malformed_disclosure", "Disclosure must be [salt, (name,) value]")
    if len(content) == 3:
        name = content[1]
        if not isinstance(name, str):
            raise FormatError("malformed_disclosure", "Disclosure claim name must be a string")
        if name in _RESERVED_NAMES:
            raise FormatError("reserved_claim_name", "Disclosure uses a reserved claim name")
    return content


_SCAN: Final[Callable[[str, int], tuple[Any, int]]] = _STRICT_JSON.scan_once  # type: ignore[attr-defined]


# --- Compact serialisation (RFC 9901 §4, §4.3)


class SdJwtParts(NamedTuple):
    """An SD-JWT split at ``~``: issuer-signed JWT, encoded Disclosures, Key Binding JWT or None."""

    issuer_jwt: str
    disclosures: tuple[str, ...]
    kb_jwt: str | None
    presented_text: str | None = None

    @property
    def presented(self) -> str:
        """The SD-JWT without the KB-JWT, ending in ``~``: the input of ``sd_hash`` (RFC 9901 §4.3.1)."""
        if self.presented_text is not None:
            return self.presented_text
        return self.issuer_jwt + "~" + "".join(d + "~" for d in self.disclosures)


def split_sd_jwt(token: str, *, max_size: int = MAX_SD_JWT_SIZE) -> SdJwtParts:
    """Split the compact serialisation ``<JWT>~<D1>~...~<Dn>~[<KB-JWT>]`` (RFC 9901 §4)."""
    if not isinstance(token, str):
        raise FormatError("malformed_sd_jwt", "SD-JWT must be a string")
    if len(token) > max_size:
        raise FormatError("sd_jwt_too_large", "SD-JWT exceeds the size limit")
    # Strict base64 decoding of every part refuses foreign characters; these three it would otherwise accept.
    if not token.isascii() or "=" in token or "+" in token or "/" in token:
        raise FormatError("malformed_sd_jwt", "SD-JWT holds characters outside base64url, '.' and '~'")
    # find() (memchr) for the issuer JWT and the KB-JWT: only the Disclosures in between need split()
    first = token.find("~")
    if first <= 0:
        raise FormatError("malformed_sd_jwt", "SD-JWT must be <JWT>~<Disclosures>~[<KB-JWT>]")
    last = token.rfind("~")
    disclosures = token[first + 1 : last].split("~") if last > first else []
    if len(disclosures) > MAX_DISCLOSURES:
        raise FormatError("too_many_disclosures", "SD-JWT carries too many Disclosures")
    if "" in disclosures:
        raise FormatError("malformed_sd_jwt", "empty Disclosure")
    kb = token[last + 1 :]
    return SdJwtParts(token[:first], tuple(disclosures), kb or None, token[: last + 1])


# --- Issuance (RFC 9901 §4.1, §4.2)


def _path_matches(path: ClaimPath, pattern: ClaimPath) -> bool:
    """``pattern`` and ``path`` agree on their common prefix (None in ``pattern`` matches any array index)."""
    for p, q in zip(path, pattern, strict=False):
        if q is None:
            if not isinstance(p, int):
                return False
        elif p != q:
            return False
    return True


class _SdPolicy:
    """Which claim paths become Disclosures: every path (except ``visible`` top-level names) or a listed set."""

    def __init__(self, paths: Collection[ClaimPath] | None, visible: Collection[str]) -> None:
        self.paths = None if paths is None else [tuple(p) for p in paths]
        self.visible = frozenset(visible)

    def __call__(self, path: ClaimPath) -> bool:
        if len(path) == 1 and path[0] in self.visible:
            return False
        if self.paths is None:
            return True
        return any(len(p) == len(path) and _path_matches(path, p) for p in self.paths)


class _BufferedRandom:
    """``secrets.token_bytes`` drawn 1 KiB at a time: one system call for the ~50 salts and decoys of a PID instead
    of one each (the same CSPRNG; every byte is handed out once)."""

    def __init__(self) -> None:
        self._buffer = b""

    def __call__(self, n: int) -> bytes:
        if n > len(self._buffer):
            self._buffer += secrets.token_bytes(max(1024, n))
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out


class _Builder:
    def __init__(self, policy: _SdPolicy, decoys: int, rng: Rng | None) -> None:
        self.policy = policy
        self.decoys = decoys
        self.rng = rng or _BufferedRandom()
        self.disclosures: list[Disclosure] = []

    def _decoy(self) -> str:
        return b64url_encode(hashlib.sha256(self.rng(MIN_SALT_BYTES)).digest())

    def encode(self, value: Any, path: ClaimPath, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise FormatError("claims_too_deep", "claims are nested too deeply")
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            digests: list[str] = []
            for name, child in value.items():
                if not isinstance(name, str) or name in _RESERVED_NAMES:
                    raise FormatError("reserved_claim_name", "claim name is reserved or not a string")
                child_path = (*path, name)
                encoded = self.encode(child, child_path, depth + 1)
                if self.policy(child_path):
                    d = make_disclosure(name, encoded, rng=self.rng)
                    self.disclosures.append(d)
                    digests.append(d.digest())
                else:
                    out[name] = encoded
            if digests:
                digests.extend(self._decoy() for _ in range(self.decoys))
                out["_sd"] = sorted(digests)  # sorted: hides the original claim order (RFC 9901 §4.2.4.1)
            return out
        if isinstance(value, list | tuple):
            items: list[Any] = []
            for i, child in enumerate(value):
                child_path = (*path, i)
                encoded = self.encode(child, child_path, depth + 1)
                if self.policy(child_path):
                    d = make_disclosure(None, encoded, rng=self.rng)
                    self.disclosures.append(d)
                    items.append({"...": d.digest()})
                else:
                    items.append(encoded)
            return items
        return value


def issue_sd_jwt(
    claims: Mapping[str, Any],
    *,
    issuer_key: JWSPrivateKey,
    visible_claims: Mapping[str, Any] | None = None,
    disclosure_policy: Collection[ClaimPath] | None = None,
    never_disclosable: Collection[str] = (),
    holder_jwk: Mapping[str, Any] | None = None,
    typ: str | None = None,
    alg: str | None = None,
    x5c: Sequence[x509.Certificate] = (),
    header: Mapping[str, Any] | None = None,
    decoys: int = 0,
    rng: Rng | None = None,
) -> str:
    """Issue an SD-JWT (RFC 9901 §4, §5.1) in compact form ``<JWT>~<D1>~...~<Dn>~``.

    ``claims`` are the user claims; paths in ``disclosure_policy`` become Disclosures (default: every property
    at every depth and every array element, except the top-level names in ``never_disclosable``).
    ``visible_claims`` (``iss``, ``iat``, ...) are added as they are, never disclosable. ``decoys`` decoy
    digests are added to every ``_sd`` array (RFC 9901 §4.2.5). ``holder_jwk`` becomes ``cnf.jwk``.
    """
    visible = dict(visible_claims or {})
    clash = (set(visible) | {"cnf", "_sd_alg", "_sd"}) & set(claims)
    if clash:
        raise FormatError("reserved_claim_name", "claims repeat names that the issuer sets itself")
    if decoys < 0 or decoys > 64:
        raise FormatError("invalid_decoys", "decoys must be between 0 and 64")
    builder = _Builder(_SdPolicy(disclosure_policy, never_disclosable), decoys, rng)
    payload = builder.encode(claims, ())
    payload.update(visible)
    payload["_sd_alg"] = DEFAULT_SD_ALG
    if holder_jwk is not None:
        if "d" in holder_jwk:
            raise FormatError("invalid_jwk", "holder JWK must be public")
        public_key_from_jwk(holder_jwk)  # refuse unusable holder keys at issuance
        payload["cnf"] = {"jwk": dict(holder_jwk)}
    jwt = sign_compact(payload, issuer_key, alg=alg, typ=typ, x5c=x5c, header=header)
    return jwt + "~" + "".join(d.encoded + "~" for d in builder.disclosures)


@dataclass(frozen=True, slots=True)
class StatusReference:
    """A Token Status List reference (draft-ietf-oauth-status-list-13 §6.1): ``status.status_list``."""

    idx: int
    uri: str

    def to_claim(self) -> dict[str, Any]:
        return {"status_list": {"idx": self.idx, "uri": self.uri}}


def iss_matches_leaf(iss: str, leaf: x509.Certificate) -> bool:
    """SD-JWT VC draft-13 §3.5 (X.509 certificates): an ``iss`` that is a DNS URI (RFC 4501, ``dns:name``) must
    match a dNSName SAN of the leaf; any other ``iss`` must equal a uniformResourceIdentifier SAN."""
    # Keyed by the leaf's identity (hashing a certificate costs microseconds); the entry holds the leaf, so the
    # id cannot be reused while it is cached.
    cache_key = (iss, id(leaf))
    known = _ISS_CACHE.get(cache_key)
    if known is None or known[0] is not leaf:
        known = (leaf, _iss_matches_leaf(iss, leaf))
        bounded_put(_ISS_CACHE, cache_key, known, 256)
    return known[1]


_ISS_CACHE: dict[tuple[str, int], tuple[x509.Certificate, bool]] = {}


def _iss_matches_leaf(iss: str, leaf: x509.Certificate) -> bool:
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    if iss[:4].lower() == "dns:":
        name = iss[4:]
        if name.startswith("//"):  # dns://authority/name (RFC 4501 §3): the authority is a resolver, skip it
            _, _, name = name[2:].partition("/")
        name = name.split("?", 1)[0].rstrip(".").lower()
        return bool(name) and name in {d.rstrip(".").lower() for d in san.get_values_for_type(x509.DNSName)}
    return iss in san.get_values_for_type(x509.UniformResourceIdentifier)


def _ts(when: datetime) -> int:
    if when.tzinfo is None:
        raise FormatError("naive_datetime", "times must be timezone-aware")
    return int(when.timestamp())


def issue_sd_jwt_vc(
    claims: Mapping[str, Any],
    *,
    issuer_key: JWSPrivateKey,
    issuer_chain: Sequence[x509.Certificate],
    vct: str,
    now: datetime,
    iss: str | None = None,
    holder_jwk: Mapping[str, Any] | None = None,
    expires_in: timedelta | None = None,
    exp: datetime | None = None,
    nbf: datetime | None = None,
    status: StatusReference | None = None,
    disclosure_policy: Collection[ClaimPath] | None = None,
    decoys: int = 0,
    rng: Rng | None = None,
    alg: str | None = None,
) -> str:
    """Issue an SD-JWT VC (draft-ietf-oauth-sd-jwt-vc-13 §3): header ``typ: dc+sd-jwt`` and ``x5c``.

    ``iss`` (optional) must name the leaf certificate (a SAN URI or DNS name, §3.5). By default every user claim
    at every depth is selectively disclosable (PID_21), except ``iat`` and the claims §3.2.2.2 keeps visible.
    """
    if not isinstance(vct, str) or not vct:
        raise FormatError("missing_vct", "vct must be a non-empty string")
    if not issuer_chain:
        raise FormatError("invalid_x5c", "an SD-JWT VC needs the issuer certificate chain")
    if iss is not None and not iss_matches_leaf(iss, issuer_chain[0]):
        raise FormatError("iss_san_mismatch", "iss does not name the issuer certificate")
    visible: dict[str, Any] = {"vct": vct, "iat": _ts(now)}
    if iss is not None:
        visible["iss"] = iss
    if nbf is not None:
        visible["nbf"] = _ts(nbf)
    if exp is not None:
        visible["exp"] = _ts(exp)
    elif expires_in is not None:
        visible["exp"] = _ts(now + expires_in)
    if status is not None:
        visible["status"] = status.to_claim()
    if disclosure_policy is not None:
        for p in disclosure_policy:
            if len(p) == 1 and p[0] in VC_NEVER_DISCLOSABLE:
                raise FormatError("protected_claim_disclosed", "this claim must stay visible in an SD-JWT VC")
    return issue_sd_jwt(
        claims,
        issuer_key=issuer_key,
        visible_claims=visible,
        disclosure_policy=disclosure_policy,
        never_disclosable=_VC_DEFAULT_VISIBLE,
        holder_jwk=holder_jwk,
        typ=SD_JWT_VC_TYP,
        alg=alg,
        x5c=issuer_chain,
        decoys=decoys,
        rng=rng,
    )


# --- Presentation (RFC 9901 §4.3)


def _locate(node: Any, path: ClaimPath, by_digest: dict[str, list[Any]], out: dict[str, ClaimPath]) -> None:
    """Map every known Disclosure digest to the claim path it discloses (holder side, issued positions)."""
    if len(path) > MAX_DEPTH:
        raise FormatError("claims_too_deep", "claims are nested too deeply")
    if isinstance(node, dict):
        for name, child in node.items():
            if name not in ("_sd", "_sd_alg"):
                _locate(child, (*path, name), by_digest, out)
        sd = node.get("_sd")
        if isinstance(sd, list):
            for digest in sd:
                content = by_digest.get(digest) if isinstance(digest, str) else None
                if content is not None and len(content) == 3 and digest not in out:
                    out[digest] = (*path, content[1])
                    _locate(content[2], out[digest], by_digest, out)
    elif isinstance(node, list):
        for i, child in enumerate(node):
            if isinstance(child, dict) and len(child) == 1 and isinstance(child.get("..."), str):
                digest = child["..."]
                content = by_digest.get(digest)
                if content is not None and len(content) == 2 and digest not in out:
                    out[digest] = (*path, i)
                    _locate(content[1], out[digest], by_digest, out)
            else:
                _locate(child, (*path, i), by_digest, out)


def present(
    sd_jwt: str,
    paths: Collection[ClaimPath],
    *,
    holder_key: JWSPrivateKey | None = None,
    aud: str | None = None,
    nonce: str | None = None,
    now: datetime | None = None,
    alg: str | None = None,
) -> str:
    """Build a presentation (RFC 9901 §4.3) disclosing ``paths`` and their parents, with a KB-JWT (§4.3.1).

    Asking for an object or array (``("address",)``) discloses everything inside it. With ``holder_key`` a Key
    Binding JWT over ``aud``, ``nonce``, ``now`` and ``sd_hash`` is appended.
    """
    parts = split_sd_jwt(sd_jwt)
    parsed = parse_compact(parts.issuer_jwt, max_size=MAX_SD_JWT_SIZE)
    sd_alg = parsed.payload.get("_sd_alg", DEFAULT_SD_ALG)
    if not isinstance(sd_alg, str) or sd_alg not in _HASHES:
        raise FormatError("unsupported_sd_alg", "unsupported _sd_alg")
    by_digest: dict[str, list[Any]] = {}
    digest_of: dict[str, str] = {}
    for enc in parts.disclosures:
        d = disclosure_digest(enc, sd_alg)
        by_digest[d] = _decode_disclosure(enc)
        digest_of[enc] = d
    located: dict[str, ClaimPath] = {}
    _locate(parsed.payload, (), by_digest, located)
    wanted = [tuple(p) for p in paths]
    chosen = []
    for enc in parts.disclosures:
        where = located.get(digest_of[enc])
        if where is not None and any(_path_matches(where, w) for w in wanted):
            chosen.append(enc)
    presented = SdJwtParts(parts.issuer_jwt, tuple(chosen), None).presented
    if holder_key is None:
        return presented
    if aud is None or nonce is None or now is None:
        raise FormatError("kb_expectations_missing", "a Key Binding JWT needs aud, nonce and now")
    kb_payload = {"iat": _ts(now), "aud": aud, "nonce": nonce, "sd_hash": _sd_hash(presented, sd_alg)}
    return presented + sign_compact(kb_payload, holder_key, alg=alg, typ=KB_JWT_TYP)


def _sd_hash(presented: str, sd_alg: str) -> str:
    return _b64_digest(_HASHES[sd_alg](presented.encode("ascii")).digest())


# --- Verification (RFC 9901 §7)


@dataclass(frozen=True, slots=True)
class KeyBinding:
    """A verified Key Binding JWT (RFC 9901 §4.3)."""

    aud: str
    nonce: str
    iat: int
    header: dict[str, Any]


@dataclass(frozen=True, slots=True)
class VerifiedSdJwt:
    """The outcome of a successful verification.

    ``claims`` holds the disclosed claims with the SD machinery removed (RFC 9901 §7.1 step 4), including the
    always-visible ones (``iss``, ``vct``, ``iat``, ``exp``, ``cnf``, ``status``...). ``disclosed_paths`` lists
    the claim paths revealed by Disclosures, with array indices as in ``claims``.
    """

    claims: dict[str, Any]
    header: dict[str, Any]
    issuer_key: JWSPublicKey
    leaf: x509.Certificate | None
    iss: str | None
    vct: str | None
    cnf: dict[str, Any] | None
    status: StatusReference | None
    disclosed_paths: tuple[ClaimPath, ...]
    key_binding: KeyBinding | None


class _Processor:
    """RFC 9901 §7.1 step 4: replace digests by the disclosed claims, checking uniqueness as it goes.

    Written for speed (it runs on every presentation). It works in place on the freshly decoded payload and
    Disclosure values, which nothing else holds: an object loses ``_sd`` (and ``_sd_alg`` at the top) and gains
    its disclosed claims after its own, in ``_sd`` order; an array is rebuilt. (Bulk ``map``/set operations were
    measured here too: slower, the sets are small.)
    """

    __slots__ = ("by_digest", "paths", "seen")

    def __init__(self, by_digest: dict[str, list[Any]]) -> None:
        self.by_digest = by_digest
        self.seen: set[str] = set()
        self.paths: list[ClaimPath] = []  # one per Disclosure used

    def _take(self, digest: object) -> list[Any] | None:
        if type(digest) is not str:
            raise FormatError("malformed_digest", "a digest must be a string")
        seen = self.seen
        if digest in seen:
            raise FormatError("duplicate_digest", "the same digest appears more than once")
        seen.add(digest)
        return self.by_digest.get(digest)

    def value(self, node: Any, path: ClaimPath, depth: int) -> Any:
        t = type(node)
        if t is dict:
            return self.obj(node, path, depth)
        if t is list:
            return self.arr(node, path, depth)
        return node

    def obj(self, node: dict[str, Any], path: ClaimPath, depth: int) -> dict[str, Any]:
        if depth > MAX_DEPTH:
            raise FormatError("claims_too_deep", "claims are nested too deeply")
        if "..." in node or (depth and "_sd_alg" in node):
            raise FormatError("reserved_claim_name", "reserved name used as a claim")
        sd = node.pop("_sd", None)
        if not depth:
            node.pop("_sd_alg", None)
        for name, child in node.items():
            t = type(child)
            if t is dict:
                self.obj(child, (*path, name), depth + 1)
            elif t is list:
                node[name] = self.arr(child, (*path, name), depth + 1)  # same key: no resize while iterating
        if sd is None:
            return node
        if type(sd) is not list:
            raise FormatError("malformed_digest", "_sd must be an array of digests")
        seen, get, paths = self.seen, self.by_digest.get, self.paths
        for digest in sd:
            if type(digest) is not str:
                raise FormatError("malformed_digest", "a digest must be a string")
            if digest in seen:
                raise FormatError("duplicate_digest", "the same digest appears more than once")
            seen.add(digest)
            content = get(digest)
            if content is None:
                continue  # a decoy, or a claim the holder did not disclose
            if len(content) != 3:
                raise FormatError("disclosure_type_mismatch", "array-element Disclosure used for a property")
            name = content[1]
            if type(name) is not str or name in _RESERVED_NAMES:
                raise FormatError("malformed_disclosure", "Disclosure claim name must be a claim name")
            if name in node:
                raise FormatError("duplicate_claim_name", "a disclosed claim name already exists")
            child_path = (*path, name)
            paths.append(child_path)
            value = content[2]
            t = type(value)
            node[name] = value if t is not dict and t is not list else self.value(value, child_path, depth + 1)
        return node

    def arr(self, node: list[Any], path: ClaimPath, depth: int) -> list[Any]:
        if depth > MAX_DEPTH:
            raise FormatError("claims_too_deep", "claims are nested too deeply")
        out: list[Any] = []
        for child in node:
            t = type(child)
            if t is dict and "..." in child:
                if len(child) != 1:
                    raise FormatError("malformed_digest", "an array digest object must have only '...'")
                content = self._take(child["..."])
                if content is None:
                    continue
                if len(content) != 2:
                    raise FormatError("disclosure_type_mismatch", "property Disclosure used for an array element")
                child_path = (*path, len(out))
                self.paths.append(child_path)
                out.append(self.value(content[1], child_path, depth + 1))
            elif t is dict or t is list:
                out.append(self.value(child, (*path, len(out)), depth + 1))
            else:
                out.append(child)
        return out


_num = numeric_claim


def _check_times(payload: Mapping[str, Any], now: datetime, skew: timedelta, *, require_exp: bool) -> None:
    """RFC 7519 §4.1.4-§4.1.6 with a bounded clock skew (RFC 9901 §7.1 step 2: validate the issuer JWT)."""
    check_time_claims(payload, now, clock_skew=skew, require_exp=require_exp, code_prefix="sd_jwt")


def _check_kb(
    kb: ParsedJWS,
    sd_hash_digest: bytes,
    *,
    aud: str,
    nonce: str,
    now_ts: float,
    skew: float,
    max_age: float,
) -> KeyBinding:
    """RFC 9901 §7.3 after the signature check: ``aud``, ``nonce``, fresh ``iat`` and ``sd_hash`` (the digest of
    the presentation up to the KB-JWT, computed by the caller)."""
    p = kb.payload
    if p.get("aud") != aud:
        raise FormatError("kb_aud_mismatch", "Key Binding JWT is for another audience")
    if p.get("nonce") != nonce:
        raise FormatError("kb_nonce_mismatch", "Key Binding JWT nonce does not match")
    iat = _num(p, "iat")
    if iat is None:
        raise FormatError("invalid_claim", "Key Binding JWT has no iat")
    if iat > now_ts + skew:
        raise FormatError("kb_iat_in_future", "Key Binding JWT was issued in the future")
    if iat < now_ts - max_age - skew:
        raise FormatError("kb_stale", "Key Binding JWT is too old")
    sd_hash = p.get("sd_hash")
    if type(sd_hash) is not str or not text_equal(sd_hash, _b64_digest(sd_hash_digest)):
        raise FormatError("kb_sd_hash_mismatch", "Key Binding JWT sd_hash does not match the presentation")
    return KeyBinding(aud, nonce, int(iat), kb.header)


def _parse_status(value: Any) -> StatusReference:
    ref = value.get("status_list") if isinstance(value, dict) else None
    if not isinstance(ref, dict):
        raise FormatError("invalid_status", "status must carry a status_list reference")
    idx, uri = ref.get("idx"), ref.get("uri")
    if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0 or not isinstance(uri, str) or not uri:
        raise FormatError("invalid_status", "status_list needs a non-negative idx and a uri")
    return StatusReference(idx, uri)


def verify_sd_jwt(
    token: str,
    *,
    now: datetime,
    key: JWSPublicKey | None = None,
    trust: ChainValidatorLike | None = None,
    typ: str | Collection[str] | None = None,
    aud: str | None = None,
    nonce: str | None = None,
    require_key_binding: bool | None = None,
    require_exp: bool = False,
    kb_max_age: timedelta = timedelta(minutes=5),
    clock_skew: timedelta = timedelta(seconds=60),
    max_size: int = MAX_SD_JWT_SIZE,
) -> VerifiedSdJwt:
    """Verify an SD-JWT or SD-JWT+KB (RFC 9901 §7.1-§7.3).

    The issuer key is ``key`` or the ``x5c`` leaf validated by ``trust``. ``require_key_binding``: None (the
    default) requires a KB-JWT exactly when the credential has ``cnf``; True always requires one; False
    refuses one (a wallet checking what it was issued). A KB-JWT is checked against ``aud`` and ``nonce``.
    """
    parts = split_sd_jwt(token, max_size=max_size)
    issuer = parse_compact(parts.issuer_jwt, max_size=max_size, typ=typ)
    return _verify(
        parts,
        issuer,
        now=now,
        key=key,
        trust=trust,
        aud=aud,
        nonce=nonce,
        require_key_binding=require_key_binding,
        require_exp=require_exp,
        kb_max_age=kb_max_age,
        clock_skew=clock_skew,
    )


def _verify(
    parts: SdJwtParts,
    issuer: ParsedJWS,
    *,
    now: datetime,
    key: JWSPublicKey | None,
    trust: ChainValidatorLike | None,
    aud: str | None,
    nonce: str | None,
    require_key_binding: bool | None,
    require_exp: bool,
    kb_max_age: timedelta,
    clock_skew: timedelta,
) -> VerifiedSdJwt:
    """RFC 9901 §7.1-§7.3. Order: everything needed for the two signature checks is parsed first, then both
    signatures are checked back to back (fewer switches between OpenSSL and the interpreter), then the claims;
    a forged issuer JWT or Key Binding JWT costs no Disclosure processing."""
    payload = issuer.payload
    sd_alg = payload.get("_sd_alg", DEFAULT_SD_ALG)
    if type(sd_alg) is not str or sd_alg not in _HASHES:
        raise FormatError("unsupported_sd_alg", "unsupported _sd_alg")
    cnf = payload.get("cnf")
    if cnf is not None and type(cnf) is not dict:
        raise FormatError("invalid_cnf", "cnf must be an object")
    kb_jwt = parts.kb_jwt
    kb = None
    if kb_jwt is not None:
        if require_key_binding is False:
            raise FormatError("unexpected_key_binding", "a Key Binding JWT was not expected here")
        if cnf is None:
            raise FormatError("missing_cnf", "Key Binding JWT present but the credential has no cnf")
        if aud is None or nonce is None:
            raise FormatError("kb_expectations_missing", "verifying a Key Binding JWT needs the expected aud and nonce")
        holder_jwk = cnf.get("jwk")
        if type(holder_jwk) is not dict:
            raise FormatError("invalid_cnf", "the credential has no usable cnf.jwk")
        holder_key = public_key_from_jwk(holder_jwk)
        kb = parse_compact(kb_jwt, typ=KB_JWT_TYP)
    elif (cnf is not None) if require_key_binding is None else require_key_binding:
        raise FormatError("key_binding_required", "a Key Binding JWT is required")

    leaf = None
    if key is None:
        if trust is None:
            raise FormatError("missing_key", "no key and no trust anchors to verify the JWS with")
        key, leaf = resolve_x5c_key(issuer.header, trust, now, issuer.header_b64)
    signing_input = issuer.signing_input
    sd_hash_digest = None
    if kb is not None and sd_alg == "sha-256" and issuer.alg == "ES256":
        # sd_hash covers the presentation up to the KB-JWT, which starts with the issuer's signing input: one
        # SHA-256 pass serves both (the issuer signature is verified on the digest).
        h = hashlib.sha256(signing_input)
        issuer_digest = h.digest()
        h.update(parts.presented[len(signing_input) :].encode("ascii"))
        sd_hash_digest = h.digest()
        verify_signature_digest(key, "ES256", issuer.signature, issuer_digest)
    else:
        verify_signature(key, issuer.alg, issuer.signature, signing_input)
    key_binding = None
    if kb is not None:
        verify_signature(holder_key, kb.alg, kb.signature, kb.signing_input)
        if sd_hash_digest is None:
            sd_hash_digest = _HASHES[sd_alg](parts.presented.encode("ascii")).digest()
        key_binding = _check_kb(
            kb,
            sd_hash_digest,
            aud=str(aud),  # checked above: not None
            nonce=str(nonce),
            now_ts=now.timestamp(),
            skew=clock_skew.total_seconds(),
            max_age=kb_max_age.total_seconds(),
        )
    _check_times(payload, now, clock_skew, require_exp=require_exp)

    # the issuer's always-visible claims, read before the payload becomes the claims (processed in place)
    iss = payload.get("iss")
    vct = payload.get("vct")
    status_claim = payload.get("status", _ABSENT)
    by_digest = _disclosures_of(parts, sd_alg)
    proc = _Processor(by_digest)
    try:
        claims = proc.obj(payload, (), 0)
        if len(proc.paths) != len(by_digest):  # one path per Disclosure used
            raise FormatError("unreferenced_disclosure", "a Disclosure is not referenced by any digest")
    except FormatError:
        _check_contents(list(by_digest.values()))  # an ill-formed Disclosure is the first error to report
        raise

    if iss is not None and type(iss) is not str:
        raise FormatError("invalid_claim", "iss must be a string")
    if vct is not None and type(vct) is not str:
        raise FormatError("invalid_claim", "vct must be a string")
    status = _parse_status(status_claim) if status_claim is not _ABSENT else None
    return VerifiedSdJwt(
        claims=claims,
        header=issuer.header,
        issuer_key=key,
        leaf=leaf,
        iss=iss,
        vct=vct,
        cnf=cnf,
        status=status,
        disclosed_paths=tuple(proc.paths),
        key_binding=key_binding,
    )


_ABSENT: Final = object()


def _disclosures_of(parts: SdJwtParts, sd_alg: str) -> dict[str, list[Any]]:
    """The decoded Disclosures of ``parts`` by digest, from the presentation text when it is known."""
    if not parts.disclosures:
        return {}
    presented = parts.presented_text
    if presented is None:
        return _digest_disclosures(parts.disclosures, sd_alg)
    # split_sd_jwt checked the whole text: ASCII, no '=', '+' or '/', no empty Disclosure
    return _digest_region(presented[len(parts.issuer_jwt) + 1 :].encode("ascii"), sd_alg)


def verify_sd_jwt_vc(
    token: str,
    *,
    now: datetime,
    trust: ChainValidatorLike | None = None,
    key: JWSPublicKey | None = None,
    aud: str | None = None,
    nonce: str | None = None,
    vct: str | Collection[str] | None = None,
    require_key_binding: bool | None = None,
    accept_legacy_typ: bool = True,
    require_exp: bool = False,
    kb_max_age: timedelta = timedelta(minutes=5),
    clock_skew: timedelta = timedelta(seconds=60),
    max_size: int = MAX_SD_JWT_SIZE,
) -> VerifiedSdJwt:
    """Verify an SD-JWT VC (draft-ietf-oauth-sd-jwt-vc-13 §3, §3.5) on top of RFC 9901 §7.

    Adds: ``typ`` ``dc+sd-jwt`` (``vc+sd-jwt`` accepted on input unless ``accept_legacy_typ`` is False),
    ``vct`` present (and one of ``vct`` when given), ``iss`` naming the x5c leaf (a SAN URI or DNS name),
    a well-formed ``status`` reference, and none of the always-visible claims hidden in a Disclosure.
    ``trust`` is a :class:`portfeil.pki.chains.ChainValidator` built for the expected role (PID or
    attestation provider).
    """
    typs = (SD_JWT_VC_TYP, LEGACY_VC_TYP) if accept_legacy_typ else (SD_JWT_VC_TYP,)
    parts = split_sd_jwt(token, max_size=max_size)
    issuer = parse_compact(parts.issuer_jwt, max_size=max_size, typ=typs)
    result = _verify(
        parts,
        issuer,
        now=now,
        key=key,
        trust=trust,
        aud=aud,
        nonce=nonce,
        require_key_binding=require_key_binding,
        require_exp=require_exp,
        kb_max_age=kb_max_age,
        clock_skew=clock_skew,
    )
    if result.vct is None or not result.vct:
        raise FormatError("missing_vct", "an SD-JWT VC needs vct")
    if vct is not None and result.vct not in ((vct,) if isinstance(vct, str) else vct):
        raise FormatError("vct_mismatch", "unexpected credential type")
    if not _VC_NEVER_DISCLOSABLE_PATHS.isdisjoint(result.disclosed_paths):
        raise FormatError("protected_claim_disclosed", "a claim that must stay visible was disclosed")
    if result.iss is not None and result.leaf is not None and not iss_matches_leaf(result.iss, result.leaf):
        raise FormatError("iss_san_mismatch", "iss does not name the issuer certificate")
    return result
