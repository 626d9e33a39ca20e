"""Digital Credentials Query Language (OpenID4VP 1.0 §6) and claims path pointers (§7), for both sides.

* Verifier side: build a :class:`DcqlQuery` and send ``query.to_dict()``.
* Wallet side: :meth:`DcqlQuery.parse` an incoming ``dcql_query`` (every structural rule of §6 is checked, each
  failure a :class:`~portfeil.formats.FormatError` with a stable ``dcql_*`` code), then :func:`match_query` it
  against the holder's credentials, described format-independently as :class:`CandidateCredential`.

Section map:
  §6      top level (``credentials``, ``credential_sets``; unknown properties are ignored)
  §6.1    Credential Query (:class:`CredentialQuery`), §6.1.1 Trusted Authorities Query
  §6.2    Credential Set Query (:class:`CredentialSetQuery`)
  §6.3    Claims Query (:class:`ClaimsQuery`)
  §6.4.1  selecting claims (``claims`` / ``claim_sets``, ``values``): :func:`match_credential`
  §6.4.2  selecting credentials (``credential_sets``, ``required``): :func:`match_query`
  §8.1    the ``vp_token`` answering a query, checked by the Verifier: :func:`check_response`
  §7.1    claims path pointers on JSON credentials: :func:`select_json_claims`
  §7.2    claims path pointers on ISO mdoc: :func:`select_mdoc_claim`
  Appendix B.2 (mdoc ``doctype_value``, ``intent_to_retain``) and B.3 (SD-JWT VC ``vct_values``).

Where this module reads the spec strictly (and the ``dcql`` npm package 3.0.0 differs), see the notes on
:func:`select_json_claims`, :meth:`DcqlQuery.parse` and :class:`TrustedAuthoritiesQuery`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from cryptography import x509

from portfeil.formats.errors import FormatError

__all__ = [
    "FORMAT_MDOC",
    "FORMAT_SD_JWT_VC",
    "FORMAT_SD_JWT_VC_LEGACY",
    "TRUSTED_AUTHORITY_TYPES",
    "CandidateCredential",
    "ClaimMatch",
    "ClaimPath",
    "ClaimsQuery",
    "CredentialMatch",
    "CredentialQuery",
    "CredentialQueryResult",
    "CredentialSetQuery",
    "CredentialSetResult",
    "DcqlQuery",
    "MatchResult",
    "TrustedAuthoritiesQuery",
    "authority_key_identifiers",
    "check_response",
    "match_credential",
    "match_query",
    "select_json_claims",
    "select_mdoc_claim",
]

FORMAT_SD_JWT_VC: Final = "dc+sd-jwt"
FORMAT_SD_JWT_VC_LEGACY: Final = "vc+sd-jwt"  # accepted on input (SPECS.md §1), treated as dc+sd-jwt
FORMAT_MDOC: Final = "mso_mdoc"
_SD_JWT_FORMATS: Final = frozenset({FORMAT_SD_JWT_VC, FORMAT_SD_JWT_VC_LEGACY})
TRUSTED_AUTHORITY_TYPES: Final = ("aki", "etsi_tl", "openid_federation")

ClaimPathComponent = str | int | None
ClaimPath = tuple[ClaimPathComponent, ...]
ClaimValue = str | int | bool

_ID_RE: Final = re.compile(r"[A-Za-z0-9_-]+")
_B64URL_RE: Final = re.compile(r"[A-Za-z0-9_-]+")


def _fail(code: str, message: str) -> FormatError:
    return FormatError(code, message)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_id(value: object, what: str) -> str:
    """§6.1 / §6.3: a non-empty string of alphanumerics, ``_`` and ``-``."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise _fail("dcql_invalid_id", f"{what} id must be a non-empty string of [A-Za-z0-9_-]")
    return value


def _check_bool(obj: Mapping[str, Any], key: str, default: bool) -> bool:
    value = obj.get(key, default)
    if not isinstance(value, bool):
        raise _fail("dcql_invalid_query", f"{key} must be a boolean")
    return value


def _normalize_format(fmt: str) -> str:
    return FORMAT_SD_JWT_VC if fmt in _SD_JWT_FORMATS else fmt


# ================================================================================================================
# Query model
# ================================================================================================================


@dataclass(frozen=True, slots=True)
class ClaimsQuery:
    """§6.3 Claims Query (+ Appendix B.2.4 ``intent_to_retain`` for mdoc)."""

    path: ClaimPath
    id: str | None = None
    values: tuple[ClaimValue, ...] | None = None
    intent_to_retain: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.id is not None:
            out["id"] = self.id
        out["path"] = list(self.path)
        if self.values is not None:
            out["values"] = list(self.values)
        if self.intent_to_retain is not None:
            out["intent_to_retain"] = self.intent_to_retain
        return out


@dataclass(frozen=True, slots=True)
class TrustedAuthoritiesQuery:
    """§6.1.1 Trusted Authorities Query.

    Types other than ``aki``, ``etsi_tl`` and ``openid_federation`` are accepted when parsing (the type is an
    extension point) but never match a credential; the ``dcql`` npm package instead rejects such a query.
    """

    type: str
    values: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "values": list(self.values)}


@dataclass(frozen=True, slots=True)
class CredentialQuery:
    """§6.1 Credential Query."""

    id: str
    format: str
    meta: Mapping[str, Any] = field(default_factory=dict)
    multiple: bool = False
    trusted_authorities: tuple[TrustedAuthoritiesQuery, ...] | None = None
    require_cryptographic_holder_binding: bool = True
    claims: tuple[ClaimsQuery, ...] | None = None
    claim_sets: tuple[tuple[str, ...], ...] | None = None

    @property
    def is_sd_jwt_vc(self) -> bool:
        return self.format in _SD_JWT_FORMATS

    @property
    def is_mdoc(self) -> bool:
        return self.format == FORMAT_MDOC

    @property
    def vct_values(self) -> tuple[str, ...] | None:
        """Appendix B.3.5 ``meta.vct_values`` (SD-JWT VC)."""
        v = self.meta.get("vct_values")
        return tuple(v) if isinstance(v, list | tuple) else None

    @property
    def doctype_value(self) -> str | None:
        """Appendix B.2.3 ``meta.doctype_value`` (mdoc)."""
        v = self.meta.get("doctype_value")
        return v if isinstance(v, str) else None

    def claim(self, claim_id: str) -> ClaimsQuery:
        for c in self.claims or ():
            if c.id == claim_id:
                return c
        raise _fail("dcql_unknown_claim_id", "no claim with that id")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "format": self.format, "meta": dict(self.meta)}
        if self.multiple:
            out["multiple"] = True
        if self.trusted_authorities is not None:
            out["trusted_authorities"] = [t.to_dict() for t in self.trusted_authorities]
        if not self.require_cryptographic_holder_binding:
            out["require_cryptographic_holder_binding"] = False
        if self.claims is not None:
            out["claims"] = [c.to_dict() for c in self.claims]
        if self.claim_sets is not None:
            out["claim_sets"] = [list(s) for s in self.claim_sets]
        return out


@dataclass(frozen=True, slots=True)
class CredentialSetQuery:
    """§6.2 Credential Set Query. ``purpose`` (from earlier drafts) is kept if present but has no effect."""

    options: tuple[tuple[str, ...], ...]
    required: bool = True
    purpose: Any = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"options": [list(o) for o in self.options]}
        if not self.required:
            out["required"] = False
        if self.purpose is not None:
            out["purpose"] = self.purpose
        return out


@dataclass(frozen=True, slots=True)
class DcqlQuery:
    """§6: a DCQL query."""

    credentials: tuple[CredentialQuery, ...]
    credential_sets: tuple[CredentialSetQuery, ...] | None = None

    def credential(self, query_id: str) -> CredentialQuery:
        for c in self.credentials:
            if c.id == query_id:
                return c
        raise _fail("dcql_unknown_credential_id", "no credential query with that id")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"credentials": [c.to_dict() for c in self.credentials]}
        if self.credential_sets is not None:
            out["credential_sets"] = [s.to_dict() for s in self.credential_sets]
        return out

    @classmethod
    def parse(cls, obj: object, *, strict: bool = True) -> DcqlQuery:
        """Parse and validate a ``dcql_query`` object (§6); only :class:`FormatError` escapes.

        ``strict`` (default) enforces what Appendix B marks REQUIRED: ``meta`` on every Credential Query,
        ``meta.vct_values`` for SD-JWT VC, ``meta.doctype_value`` for mdoc. ``strict=False`` treats a missing
        ``meta`` or type constraint as "no constraint", as the ``dcql`` npm package does, for sloppy verifiers.
        """
        try:
            return _parse_query(obj, strict)
        except FormatError:
            raise
        except (TypeError, ValueError, RecursionError) as exc:  # defensive: hostile shapes we did not foresee
            raise _fail("dcql_invalid_query", "malformed DCQL query") from exc


# -- parsing helpers -----------------------------------------------------------------------------------------------


def _parse_query(obj: object, strict: bool) -> DcqlQuery:
    if not isinstance(obj, Mapping):
        raise _fail("dcql_invalid_query", "a DCQL query must be a JSON object")
    creds = obj.get("credentials")
    if not isinstance(creds, list) or not creds:
        raise _fail("dcql_invalid_query", "credentials must be a non-empty array")
    parsed = tuple(_parse_credential(c, strict) for c in creds)
    seen: set[str] = set()
    for c in parsed:
        if c.id in seen:
            raise _fail("dcql_duplicate_id", "the same credential query id appears more than once")
        seen.add(c.id)
    sets: tuple[CredentialSetQuery, ...] | None = None
    if "credential_sets" in obj:
        raw_sets = obj["credential_sets"]
        if not isinstance(raw_sets, list) or not raw_sets:
            raise _fail("dcql_invalid_credential_sets", "credential_sets must be a non-empty array")
        sets = tuple(_parse_credential_set(s, seen) for s in raw_sets)
    return DcqlQuery(credentials=parsed, credential_sets=sets)


def _parse_credential(obj: object, strict: bool) -> CredentialQuery:
    if not isinstance(obj, Mapping):
        raise _fail("dcql_invalid_query", "each credential query must be an object")
    cid = _check_id(obj.get("id"), "credential query")
    fmt = obj.get("format")
    if not isinstance(fmt, str) or not fmt:
        raise _fail("dcql_invalid_format", "format must be a non-empty string")
    meta = obj.get("meta")
    if meta is None and not strict:
        meta = {}
    if not isinstance(meta, Mapping):
        raise _fail("dcql_invalid_meta", "meta must be an object")
    _check_meta(fmt, meta, strict)
    multiple = _check_bool(obj, "multiple", False)
    holder_binding = _check_bool(obj, "require_cryptographic_holder_binding", True)
    trusted: tuple[TrustedAuthoritiesQuery, ...] | None = None
    if "trusted_authorities" in obj:
        trusted = _parse_trusted_authorities(obj["trusted_authorities"])
    claims: tuple[ClaimsQuery, ...] | None = None
    if "claims" in obj:
        raw_claims = obj["claims"]
        if not isinstance(raw_claims, list) or not raw_claims:
            raise _fail("dcql_invalid_claims", "claims must be a non-empty array")
        claims = tuple(_parse_claim(c, fmt) for c in raw_claims)
        ids = [c.id for c in claims if c.id is not None]
        if len(ids) != len(set(ids)):
            raise _fail("dcql_duplicate_claim_id", "the same claim id appears more than once")
    claim_sets: tuple[tuple[str, ...], ...] | None = None
    if "claim_sets" in obj:
        if claims is None:
            raise _fail("dcql_claim_sets_without_claims", "claim_sets must not be present without claims")
        if any(c.id is None for c in claims):
            raise _fail("dcql_missing_claim_id", "every claim needs an id when claim_sets is present")
        claim_sets = _parse_claim_sets(obj["claim_sets"], {c.id for c in claims if c.id is not None})
    return CredentialQuery(
        id=cid,
        format=fmt,
        meta=dict(meta),
        multiple=multiple,
        trusted_authorities=trusted,
        require_cryptographic_holder_binding=holder_binding,
        claims=claims,
        claim_sets=claim_sets,
    )


def _check_meta(fmt: str, meta: Mapping[str, Any], strict: bool) -> None:
    """Appendix B.3.5 (``vct_values``) and B.2.3 (``doctype_value``)."""
    if fmt in _SD_JWT_FORMATS:
        vct_values = meta.get("vct_values")
        if vct_values is None and not strict:
            return
        if not isinstance(vct_values, list) or not vct_values or not all(isinstance(v, str) and v for v in vct_values):
            raise _fail("dcql_invalid_meta", "meta.vct_values must be a non-empty array of strings")
    elif fmt == FORMAT_MDOC:
        doctype = meta.get("doctype_value")
        if doctype is None and not strict:
            return
        if not isinstance(doctype, str) or not doctype:
            raise _fail("dcql_invalid_meta", "meta.doctype_value must be a non-empty string")


def _parse_trusted_authorities(obj: object) -> tuple[TrustedAuthoritiesQuery, ...]:
    if not isinstance(obj, list) or not obj:
        raise _fail("dcql_invalid_trusted_authorities", "trusted_authorities must be a non-empty array")
    out = []
    for entry in obj:
        if not isinstance(entry, Mapping):
            raise _fail("dcql_invalid_trusted_authorities", "each trusted authority must be an object")
        typ, values = entry.get("type"), entry.get("values")
        if not isinstance(typ, str) or not typ:
            raise _fail("dcql_invalid_trusted_authorities", "type must be a non-empty string")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            raise _fail("dcql_invalid_trusted_authorities", "values must be a non-empty array of strings")
        if typ == "aki" and not all(_B64URL_RE.fullmatch(v) and len(v) % 4 != 1 for v in values):
            raise _fail("dcql_invalid_trusted_authorities", "aki values must be base64url")
        out.append(TrustedAuthoritiesQuery(type=typ, values=tuple(values)))
    return tuple(out)


def _parse_path(obj: object, fmt: str) -> ClaimPath:
    """§7: a non-empty array of strings, nulls and non-negative integers; for mdoc exactly two strings (§7.2)."""
    if not isinstance(obj, list) or not obj:
        raise _fail("dcql_invalid_claims_path", "path must be a non-empty array")
    for comp in obj:
        if not (comp is None or isinstance(comp, str) or (_is_int(comp) and comp >= 0)):
            raise _fail("dcql_invalid_claims_path", "path components must be strings, null or integers >= 0")
    if fmt == FORMAT_MDOC and (len(obj) != 2 or not all(isinstance(c, str) for c in obj)):
        raise _fail("dcql_invalid_claims_path", "an mdoc path is [namespace, data element identifier]")
    return tuple(obj)


def _parse_claim(obj: object, fmt: str) -> ClaimsQuery:
    if not isinstance(obj, Mapping):
        raise _fail("dcql_invalid_claims", "each claims query must be an object")
    claim_id = _check_id(obj["id"], "claim") if "id" in obj else None
    path = _parse_path(obj.get("path"), fmt)
    values: tuple[ClaimValue, ...] | None = None
    if "values" in obj:
        raw = obj["values"]
        if not isinstance(raw, list) or not raw or not all(isinstance(v, str | bool) or _is_int(v) for v in raw):
            raise _fail("dcql_invalid_claim_values", "values must be a non-empty array of strings, integers, booleans")
        values = tuple(raw)
    intent: bool | None = None
    if "intent_to_retain" in obj:
        intent = obj["intent_to_retain"]
        if not isinstance(intent, bool):
            raise _fail("dcql_invalid_claims", "intent_to_retain must be a boolean")
    return ClaimsQuery(path=path, id=claim_id, values=values, intent_to_retain=intent)


def _parse_claim_sets(obj: object, claim_ids: set[str]) -> tuple[tuple[str, ...], ...]:
    if not isinstance(obj, list) or not obj:
        raise _fail("dcql_invalid_claim_sets", "claim_sets must be a non-empty array")
    out = []
    for option in obj:
        if not isinstance(option, list) or not option or not all(isinstance(i, str) for i in option):
            raise _fail("dcql_invalid_claim_sets", "each claim set must be a non-empty array of claim ids")
        if any(i not in claim_ids for i in option):
            raise _fail("dcql_unknown_claim_id", "a claim set names a claim id that is not defined")
        out.append(tuple(option))
    return tuple(out)


def _parse_credential_set(obj: object, credential_ids: set[str]) -> CredentialSetQuery:
    if not isinstance(obj, Mapping):
        raise _fail("dcql_invalid_credential_sets", "each credential set must be an object")
    options = obj.get("options")
    if not isinstance(options, list) or not options:
        raise _fail("dcql_invalid_credential_sets", "options must be a non-empty array")
    parsed = []
    for option in options:
        if not isinstance(option, list) or not option or not all(isinstance(i, str) for i in option):
            raise _fail("dcql_invalid_credential_sets", "each option must be a non-empty array of ids")
        if any(i not in credential_ids for i in option):
            raise _fail("dcql_unknown_credential_id", "an option names a credential query id that is not defined")
        parsed.append(tuple(option))
    required = obj.get("required", True)
    if not isinstance(required, bool):
        raise _fail("dcql_invalid_credential_sets", "required must be a boolean")
    return CredentialSetQuery(options=tuple(parsed), required=required, purpose=obj.get("purpose"))


# ================================================================================================================
# §7 Claims path pointers
# ================================================================================================================


def select_json_claims(
    credential: Mapping[str, Any], path: Sequence[ClaimPathComponent]
) -> list[tuple[ClaimPath, Any]]:
    """§7.1.1: process a claims path pointer on a JSON credential; returns ``(concrete path, value)`` pairs.

    Raises :class:`FormatError` ``dcql_claims_path_error`` where the processing rules say "abort and return an
    error": a key applied to a non-object, a null or index applied to a non-array, or an empty selection at the
    end. A key present with value ``null`` is selected (the key exists); ``[..., null]`` on an empty array
    selects nothing and is therefore an error. (The ``dcql`` npm package 3.0.0 treats a null value as absent and
    accepts the empty array; this module follows the spec text.)
    """
    selected: list[tuple[ClaimPath, Any]] = [((), credential)]
    for comp in path:
        nxt: list[tuple[ClaimPath, Any]] = []
        if isinstance(comp, str):
            for p, elem in selected:
                if not isinstance(elem, Mapping):
                    raise _fail("dcql_claims_path_error", "a key was applied to a non-object")
                if comp in elem:
                    nxt.append(((*p, comp), elem[comp]))
        elif comp is None:
            for p, elem in selected:
                if not isinstance(elem, list | tuple):
                    raise _fail("dcql_claims_path_error", "null was applied to a non-array")
                nxt.extend(((*p, i), v) for i, v in enumerate(elem))
        elif _is_int(comp) and comp >= 0:
            for p, elem in selected:
                if not isinstance(elem, list | tuple):
                    raise _fail("dcql_claims_path_error", "an index was applied to a non-array")
                if comp < len(elem):
                    nxt.append(((*p, comp), elem[comp]))
        else:
            raise _fail("dcql_claims_path_error", "invalid path component")
        selected = nxt
    if not selected:
        raise _fail("dcql_claims_path_error", "the path selects nothing")
    return selected


def select_mdoc_claim(namespaces: Mapping[str, Any], path: Sequence[ClaimPathComponent]) -> Any:
    """§7.2.1: ``[namespace, element]`` into ``{namespace: {element: value}}``; errors as the spec lists."""
    if len(path) != 2 or not all(isinstance(c, str) for c in path):
        raise _fail("dcql_claims_path_error", "an mdoc path is [namespace, data element identifier]")
    ns, element = path
    items = namespaces.get(ns)  # type: ignore[arg-type]
    if not isinstance(items, Mapping):
        raise _fail("dcql_claims_path_error", "namespace not present")
    if element not in items:
        raise _fail("dcql_claims_path_error", "data element not present")
    return items[element]


def _cbor_to_json(value: Any) -> Any:
    """§6.3: convert an mdoc (CBOR) value to JSON per RFC 8949 §6.1 before value matching.

    Byte strings become base64url without padding; tags are dropped for their content, so ``full-date`` (1004)
    becomes ``YYYY-MM-DD`` and ``tdate`` (0) an RFC 3339 string ending in ``Z`` for UTC.
    """
    if isinstance(value, bytes | bytearray):
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode("ascii")
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, date):
        return value.isoformat()
    tag_value = getattr(value, "value", None)
    if type(value).__name__ == "CBORTag" and tag_value is not None:
        return _cbor_to_json(tag_value)
    return value


def _value_matches(actual: Any, expected: Iterable[ClaimValue]) -> bool:
    """§6.3 ``values``: type and value both match exactly (``true`` is not ``1``, ``"1"`` is not ``1``)."""
    for want in expected:
        if isinstance(want, bool):
            if isinstance(actual, bool) and actual is want:
                return True
        elif isinstance(want, int):
            if _is_int(actual) and actual == want:
                return True
        elif isinstance(actual, str) and actual == want:
            return True
    return False


# ================================================================================================================
# Matching engine
# ================================================================================================================


@dataclass(frozen=True, slots=True)
class CandidateCredential:
    """A credential in the holder's wallet, as the matching engine needs it (either format).

    ``claims``: for SD-JWT VC the fully disclosed nested claim set (every disclosure applied); for mdoc
    ``{namespace: {element identifier: value}}``. ``authority_key_identifiers``: the raw AuthorityKeyIdentifier
    key identifiers of the certificates in the issuer's chain (§6.1.1 ``aki``); ``trusted_lists`` and
    ``federation_entities``: the ETSI Trusted List identifiers and OpenID Federation entity identifiers the
    wallet knows the issuer to chain up to (§6.1.1 ``etsi_tl``, ``openid_federation``). ``vct_extends``: the
    types a ``vct`` inherits from (Appendix B.3.5 allows returning credentials of an inheriting type).
    """

    id: str
    format: str
    claims: Mapping[str, Any]
    vct: str | None = None
    doctype: str | None = None
    vct_extends: tuple[str, ...] = ()
    authority_key_identifiers: frozenset[bytes] = frozenset()
    trusted_lists: frozenset[str] = frozenset()
    federation_entities: frozenset[str] = frozenset()
    cryptographic_holder_binding: bool = True


@dataclass(frozen=True, slots=True)
class ClaimMatch:
    """One satisfied Claims Query: the query path and the concrete claim paths it selected."""

    query_path: ClaimPath
    paths: tuple[ClaimPath, ...]
    claim_id: str | None = None
    intent_to_retain: bool | None = None


@dataclass(frozen=True, slots=True)
class CredentialMatch:
    """A credential that satisfies a Credential Query, with the minimal claims to disclose (§6.4.1)."""

    credential_id: str
    claims: tuple[ClaimMatch, ...]
    claim_set_index: int | None = None

    @property
    def disclose(self) -> tuple[ClaimPath, ...]:
        """The concrete claim paths to disclose, deduplicated, in query order. Empty when the query has no
        ``claims``: then only what is mandatory to present is sent (§6.4.1, first rule)."""
        seen: dict[ClaimPath, None] = {}
        for c in self.claims:
            for p in c.paths:
                seen.setdefault(p, None)
        return tuple(seen)


@dataclass(frozen=True, slots=True)
class CredentialQueryResult:
    """Per Credential Query: the matching credentials and, for the others, why not (stable reason codes:
    ``format_mismatch``, ``vct_mismatch``, ``doctype_mismatch``, ``holder_binding_missing``,
    ``untrusted_authority``, ``claims_unsatisfied``)."""

    query_id: str
    matches: tuple[CredentialMatch, ...]
    rejected: Mapping[str, str]

    @property
    def satisfied(self) -> bool:
        return bool(self.matches)


@dataclass(frozen=True, slots=True)
class CredentialSetResult:
    """§6.4.2: one Credential Set Query and which of its options the wallet can satisfy."""

    index: int
    required: bool
    options: tuple[tuple[str, ...], ...]
    satisfiable_options: tuple[tuple[str, ...], ...]

    @property
    def satisfied(self) -> bool:
        return bool(self.satisfiable_options)


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The outcome of :func:`match_query`."""

    credentials: Mapping[str, CredentialQueryResult]
    credential_sets: tuple[CredentialSetResult, ...] | None
    can_be_satisfied: bool

    def selected_query_ids(self) -> tuple[str, ...]:
        """The Credential Query ids to answer by default (§6.4.2): all of them without ``credential_sets``;
        otherwise, per set, its first satisfiable option (the Verifier's order), optional sets included when
        satisfiable. Empty when the query cannot be satisfied (then nothing may be returned)."""
        if not self.can_be_satisfied:
            return ()
        if self.credential_sets is None:
            return tuple(self.credentials)
        chosen: dict[str, None] = {}
        for s in self.credential_sets:
            if s.satisfiable_options:
                for qid in s.satisfiable_options[0]:
                    chosen.setdefault(qid, None)
        return tuple(chosen)


def authority_key_identifiers(chain: Iterable[x509.Certificate]) -> frozenset[bytes]:
    """§6.1.1 ``aki``: the AuthorityKeyIdentifier key identifiers (RFC 5280 §4.2.1.1) of every certificate in a
    credential's chain (``x5c`` of an SD-JWT VC, ``x5chain`` of an mdoc's IssuerAuth), for
    :attr:`CandidateCredential.authority_key_identifiers`. Certificates without the extension add nothing."""
    out: set[bytes] = set()
    for cert in chain:
        try:
            ext = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
        except (x509.ExtensionNotFound, ValueError):
            continue
        if ext.value.key_identifier:
            out.add(bytes(ext.value.key_identifier))
    return frozenset(out)


def _trusted(candidate: CandidateCredential, queries: Sequence[TrustedAuthoritiesQuery]) -> bool:
    """§6.1.1: the credential matches one value of one of the entries."""
    for q in queries:
        if q.type == "aki":
            for v in q.values:
                try:
                    raw = base64.urlsafe_b64decode(v + "=" * (-len(v) % 4))
                except (binascii.Error, ValueError):
                    continue
                if raw in candidate.authority_key_identifiers:
                    return True
        elif q.type == "etsi_tl":
            if any(v in candidate.trusted_lists for v in q.values):
                return True
        elif q.type == "openid_federation" and any(v in candidate.federation_entities for v in q.values):
            return True
    return False


def _match_claim(
    candidate: CandidateCredential, query: CredentialQuery, claim: ClaimsQuery, enforce_values: bool = True
) -> ClaimMatch | None:
    """One Claims Query against one credential; ``None`` if the claim is missing or no value matches."""
    if query.is_mdoc:
        try:
            value = select_mdoc_claim(candidate.claims, claim.path)
        except FormatError:
            return None
        if enforce_values and claim.values is not None and not _value_matches(_cbor_to_json(value), claim.values):
            return None
        return ClaimMatch(claim.path, (claim.path,), claim.id, claim.intent_to_retain)
    try:
        selected = select_json_claims(candidate.claims, claim.path)
    except FormatError:
        return None
    if enforce_values and claim.values is not None:
        # §6.4.1: a non-matching value is treated as if the claim did not exist; of a multi-element selection
        # only the elements that match are disclosed (data minimisation).
        selected = [(p, v) for p, v in selected if _value_matches(v, claim.values)]
        if not selected:
            return None
    return ClaimMatch(claim.path, tuple(p for p, _ in selected), claim.id, claim.intent_to_retain)


def match_credential(
    query: CredentialQuery,
    candidate: CandidateCredential,
    *,
    enforce_values: bool = True,
    enforce_trusted_authorities: bool = True,
) -> CredentialMatch | str:
    """§6.1 + §6.4.1: does ``candidate`` satisfy ``query``? A :class:`CredentialMatch` or a reason code.

    The two switches exist for the Verifier side (:func:`check_response`), where ``values`` are only a
    best-effort privacy aid (§6.4.1: Verifiers MUST NOT rely on them) and issuer trust is the Verifier's own
    decision, not the ``trusted_authorities`` hint."""
    if not (
        (query.is_sd_jwt_vc and candidate.format in _SD_JWT_FORMATS)
        or (query.is_mdoc and candidate.format == FORMAT_MDOC)
    ):
        return "format_mismatch"
    if query.is_sd_jwt_vc:
        wanted = query.vct_values
        if wanted is not None and not ({candidate.vct, *candidate.vct_extends} & set(wanted)):
            return "vct_mismatch"
    else:
        doctype = query.doctype_value
        if doctype is not None and candidate.doctype != doctype:
            return "doctype_mismatch"
    if query.require_cryptographic_holder_binding and not candidate.cryptographic_holder_binding:
        return "holder_binding_missing"
    if (
        enforce_trusted_authorities
        and query.trusted_authorities is not None
        and not _trusted(candidate, query.trusted_authorities)
    ):
        return "untrusted_authority"
    if query.claims is None:
        return CredentialMatch(candidate.id, ())
    results = {i: _match_claim(candidate, query, c, enforce_values) for i, c in enumerate(query.claims)}
    if query.claim_sets is None:
        if any(r is None for r in results.values()):
            return "claims_unsatisfied"
        return CredentialMatch(candidate.id, tuple(r for r in results.values() if r is not None))
    by_id = {c.id: results[i] for i, c in enumerate(query.claims)}
    for index, option in enumerate(query.claim_sets):  # the Verifier's order of preference
        chosen = [by_id[cid] for cid in option]
        if all(m is not None for m in chosen):
            return CredentialMatch(candidate.id, tuple(m for m in chosen if m is not None), index)
    return "claims_unsatisfied"


def match_query(query: DcqlQuery, credentials: Iterable[CandidateCredential]) -> MatchResult:
    """§6.4: match a parsed query against the holder's credentials. Pure: no I/O, no user choice.

    Per Credential Query every matching credential is listed (the wallet or the user picks one, or several
    when ``multiple`` is true). Without ``credential_sets`` every Credential Query must be satisfied; with
    them, every required set needs one option whose Credential Queries all have a match.
    """
    creds = list(credentials)
    per_query: dict[str, CredentialQueryResult] = {}
    for q in query.credentials:
        matches: list[CredentialMatch] = []
        rejected: dict[str, str] = {}
        for cand in creds:
            outcome = match_credential(q, cand)
            if isinstance(outcome, CredentialMatch):
                matches.append(outcome)
            else:
                rejected[cand.id] = outcome
        per_query[q.id] = CredentialQueryResult(q.id, tuple(matches), rejected)
    if query.credential_sets is None:
        return MatchResult(per_query, None, all(r.satisfied for r in per_query.values()))
    set_results = []
    for index, s in enumerate(query.credential_sets):
        ok = tuple(o for o in s.options if all(per_query[qid].satisfied for qid in o))
        set_results.append(CredentialSetResult(index, s.required, s.options, ok))
    can = all(r.satisfied for r in set_results if r.required)
    return MatchResult(per_query, tuple(set_results), can)


def check_response(query: DcqlQuery, presented: Mapping[str, Sequence[CandidateCredential]]) -> MatchResult:
    """Verifier side: does a VP Token answer ``query``? ``presented`` maps each ``vp_token`` key to the
    *verified* presentations under it, described as :class:`CandidateCredential` (claims = what was disclosed,
    ``cryptographic_holder_binding`` = a key-binding proof was present and valid).

    Checks §8.1 (keys are Credential Query ids; one or more presentations each; only one unless ``multiple``),
    §6.4.1 (each presentation has the format, type and holder binding asked for and discloses the requested
    claims of some claim set; ``values`` not enforced) and §6.4.2 (every Credential Query answered, or with
    ``credential_sets`` every required set covered by one option). Raises :class:`FormatError`:
    ``dcql_unknown_credential_id``, ``dcql_empty_presentation``, ``dcql_too_many_presentations``,
    ``dcql_presentation_mismatch`` (``details["reason"]`` holds the reason code) or ``dcql_query_not_satisfied``.
    """
    by_id = {c.id: c for c in query.credentials}
    per_query: dict[str, CredentialQueryResult] = {}
    for qid, items in presented.items():
        q = by_id.get(qid)
        if q is None:
            raise FormatError("dcql_unknown_credential_id", "the response answers a query that was not asked")
        if not items:
            raise FormatError("dcql_empty_presentation", "a response entry holds no presentation")
        if len(items) > 1 and not q.multiple:
            raise FormatError("dcql_too_many_presentations", "several presentations for a query without multiple")
        matches = []
        for cand in items:
            outcome = match_credential(q, cand, enforce_values=False, enforce_trusted_authorities=False)
            if not isinstance(outcome, CredentialMatch):
                raise FormatError("dcql_presentation_mismatch", "a presentation does not fit its query", reason=outcome)
            matches.append(outcome)
        per_query[qid] = CredentialQueryResult(qid, tuple(matches), {})
    for q in query.credentials:
        per_query.setdefault(q.id, CredentialQueryResult(q.id, (), {}))
    if query.credential_sets is None:
        ok = all(r.satisfied for r in per_query.values())
        set_results = None
    else:
        set_list = []
        for index, s in enumerate(query.credential_sets):
            sat = tuple(o for o in s.options if all(per_query[qid].satisfied for qid in o))
            set_list.append(CredentialSetResult(index, s.required, s.options, sat))
        set_results = tuple(set_list)
        ok = all(r.satisfied for r in set_results if r.required)
    if not ok:
        raise FormatError("dcql_query_not_satisfied", "the response does not answer every required query")
    return MatchResult(per_query, set_results, True)
