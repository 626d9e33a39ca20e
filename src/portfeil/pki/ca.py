"""Certificate authorities: roots, intermediates and end-entity certificates for each :class:`Role`.

Profiles (key usage, EKU, SAN, issuerAltName) come from :data:`portfeil.pki.roles.ROLE_PROFILES`; the table in
:mod:`portfeil.pki.roles` documents every choice. Certificates follow RFC 5280 §4 (v3, positive serial of at
most 20 octets, SKI/AKI key identifiers per §4.2.1.1-2, critical basicConstraints and keyUsage on CAs), and the
IACA and document signer follow ISO/IEC 18013-5:2021 Annex B.1.2-B.1.4 (IACA pathLen 0, issuerAltName,
country in the subject; DS with critical EKU id-mdl-kp-mdlDS). Pure: time comes from ``now``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from portfeil.pki.certs import (
    cert_from_b64der,
    cert_from_der,
    cert_from_pem,
    cert_sha256_b64url,
    cert_to_b64der,
    cert_to_der,
    cert_to_pem,
    certs_from_pem,
    certs_from_x5c,
    certs_to_x5c,
    san_dns_names,
    san_uris,
)
from portfeil.pki.errors import PKIError
from portfeil.pki.keys import PrivateKey, PublicKey, generate_private_key
from portfeil.pki.roles import Role, profile_for

__all__ = [
    "IssuedCertificate",
    "cert_from_b64der",
    "cert_from_der",
    "cert_from_pem",
    "cert_sha256_b64url",
    "cert_to_b64der",
    "cert_to_der",
    "cert_to_pem",
    "certs_from_pem",
    "certs_from_x5c",
    "certs_to_x5c",
    "create_intermediate_ca",
    "create_root_ca",
    "issue_leaf",
    "san_dns_names",
    "san_uris",
]

_CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
    key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
)
_KU_FIELDS = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
              "key_agreement", "key_cert_sign", "crl_sign")


@dataclass(frozen=True)
class IssuedCertificate:
    """A CA (or any) certificate with its private key.

    ``chain`` holds the intermediate certificates *above* this one, nearest first, up to but excluding the
    root (empty for a root and for an intermediate issued directly by a root).
    """

    certificate: x509.Certificate
    key: PrivateKey
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def is_root(self) -> bool:
        return self.certificate.issuer == self.certificate.subject

    def chain_for(self, leaf: x509.Certificate) -> list[x509.Certificate]:
        """The x5c / x5chain for a leaf this CA issued: leaf, then the intermediates, without the root."""
        return [leaf, *([] if self.is_root else [self.certificate]), *self.chain]


def _utc(now: datetime) -> datetime:
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise PKIError("naive_datetime", "now must be a timezone-aware datetime")
    return now.astimezone(UTC).replace(microsecond=0)


def _ca_key(key: PrivateKey | None) -> PrivateKey:
    key = key if key is not None else generate_private_key("ES256")
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PKIError("unsupported_alg", "CA keys must be ECDSA (P-256, P-384 or P-521)")
    return key


def _hash_for(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name == "secp384r1":
            return hashes.SHA384()
        if key.curve.name == "secp521r1":
            return hashes.SHA512()
        return hashes.SHA256()
    raise PKIError("unsupported_alg", "CA keys must be ECDSA (P-256, P-384 or P-521)")


def _name(common_name: str, country: str | None, organization: str | None) -> x509.Name:
    attrs: list[x509.NameAttribute[str]] = []
    try:
        if country:
            attrs.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
        if organization:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    except ValueError as exc:
        raise PKIError("invalid_name", "invalid subject name attribute") from exc
    return x509.Name(attrs)


def _name_attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    attrs = name.get_attributes_for_oid(oid)
    value = attrs[0].value if attrs else None
    return value if isinstance(value, str) else None


def _ski(cert: x509.Certificate) -> x509.SubjectKeyIdentifier | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return None


def _aki_for(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    ski = _ski(issuer)
    if ski is not None:
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key())  # type: ignore[arg-type]


def _issuer_basic_constraints(issuer: x509.Certificate) -> x509.BasicConstraints:
    try:
        bc = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        bc = None
    if bc is None or not bc.ca:
        raise PKIError("not_a_ca", "the issuer certificate is not a CA")
    return bc


def _issuer_alt_name(issuer: x509.Certificate) -> x509.IssuerAlternativeName | None:
    try:
        return issuer.extensions.get_extension_for_class(x509.IssuerAlternativeName).value
    except x509.ExtensionNotFound:
        return None


def _crl_dp(uri: str) -> x509.CRLDistributionPoints:
    try:
        return x509.CRLDistributionPoints([
            x509.DistributionPoint(full_name=[x509.UniformResourceIdentifier(uri)], relative_name=None,
                                   reasons=None, crl_issuer=None)
        ])
    except (ValueError, TypeError) as exc:
        raise PKIError("invalid_crl_uri", "invalid CRL distribution point") from exc


def _with_extra_subject(name: x509.Name, extra: Sequence[x509.NameAttribute[str]]) -> x509.Name:
    if not extra:
        return name
    if not all(isinstance(a, x509.NameAttribute) for a in extra):
        raise PKIError("invalid_name", "subject attributes must be x509.NameAttribute")
    attrs = list(name)
    # Keep the common name last (most specific), as in the rest of this module.
    return x509.Name([*attrs[:-1], *extra, attrs[-1]])


def _sign(builder: x509.CertificateBuilder, key: PrivateKey) -> x509.Certificate:
    try:
        return builder.sign(key, _hash_for(key))
    except (ValueError, TypeError) as exc:
        raise PKIError("certificate_build_failed", "certificate could not be built") from exc


def _serial(serial: int | None) -> int:
    if serial is None:
        return secrets.randbits(159) | 1 << 64  # positive, at most 20 octets, at least 64 bits of entropy
    if not isinstance(serial, int) or serial <= 0 or serial.bit_length() > 159:
        raise PKIError("invalid_serial", "serial must be positive and at most 20 octets (RFC 5280 §4.1.2.2)")
    return serial


def create_root_ca(
    common_name: str,
    role: Role,
    *,
    now: datetime,
    key: PrivateKey | None = None,
    validity_days: int = 3650,
    path_length: int | None = 1,
    country: str = "BG",
    organization: str = "portfeil",
    issuer_alt_name_uri: str | None = None,
    crl_uri: str | None = None,
) -> IssuedCertificate:
    """A self-signed root CA for ``role`` (RFC 5280 §4.2.1.9-10; ISO/IEC 18013-5 Annex B.1.2 for the IACA).

    For :attr:`Role.IACA` the path length is forced to 0 and an issuerAltName URI is added (default
    ``https://<organization>.invalid/iaca`` when none is given). ``crl_uri`` adds a CRL distribution point.
    """
    profile = profile_for(role)
    start = _utc(now)
    key = _ca_key(key)
    if validity_days <= 0:
        raise PKIError("invalid_validity", "validity must be positive")
    if profile.root_path_length is not None:
        path_length = profile.root_path_length
    if path_length is not None and path_length < 0:
        raise PKIError("invalid_path_length", "path length must not be negative")
    name = _name(common_name, country, organization)
    pub = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(pub)
        .serial_number(_serial(None))
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=validity_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
    )
    if profile.issuer_alt_name or issuer_alt_name_uri:
        uri = issuer_alt_name_uri or f"https://{organization.lower().replace(' ', '-')}.invalid/iaca"
        builder = builder.add_extension(
            x509.IssuerAlternativeName([x509.UniformResourceIdentifier(uri)]), critical=False
        )
    if crl_uri:
        builder = builder.add_extension(_crl_dp(crl_uri), critical=False)
    return IssuedCertificate(_sign(builder, key), key)


def create_intermediate_ca(
    issuer: IssuedCertificate,
    common_name: str,
    role: Role,
    *,
    now: datetime,
    key: PrivateKey | None = None,
    validity_days: int = 1825,
    path_length: int | None = 0,
    crl_uri: str | None = None,
) -> IssuedCertificate:
    """An intermediate CA under ``issuer`` (RFC 5280 §4.2.1.9). Refuses to exceed the issuer's path length
    and never outlives its issuer. ISO 18013-5 allows no intermediate under an IACA (``path_length_exceeded``)."""
    profile_for(role)  # validates the role; CA certificates of all roles share one profile
    start = _utc(now)
    if validity_days <= 0:
        raise PKIError("invalid_validity", "validity must be positive")
    key = _ca_key(key)
    bc = _issuer_basic_constraints(issuer.certificate)
    if bc.path_length is not None and bc.path_length < 1:
        raise PKIError("path_length_exceeded", "the issuer's path length allows no intermediate CA")
    if bc.path_length is not None:
        path_length = bc.path_length - 1 if path_length is None else min(path_length, bc.path_length - 1)
    if path_length is not None and path_length < 0:
        raise PKIError("invalid_path_length", "path length must not be negative")
    icert = issuer.certificate
    name = _name(
        common_name,
        _name_attr(icert.subject, NameOID.COUNTRY_NAME),
        _name_attr(icert.subject, NameOID.ORGANIZATION_NAME),
    )
    pub = key.public_key()
    end = min(start + timedelta(days=validity_days), icert.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(icert.subject)
        .public_key(pub)
        .serial_number(_serial(None))
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
        .add_extension(_aki_for(icert), critical=False)
    )
    if crl_uri:
        builder = builder.add_extension(_crl_dp(crl_uri), critical=False)
    chain = () if issuer.is_root else (icert, *issuer.chain)
    return IssuedCertificate(_sign(builder, issuer.key), key, chain)


def issue_leaf(
    issuer: IssuedCertificate,
    common_name: str,
    public_key: PublicKey,
    role: Role,
    *,
    now: datetime,
    validity_days: int = 365,
    san_dns: Sequence[str] = (),
    san_uris: Sequence[str] = (),
    serial: int | None = None,
    extra_extensions: Sequence[x509.ExtensionType] = (),
    subject_attributes: Sequence[x509.NameAttribute[str]] = (),
    crl_uri: str | None = None,
) -> x509.Certificate:
    """An end-entity certificate of ``role`` (profile table in :mod:`portfeil.pki.roles`).

    basicConstraints cA=FALSE (critical), keyUsage (critical), EKU, SKI/AKI, SAN if names are given (required
    for :attr:`Role.RP_ACCESS`, ETSI TS 119 411-8), issuerAltName copied from an IACA (ISO 18013-5 B.1.4).
    The validity never extends past the issuer's. ``extra_extensions`` are added non-critical.
    ``subject_attributes`` are added to the subject before the CN (e.g. ``organizationIdentifier`` such as
    ``NTRBG-<ЕИК>`` for access and registration certificates, ETSI EN 319 412-1 §5.1.4); ``crl_uri`` adds a CRL
    distribution point (ISO 18013-5 B.1.4 lists one for document signers).
    """
    profile = profile_for(role)
    start = _utc(now)
    if not isinstance(public_key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise PKIError("unsupported_alg", "leaf keys must be ECDSA or Ed25519")
    if validity_days <= 0:
        raise PKIError("invalid_validity", "validity must be positive")
    icert = issuer.certificate
    _issuer_basic_constraints(icert)
    general_names: list[x509.GeneralName] = []
    try:
        general_names += [x509.DNSName(d) for d in san_dns]
        general_names += [x509.UniformResourceIdentifier(u) for u in san_uris]
    except (ValueError, TypeError) as exc:
        raise PKIError("invalid_san", "invalid subjectAltName entry") from exc
    if profile.require_san and not general_names:
        raise PKIError("missing_san", f"a {profile.role} certificate must name its service in the SAN")
    ku = x509.KeyUsage(**{f: f in profile.issued_key_usage for f in _KU_FIELDS},
                       encipher_only=False, decipher_only=False)
    name = _with_extra_subject(_name(
        common_name,
        _name_attr(icert.subject, NameOID.COUNTRY_NAME),
        _name_attr(icert.subject, NameOID.ORGANIZATION_NAME),
    ), subject_attributes)
    end = min(start + timedelta(days=validity_days), icert.not_valid_after_utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(icert.subject)
        .public_key(public_key)
        .serial_number(_serial(serial))
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(ku, critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(profile.issued_ekus)), critical=profile.eku_critical)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(_aki_for(icert), critical=False)
    )
    if general_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(general_names), critical=False)
    ian = _issuer_alt_name(icert)
    if profile.issuer_alt_name and ian is not None:
        builder = builder.add_extension(x509.IssuerAlternativeName(list(ian)), critical=False)
    if crl_uri:
        builder = builder.add_extension(_crl_dp(crl_uri), critical=False)
    try:
        for ext in extra_extensions:
            builder = builder.add_extension(ext, critical=False)
    except ValueError as exc:
        raise PKIError("certificate_build_failed", "duplicate or invalid extra extension") from exc
    return _sign(builder, issuer.key)
