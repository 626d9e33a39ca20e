"""Certificate encodings: PEM, DER, the base64 DER of JOSE ``x5c`` and SAN accessors.

``x5c`` (RFC 7515 §4.1.6) carries *standard* base64 (with padding, not base64url) of each DER certificate;
COSE ``x5chain`` (RFC 9360 §2) carries the DER bytes. Only :class:`PKIError` (``malformed_certificate``)
escapes these parsers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import warnings
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.utils import CryptographyDeprecationWarning

from portfeil.pki.errors import PKIError

__all__ = [
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
    "san_dns_names",
    "san_uris",
]

_B64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
MAX_CERT_BYTES = 64 * 1024
"""Certificates larger than this are refused before parsing."""


def cert_from_der(data: bytes) -> x509.Certificate:
    """One DER certificate (RFC 5280 §4.1). ``malformed_certificate`` if it does not parse."""
    if not isinstance(data, bytes | bytearray | memoryview) or not 0 < len(data) <= MAX_CERT_BYTES:
        raise PKIError("malformed_certificate", "certificate missing or too large")
    try:
        with warnings.catch_warnings():
            # cryptography only warns about a non-positive serial (RFC 5280 §4.1.2.2 forbids it): refuse it here.
            warnings.simplefilter("error", CryptographyDeprecationWarning)
            cert = x509.load_der_x509_certificate(bytes(data))
            if cert.serial_number <= 0:
                raise ValueError("non-positive serial number")
            # Force the lazily parsed parts now so that errors surface here and not deep in validation.
            _ = cert.extensions
            _ = cert.not_valid_before_utc, cert.not_valid_after_utc
            _ = cert.public_key()
    except (ValueError, TypeError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as exc:
        raise PKIError("malformed_certificate", "certificate does not parse") from exc
    except Exception as exc:  # cryptography raises UnsupportedAlgorithm and others for odd keys
        raise PKIError("malformed_certificate", "certificate does not parse") from exc
    return cert


def cert_to_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


def cert_to_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.PEM)


def certs_from_pem(data: bytes) -> list[x509.Certificate]:
    """All certificates of a PEM bundle (RFC 7468 §5), in order; at least one."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise PKIError("malformed_certificate", "PEM must be bytes")
    try:
        certs = x509.load_pem_x509_certificates(bytes(data))
    except Exception as exc:  # ValueError, x509.InvalidVersion (not a ValueError), UnsupportedAlgorithm, ...
        raise PKIError("malformed_certificate", "PEM does not parse") from exc
    return [cert_from_der(cert_to_der(c)) for c in certs]


def cert_from_pem(data: bytes) -> x509.Certificate:
    """Exactly one certificate from PEM."""
    certs = certs_from_pem(data)
    if len(certs) != 1:
        raise PKIError("malformed_certificate", "expected exactly one certificate")
    return certs[0]


def cert_to_b64der(cert: x509.Certificate) -> str:
    """One ``x5c`` entry: standard base64 of the DER (RFC 7515 §4.1.6)."""
    return base64.b64encode(cert_to_der(cert)).decode("ascii")


def cert_from_b64der(value: str) -> x509.Certificate:
    """Parse one ``x5c`` entry (standard base64 with padding, RFC 7515 §4.1.6)."""
    if not isinstance(value, str) or not _B64.fullmatch(value) or len(value) % 4 != 0:
        raise PKIError("malformed_certificate", "x5c entry is not standard base64")
    try:
        der = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PKIError("malformed_certificate", "x5c entry is not standard base64") from exc
    return cert_from_der(der)


def certs_to_x5c(certs: Sequence[x509.Certificate]) -> list[str]:
    return [cert_to_b64der(c) for c in certs]


def certs_from_x5c(values: object, *, max_length: int = 10) -> list[x509.Certificate]:
    """Parse an ``x5c`` array (leaf first). Must be a non-empty list of strings, at most ``max_length``."""
    if not isinstance(values, list) or not 0 < len(values) <= max_length:
        raise PKIError("malformed_certificate", "x5c must be a non-empty array")
    return [cert_from_b64der(v) for v in values]


def cert_sha256_b64url(cert: x509.Certificate) -> str:
    """base64url (no padding) SHA-256 of the DER certificate: JOSE ``x5t#S256`` (RFC 7515 §4.1.8) and the
    OpenID4VP 1.0 ``x509_hash`` client identifier value (§5.9.3)."""
    digest = hashlib.sha256(cert_to_der(cert)).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _san(cert: x509.Certificate) -> x509.SubjectAlternativeName | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None


def san_dns_names(cert: x509.Certificate) -> list[str]:
    """The dNSName entries of the subjectAltName (RFC 5280 §4.2.1.6), in order."""
    san = _san(cert)
    return [] if san is None else list(san.get_values_for_type(x509.DNSName))


def san_uris(cert: x509.Certificate) -> list[str]:
    """The uniformResourceIdentifier entries of the subjectAltName (RFC 5280 §4.2.1.6), in order."""
    san = _san(cert)
    return [] if san is None else list(san.get_values_for_type(x509.UniformResourceIdentifier))
