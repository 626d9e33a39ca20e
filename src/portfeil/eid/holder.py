"""The holder's side: an eID key in a PKCS#12 file (or a PKCS#11 token), its CSR, and challenge signatures.

The registry never sees the private key: the holder makes the key and a CSR here, the administrator's desk sends the
CSR, and the returned certificate is stored next to the key (:func:`store_certificate`). To authenticate, the holder
signs the centre's challenge (UTF-8 bytes) with ECDSA-SHA256; the DER signature is sent base64url-encoded with the
chain ``[leaf, issuing CA]`` as base64 DER (:func:`authentication`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, Encoding, pkcs12
from cryptography.x509.oid import NameOID

from portfeil.eid.errors import EidError


@dataclass
class HolderKey:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate | None
    chain: list[x509.Certificate]


def generate_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def make_csr(key: ec.EllipticCurvePrivateKey) -> bytes:
    """A PKCS#10 CSR (PEM) for the key; the subject is a placeholder, the authority sets the real one."""
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "eID applicant")]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(Encoding.PEM)


def sign_challenge(key: Any, challenge: str) -> str:
    """ECDSA-SHA256 DER signature over the UTF-8 challenge, base64url without padding. ``key`` may be a PKCS#11
    key from :class:`portfeil.pki.keystore_pkcs11.PKCS11KeyStore`."""
    sig: bytes = key.sign(challenge.encode(), ec.ECDSA(hashes.SHA256()))
    return base64.urlsafe_b64encode(sig).decode().rstrip("=")


def chain_b64(certs: list[x509.Certificate]) -> list[str]:
    return [base64.b64encode(c.public_bytes(Encoding.DER)).decode() for c in certs]


def authentication(holder: HolderKey, challenge: str) -> dict[str, Any]:
    """The body a holder (or wallet) sends: ``{challenge, signature, chain}``."""
    if holder.certificate is None:
        raise EidError("no_certificate", "the key file holds no certificate yet")
    return {"challenge": challenge, "signature": sign_challenge(holder.key, challenge),
            "chain": chain_b64([holder.certificate, *holder.chain])}


def save_p12(path: Path, holder: HolderKey, passphrase: str) -> None:
    data = pkcs12.serialize_key_and_certificates(
        b"portfeil eID", holder.key, holder.certificate, holder.chain or None,
        BestAvailableEncryption(passphrase.encode()),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o600)
    tmp.replace(path)


def load_p12(path: Path, passphrase: str) -> HolderKey:
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(path.read_bytes(), passphrase.encode())
    except (ValueError, OSError):
        raise EidError("keyfile_unreadable", "the PKCS#12 file cannot be read (wrong passphrase?)") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise EidError("keyfile_unreadable", "the PKCS#12 file holds no ECDSA key")
    return HolderKey(key, cert, list(extra))


def store_certificate(path: Path, passphrase: str, certificate: x509.Certificate,
                      chain: list[x509.Certificate]) -> None:
    """Put the issued certificate (and its CA chain) into the holder's PKCS#12 file, next to the key."""
    holder = load_p12(path, passphrase)
    if certificate.public_key() != holder.key.public_key():
        raise EidError("certificate_key_mismatch", "the certificate is not for this key")
    save_p12(path, HolderKey(holder.key, certificate, chain), passphrase)
