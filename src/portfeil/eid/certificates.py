"""The eID authority's PKI: its CA in the keystore, eID certificates from CSRs, the CRL and the OCSP responder.

Profile of an eID certificate (documented in docs/eid.md):

- issuer: the eID issuing CA (under the eID root CA, role :attr:`portfeil.pki.roles.Role.EID`);
- subject: ``C=BG, serialNumber=PI:BG-<electronic identifier>, CN=<electronic identifier>``. The ЕГН/ЛНЧ is never
  in the certificate (Art. 2: the electronic identifier distinguishes the person). The ``PI:BG-`` prefix follows the
  semantics-identifier form of ETSI EN 319 412-1 §5.1.3 (two-letter national type, colon, country, hyphen);
- validity 5 years (:data:`VALIDITY_DAYS`), never past the issuing CA;
- keyUsage digitalSignature (critical), EKU id-kp-clientAuth (RFC 5280 §4.2.1.12), basicConstraints cA=FALSE;
- CRL distribution point (RFC 5280 §4.2.1.13) and authorityInfoAccess OCSP (RFC 5280 §4.2.2.1) at our public URLs.

The functions here are pure (time comes in as ``now``); :class:`EidAuthority` loads or creates the CA keys in a
:class:`~portfeil.pki.keystore.KeyStore` (synchronous, call it through a thread in async code).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from portfeil.eid.errors import EidError
from portfeil.pki.ca import IssuedCertificate, create_intermediate_ca, create_root_ca
from portfeil.pki.keystore import KeyStore
from portfeil.pki.roles import Role

VALIDITY_DAYS = 5 * 365 + 1
ROOT_VALIDITY_DAYS = 25 * 365
ISSUING_VALIDITY_DAYS = 15 * 365
CRL_VALIDITY = timedelta(hours=24)
OCSP_VALIDITY = timedelta(hours=1)
ROOT_KEY = "eid-root-ca"
ISSUING_KEY = "eid-issuing-ca"
SUBJECT_PREFIX = "PI:BG-"

#: our reason names -> RFC 5280 §5.3.1 reason codes
REASON_CODES: dict[str, x509.ReasonFlags] = {
    "key_compromise": x509.ReasonFlags.key_compromise,
    "affiliation_changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation_of_operation": x509.ReasonFlags.cessation_of_operation,
    "certificate_hold": x509.ReasonFlags.certificate_hold,
    "unspecified": x509.ReasonFlags.unspecified,
}


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise EidError("naive_datetime", "now must be timezone-aware")
    return now.astimezone(UTC).replace(microsecond=0)


def serial_hex(serial: int) -> str:
    return format(serial, "x")


# --- CSR --------------------------------------------------------------------------------------------------------


def parse_csr(data: bytes) -> x509.CertificateSigningRequest:
    """A PKCS#10 request (PEM or DER, RFC 2986) whose self-signature verifies and whose key is ECDSA P-256/P-384 or
    Ed25519. Codes: ``invalid_csr``, ``csr_signature_invalid``, ``unsupported_key``."""
    try:
        csr = (
            x509.load_pem_x509_csr(data) if data.lstrip().startswith(b"-----BEGIN") else x509.load_der_x509_csr(data)
        )
        key = csr.public_key()
        valid = csr.is_signature_valid
    except (ValueError, TypeError, AttributeError, NotImplementedError, UnsupportedAlgorithm, x509.InvalidVersion):
        raise EidError("invalid_csr", "the certificate signing request cannot be parsed") from None
    except Exception:  # noqa: BLE001 - whatever else the parser raises on hostile input (found by fuzzing)
        raise EidError("invalid_csr", "the certificate signing request cannot be parsed") from None
    if not valid:
        raise EidError("csr_signature_invalid", "the request's signature does not verify (proof of possession)")
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in ("secp256r1", "secp384r1"):
            raise EidError("unsupported_key", "eID keys are ECDSA P-256/P-384 or Ed25519")
    elif not isinstance(key, ed25519.Ed25519PublicKey):
        raise EidError("unsupported_key", "eID keys are ECDSA P-256/P-384 or Ed25519")
    return csr


def eid_subject(electronic_id: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "BG"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, SUBJECT_PREFIX + electronic_id),
            x509.NameAttribute(NameOID.COMMON_NAME, electronic_id),
        ]
    )


def electronic_id_of(cert: x509.Certificate) -> str:
    """The electronic identifier from an eID certificate's subject serialNumber (``invalid_certificate`` if none)."""
    attrs = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    value = attrs[0].value if attrs else None
    if not isinstance(value, str) or not value.startswith(SUBJECT_PREFIX):
        raise EidError("invalid_certificate", "not an eID certificate (no electronic identifier)")
    return value[len(SUBJECT_PREFIX):]


def build_eid_certificate(
    issuing: IssuedCertificate,
    csr: x509.CertificateSigningRequest,
    electronic_id: str,
    *,
    now: datetime,
    crl_url: str,
    ocsp_url: str,
    validity_days: int = VALIDITY_DAYS,
) -> x509.Certificate:
    """An eID certificate for the CSR's key (profile in the module docstring; RFC 5280 §4)."""
    start = _utc(now)
    end = min(start + timedelta(days=validity_days), issuing.certificate.not_valid_after_utc)
    pub = csr.public_key()
    if not isinstance(pub, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise EidError("unsupported_key", "eID keys are ECDSA or Ed25519")
    ski = issuing.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(eid_subject(electronic_id))
        .issuer_name(issuing.certificate.subject)
        .public_key(pub)
        .serial_number(secrets.randbits(159) | 1 << 64)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .add_extension(
            x509.CRLDistributionPoints(
                [x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
                    )
                ]
            ),
            critical=False,
        )
    )
    return builder.sign(issuing.key, hashes.SHA256())


# --- revocation status --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RevokedEntry:
    serial: int
    revoked_at: datetime
    #: a key of :data:`REASON_CODES`
    reason: str


def build_crl(
    issuing: IssuedCertificate, revoked: Sequence[RevokedEntry], *, number: int, now: datetime
) -> x509.CertificateRevocationList:
    """An X.509 v2 CRL of the issuing CA (RFC 5280 §5): CRL number (§5.2.3), AKI (§5.2.1), nextUpdate
    (:data:`CRL_VALIDITY` on), and per entry the revocation date and reason code (§5.3.1). Suspended certificates
    are listed with ``certificateHold`` and leave the next CRL when resumed (§5.3.1, removeFromCRL semantics)."""
    this_update = _utc(now)
    ski = issuing.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuing.certificate.subject)
        .last_update(this_update)
        .next_update(this_update + CRL_VALIDITY)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    )
    for entry in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(entry.serial)
            .revocation_date(_utc(entry.revoked_at))
            .add_extension(x509.CRLReason(REASON_CODES.get(entry.reason, x509.ReasonFlags.unspecified)), critical=False)
            .build()
        )
    return builder.sign(issuing.key, hashes.SHA256())


@dataclass(frozen=True)
class OcspStatus:
    #: "good", "revoked" or "unknown"
    status: str
    revoked_at: datetime | None = None
    reason: str | None = None


def _issuer_hashes(issuing: x509.Certificate, algorithm: hashes.HashAlgorithm) -> tuple[bytes, bytes]:
    name_digest = hashes.Hash(algorithm)
    name_digest.update(issuing.subject.public_bytes())
    key_bits = issuing.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    ) if isinstance(issuing.public_key(), ec.EllipticCurvePublicKey) else b""
    key_digest = hashes.Hash(algorithm)
    key_digest.update(key_bits)
    return name_digest.finalize(), key_digest.finalize()


def ocsp_response(
    issuing: IssuedCertificate, request_der: bytes, lookup: Callable[[int], OcspStatus], *, now: datetime
) -> bytes:
    """Answer an OCSP request (RFC 6960 §2.2, §4.2): ``malformedRequest`` for garbage, ``unauthorized`` when the
    request names another issuer, otherwise a basic response signed by the issuing CA itself (§2.6: the CA may sign
    its own responses) with good / revoked (time, reason) / unknown, thisUpdate/nextUpdate, and the request's nonce
    echoed (§4.4.1)."""
    try:
        req = ocsp.load_der_ocsp_request(request_der)
        serial = req.serial_number
        algorithm = req.hash_algorithm
        name_hash, key_hash = req.issuer_name_hash, req.issuer_key_hash
        extensions = req.extensions
    except (ValueError, TypeError, NotImplementedError, x509.UnsupportedGeneralNameType):
        return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST).public_bytes(
            serialization.Encoding.DER
        )
    except Exception:  # noqa: BLE001 - any unparseable request is malformed (RFC 6960 §2.3)
        return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST).public_bytes(
            serialization.Encoding.DER
        )
    if (name_hash, key_hash) != _issuer_hashes(issuing.certificate, algorithm):
        return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(
            serialization.Encoding.DER
        )
    at = _utc(now)
    found = lookup(serial)
    cert_status = {"good": ocsp.OCSPCertStatus.GOOD, "revoked": ocsp.OCSPCertStatus.REVOKED}.get(
        found.status, ocsp.OCSPCertStatus.UNKNOWN
    )
    builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
        name_hash, key_hash, serial, algorithm, cert_status, at, at + OCSP_VALIDITY,
        _utc(found.revoked_at) if cert_status == ocsp.OCSPCertStatus.REVOKED and found.revoked_at else None,
        REASON_CODES.get(found.reason or "unspecified") if cert_status == ocsp.OCSPCertStatus.REVOKED else None,
    )
    if cert_status == ocsp.OCSPCertStatus.REVOKED and found.revoked_at is None:  # pragma: no cover - defensive
        raise EidError("invalid_status", "a revoked status needs its time")
    builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, issuing.certificate)
    for ext in extensions:
        if isinstance(ext.value, x509.OCSPNonce):
            builder = builder.add_extension(ext.value, critical=False)
    return builder.sign(issuing.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


# --- the authority ------------------------------------------------------------------------------------------------


def _same_key(cert: x509.Certificate, key: object) -> bool:
    pub = getattr(key, "public_key", None)
    return pub is not None and cert.public_key() == pub()


class EidAuthority:
    """The eID root CA and issuing CA (role EID), created in the keystore on first use, loaded afterwards."""

    def __init__(self, keystore: KeyStore) -> None:
        self.keystore = keystore
        self._lock = threading.RLock()
        self._issuing: IssuedCertificate | None = None

    def root(self, *, now: datetime) -> IssuedCertificate:
        with self._lock:
            key = self.keystore.get_or_create_key(ROOT_KEY)
            certs = self.keystore.get_certificates(ROOT_KEY)
            if certs and _same_key(certs[0], key):
                return IssuedCertificate(certs[0], key)
            root = create_root_ca(
                "portfeil eID Root CA", Role.EID, now=now, key=key, validity_days=ROOT_VALIDITY_DAYS, path_length=1,
                organization="portfeil eID authority",
            )
            self.keystore.put_certificates(ROOT_KEY, [root.certificate])
            return root

    def issuing(self, *, now: datetime) -> IssuedCertificate:
        with self._lock:
            if self._issuing is not None:
                return self._issuing
            root = self.root(now=now)
            key = self.keystore.get_or_create_key(ISSUING_KEY)
            certs = self.keystore.get_certificates(ISSUING_KEY)
            if certs and _same_key(certs[0], key) and certs[0].issuer == root.certificate.subject:
                ca = IssuedCertificate(certs[0], key, ())
            else:
                ca = create_intermediate_ca(
                    root, "portfeil eID Issuing CA", Role.EID, now=now, key=key, validity_days=ISSUING_VALIDITY_DAYS
                )
                self.keystore.put_certificates(ISSUING_KEY, [ca.certificate])
            self._issuing = ca
            return ca

    def anchors(self, *, now: datetime) -> list[x509.Certificate]:
        return [self.root(now=now).certificate]
