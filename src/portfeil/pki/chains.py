"""Certificate path validation per role (RFC 5280 §6) with a bounded cache for hot paths.

Path building, signature checks, basicConstraints, path length, name constraints and validity are done by
``cryptography.x509.verification`` (a client verifier with custom extension policies, cryptography >= 45). The
role profile (:mod:`portfeil.pki.roles`) is enforced twice: by extension-policy validators inside the verifier
and by a hand check of the leaf before it, which also yields precise error codes. Hand-checked as well, since
the verifier does not report them separately: the validity window of each supplied certificate (RFC 5280
§4.1.2.5, inclusive bounds) and unknown critical extensions (RFC 5280 §4.2).

Error codes (``PKIError.code``): ``malformed_certificate``, ``chain_too_long``, ``certificate_expired``,
``certificate_not_yet_valid``, ``unsupported_critical_extension``, ``leaf_is_ca``, ``wrong_key_usage``,
``wrong_extended_key_usage``, ``missing_san``, ``path_length_exceeded``, ``untrusted_chain``, ``naive_datetime``.

``chain[0]`` is the leaf; the rest are intermediates in ``x5c`` / ``x5chain`` order (RFC 7515 §4.1.6, RFC 9360).
The root may be included or left out; only the caller's anchors (one role's anchors) are trusted.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from portfeil.pki.certs import cert_from_der, cert_to_der, san_dns_names, san_uris
from portfeil.pki.errors import PKIError
from portfeil.pki.roles import Role, RoleProfile, profile_for

__all__ = [
    "MAX_CHAIN_LENGTH",
    "ChainValidator",
    "check_leaf_profile",
    "san_dns_names",
    "san_uris",
    "validate_chain",
]

MAX_CHAIN_LENGTH = 8
"""Longest accepted supplied chain and built path (leaf + intermediates + anchor)."""

_KU_FIELDS = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
              "key_agreement", "key_cert_sign", "crl_sign")

_UNDERSTOOD_CRITICAL = frozenset({
    x509.oid.ExtensionOID.BASIC_CONSTRAINTS,
    x509.oid.ExtensionOID.KEY_USAGE,
    x509.oid.ExtensionOID.EXTENDED_KEY_USAGE,
    x509.oid.ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
    x509.oid.ExtensionOID.ISSUER_ALTERNATIVE_NAME,
    x509.oid.ExtensionOID.NAME_CONSTRAINTS,
})
"""Critical extensions this validator (with cryptography's verifier) processes; others fail (RFC 5280 §4.2)."""


# ---------------------------------------------------------------------------------------------------------------
# Profile checks shared by the hand check and the verifier's extension validators.

def _check_leaf_basic_constraints(value: x509.BasicConstraints | None) -> None:
    if value is not None and value.ca:
        raise PKIError("leaf_is_ca", "the end-entity certificate is a CA certificate")


def _check_key_usage(profile: RoleProfile, value: x509.KeyUsage | None) -> None:
    if value is None or not any(getattr(value, f) for f in _KU_FIELDS if f in profile.accepted_key_usage):
        raise PKIError("wrong_key_usage", f"key usage does not fit the {profile.role} role")


def _check_eku(profile: RoleProfile, value: x509.ExtendedKeyUsage | None) -> None:
    if value is None or not profile.accepted_ekus.intersection(value):
        raise PKIError("wrong_extended_key_usage", f"extended key usage does not fit the {profile.role} role")


def _check_san(profile: RoleProfile, value: x509.SubjectAlternativeName | None) -> None:
    if not profile.require_san:
        return
    if value is None or not (value.get_values_for_type(x509.DNSName)
                             or value.get_values_for_type(x509.UniformResourceIdentifier)):
        raise PKIError("missing_san", f"a {profile.role} certificate must name its service in the SAN")


def _ext(cert: x509.Certificate, cls: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def check_leaf_profile(leaf: x509.Certificate, role: Role) -> None:
    """Check only the end-entity profile of ``role`` (key usage, EKU, not a CA, SAN where required), without a
    path: for certificates trusted by pinning (e.g. the LOTL signer certificates published in the Official
    Journal). Raises ``leaf_is_ca``, ``wrong_key_usage``, ``wrong_extended_key_usage`` or ``missing_san``."""
    _check_leaf_profile(profile_for(role), leaf)


def _check_leaf_profile(profile: RoleProfile, leaf: x509.Certificate) -> None:
    bc = _ext(leaf, x509.BasicConstraints)
    ku = _ext(leaf, x509.KeyUsage)
    eku = _ext(leaf, x509.ExtendedKeyUsage)
    san = _ext(leaf, x509.SubjectAlternativeName)
    assert bc is None or isinstance(bc, x509.BasicConstraints)
    assert ku is None or isinstance(ku, x509.KeyUsage)
    assert eku is None or isinstance(eku, x509.ExtendedKeyUsage)
    assert san is None or isinstance(san, x509.SubjectAlternativeName)
    _check_leaf_basic_constraints(bc)
    _check_key_usage(profile, ku)
    _check_eku(profile, eku)
    _check_san(profile, san)


def _policies(profile: RoleProfile) -> tuple[ExtensionPolicy, ExtensionPolicy]:
    def ca_bc(_p: Policy, _c: x509.Certificate, value: x509.BasicConstraints) -> None:
        if not value.ca:
            raise ValueError("not_a_ca")

    def ca_ku(_p: Policy, _c: x509.Certificate, value: x509.KeyUsage | None) -> None:
        if value is not None and not value.key_cert_sign:
            raise ValueError("ca_wrong_key_usage")

    def ee_bc(_p: Policy, _c: x509.Certificate, value: x509.BasicConstraints | None) -> None:
        _reraise(_check_leaf_basic_constraints, value)

    def ee_ku(_p: Policy, _c: x509.Certificate, value: x509.KeyUsage) -> None:
        _reraise(lambda v: _check_key_usage(profile, v), value)

    def ee_eku(_p: Policy, _c: x509.Certificate, value: x509.ExtendedKeyUsage) -> None:
        _reraise(lambda v: _check_eku(profile, v), value)

    def ee_san(_p: Policy, _c: x509.Certificate, value: x509.SubjectAlternativeName | None) -> None:
        _reraise(lambda v: _check_san(profile, v), value)

    ca = (
        ExtensionPolicy.permit_all()
        .require_present(x509.BasicConstraints, Criticality.CRITICAL, ca_bc)
        .may_be_present(x509.KeyUsage, Criticality.AGNOSTIC, ca_ku)
    )
    ee = (
        ExtensionPolicy.permit_all()
        .may_be_present(x509.BasicConstraints, Criticality.AGNOSTIC, ee_bc)
        .require_present(x509.KeyUsage, Criticality.AGNOSTIC, ee_ku)
        .require_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, ee_eku)
        .may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, ee_san)
    )
    return ca, ee


def _reraise(check: object, value: object) -> None:
    try:
        check(value)  # type: ignore[operator]
    except PKIError as exc:
        raise ValueError(exc.code) from None


_POLICY_CACHE: dict[Role, tuple[ExtensionPolicy, ExtensionPolicy]] = {}


def _policies_for(role: Role) -> tuple[ExtensionPolicy, ExtensionPolicy]:
    pols = _POLICY_CACHE.get(role)
    if pols is None:
        pols = _POLICY_CACHE[role] = _policies(profile_for(role))
    return pols


# ---------------------------------------------------------------------------------------------------------------

def _utc(now: datetime) -> datetime:
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise PKIError("naive_datetime", "now must be a timezone-aware datetime")
    return now.astimezone(UTC)


def _check_window(cert: x509.Certificate, now: datetime) -> None:
    if now < cert.not_valid_before_utc:
        raise PKIError("certificate_not_yet_valid", "a certificate of the chain is not yet valid")
    if now > cert.not_valid_after_utc:
        raise PKIError("certificate_expired", "a certificate of the chain has expired")


_CODES_FROM_VERIFIER = ("leaf_is_ca", "wrong_extended_key_usage", "wrong_key_usage", "missing_san")


def _map_verification_error(exc: VerificationError, path_hint: Sequence[x509.Certificate],
                            anchors: Sequence[x509.Certificate], now: datetime) -> PKIError:
    text = str(exc)
    if "path length" in text:
        return PKIError("path_length_exceeded", "a CA's path length constraint is exceeded")
    if "not valid at validation time" in text:
        for cert in (*path_hint, *anchors):
            if now < cert.not_valid_before_utc:
                return PKIError("certificate_not_yet_valid", "a certificate of the path is not yet valid")
        return PKIError("certificate_expired", "a certificate of the path (or its anchor) has expired")
    for code in _CODES_FROM_VERIFIER:
        if code in text:
            return PKIError(code, "the end-entity certificate does not fit the role")
    return PKIError("untrusted_chain", "no valid path to a trust anchor of this role")


@dataclass(frozen=True)
class _Entry:
    path: tuple[x509.Certificate, ...]
    not_before: datetime  # the latest notBefore of the path
    not_after: datetime  # the earliest notAfter of the path


class ChainValidator:
    """Validates chains for one role against one anchor set, caching successful path building.

    The cache (bounded LRU, ``cache_size`` entries, 0 disables it) is keyed by the exact DER bytes of the
    supplied chain plus a digest of the anchor set; a hit skips parsing and path building but still enforces
    every path certificate's validity window at ``now``. Failures are never cached.
    """

    def __init__(self, anchors: Sequence[x509.Certificate], role: Role, *, cache_size: int = 4096) -> None:
        self.role = Role(role)
        self.profile = profile_for(self.role)
        if not all(isinstance(a, x509.Certificate) for a in anchors):
            raise PKIError("malformed_certificate", "anchors must be certificates")
        self.anchors: tuple[x509.Certificate, ...] = tuple(anchors)
        ders = sorted(cert_to_der(a) for a in self.anchors)
        self._anchor_ders = frozenset(ders)
        digest = hashlib.sha256()
        for der in ders:
            digest.update(len(der).to_bytes(4, "big") + der)
        digest.update(self.role.value.encode())
        self.anchor_digest = digest.digest()
        self._store = Store(list(self.anchors)) if self.anchors else None
        self._ca_policy, self._ee_policy = _policies_for(self.role)
        self._cache_size = max(0, int(cache_size))
        self._cache: OrderedDict[tuple[bytes, tuple[bytes, ...]], _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def validate(self, chain_der: Sequence[bytes], *, now: datetime) -> x509.Certificate:
        """Validate a chain given as DER certificates (leaf first); returns the leaf."""
        return self.validated_path(chain_der, now=now)[0]

    def validate_certs(self, chain: Sequence[x509.Certificate], *, now: datetime) -> x509.Certificate:
        """Validate a chain of parsed certificates (leaf first); returns the leaf."""
        if not isinstance(chain, Sequence) or not all(isinstance(c, x509.Certificate) for c in chain):
            raise PKIError("malformed_certificate", "chain must be a sequence of certificates")
        return self.validated_path([cert_to_der(c) for c in chain], now=now)[0]

    def validated_path(self, chain_der: Sequence[bytes], *, now: datetime) -> tuple[x509.Certificate, ...]:
        """Like :meth:`validate` but returns the whole built path: leaf, intermediates, anchor."""
        # Written for the cache hit, which runs on every presentation: exact type checks first, the general
        # ones only for other inputs.
        if type(now) is not datetime or now.tzinfo is None:
            now = _utc(now)
        if type(chain_der) is not tuple or not 0 < len(chain_der) <= MAX_CHAIN_LENGTH:
            if isinstance(chain_der, bytes | str) or not isinstance(chain_der, Sequence):
                raise PKIError("malformed_certificate", "chain must be a sequence of DER certificates")
            if not chain_der:
                raise PKIError("malformed_certificate", "empty chain")
            if len(chain_der) > MAX_CHAIN_LENGTH:
                raise PKIError("chain_too_long", "the chain has too many certificates")
            chain_der = tuple(chain_der)
        for d in chain_der:
            if type(d) is not bytes and not isinstance(d, bytes):
                raise PKIError("malformed_certificate", "chain entries must be DER bytes")
        key = (self.anchor_digest, chain_der)
        if self._cache_size:
            with self._lock:
                entry = self._cache.get(key)
                if entry is not None:
                    self._cache.move_to_end(key)
            if entry is not None:
                # aware datetimes compare across time zones
                if now < entry.not_before:
                    raise PKIError("certificate_not_yet_valid", "a certificate of the path is not yet valid")
                if now > entry.not_after:
                    raise PKIError("certificate_expired", "a certificate of the path (or its anchor) has expired")
                self.hits += 1
                return entry.path
        self.misses += 1
        now = now.astimezone(UTC)
        certs = [cert_from_der(d) for d in chain_der]
        path = self._build(certs, now)
        if self._cache_size:
            entry = _Entry(
                path,
                max(c.not_valid_before_utc for c in path),
                min(c.not_valid_after_utc for c in path),
            )
            with self._lock:
                self._cache[key] = entry
                self._cache.move_to_end(key)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return path

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def _build(self, certs: list[x509.Certificate], now: datetime) -> tuple[x509.Certificate, ...]:
        leaf = certs[0]
        for cert in certs:
            _check_window(cert, now)
            for ext in cert.extensions:
                if ext.critical and ext.oid not in _UNDERSTOOD_CRITICAL:
                    raise PKIError("unsupported_critical_extension", "a certificate has an unknown critical extension")
        _check_leaf_profile(self.profile, leaf)
        if self._store is None:
            raise PKIError("untrusted_chain", "no trust anchors for this role")
        verifier = (
            PolicyBuilder()
            .store(self._store)
            .time(now)
            .max_chain_depth(MAX_CHAIN_LENGTH)
            .extension_policies(ca_policy=self._ca_policy, ee_policy=self._ee_policy)
            .build_client_verifier()
        )
        try:
            verified = verifier.verify(leaf, certs[1:])
        except VerificationError as exc:
            raise _map_verification_error(exc, certs, self.anchors, now) from None
        except ValueError as exc:  # defensive: odd inputs the verifier refuses outright
            raise PKIError("untrusted_chain", "no valid path to a trust anchor of this role") from exc
        path = tuple(verified.chain)
        if not path or cert_to_der(path[-1]) not in self._anchor_ders:  # pragma: no cover - verifier guarantees
            raise PKIError("untrusted_chain", "the path does not end at an anchor of this role")
        return path


def validate_chain(
    chain: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    *,
    role: Role,
    now: datetime,
) -> x509.Certificate:
    """Validate ``chain`` (leaf first, intermediates in x5c order) for ``role`` against ``anchors`` at ``now``
    (RFC 5280 §6.1 via cryptography's verifier plus the role profile); returns the leaf. Uncached."""
    return ChainValidator(anchors, role, cache_size=0).validate_certs(chain, now=now)
