"""The ecosystem PKI of the trust registry: one root CA per role, the registry's own signing certificates, and
the external anchors an operator adds per role.

Roots (keystore names ``trust-root-<role>``) are created on first start and loaded afterwards, so the same
certificates survive restarts. Signers (``trust-signer-<role>``) are end-entity certificates under the roots for
what the registry signs itself: trusted lists (``tsl-operator``, EKU id-tsl-kp-tslSigning, ETSI TS 119 612
§5.7.1), registration certificates and the relying-party status list (``registrar``), wallet attestations and the
wallet-unit status list (``wallet-provider``). A signer is re-issued when it nears its end or its SAN changes.

Certificate profiles are those of :mod:`portfeil.pki.roles`; this module only decides names and lifetimes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization

from portfeil.pki.ca import IssuedCertificate, create_root_ca, issue_leaf
from portfeil.pki.certs import san_uris
from portfeil.pki.keystore import KeyStore
from portfeil.pki.roles import Role
from portfeil.trust.errors import TrustError

__all__ = [
    "ROOT_ROLES",
    "SIGNER_ROLES",
    "EcosystemPKI",
    "cert_sha256",
    "parse_role",
]

#: Roles for which the registry runs a root CA (the eID registry has its own CA: ``eid`` anchors are external only).
ROOT_ROLES: tuple[Role, ...] = (
    Role.PID_PROVIDER,
    Role.ATTESTATION_PROVIDER,
    Role.IACA,
    Role.RP_ACCESS,
    Role.WALLET_PROVIDER,
    Role.REGISTRAR,
    Role.TSL_OPERATOR,
)
#: Roles for which the registry holds an end-entity signing certificate of its own.
SIGNER_ROLES: tuple[Role, ...] = (Role.TSL_OPERATOR, Role.REGISTRAR, Role.WALLET_PROVIDER)

_ROOT_NAMES = {
    Role.PID_PROVIDER: "portfeil PID provider CA",
    Role.ATTESTATION_PROVIDER: "portfeil attestation provider CA",
    Role.IACA: "portfeil IACA",
    Role.RP_ACCESS: "portfeil relying party access CA",
    Role.WALLET_PROVIDER: "portfeil wallet provider CA",
    Role.REGISTRAR: "portfeil registrar CA",
    Role.TSL_OPERATOR: "portfeil trusted list scheme operator CA",
}
_SIGNER_NAMES = {
    Role.TSL_OPERATOR: "portfeil trusted list scheme operator",
    Role.REGISTRAR: "portfeil relying party registrar",
    Role.WALLET_PROVIDER: "portfeil wallet provider",
}
ROOT_VALIDITY_DAYS = 3650
SIGNER_VALIDITY_DAYS = 365
SIGNER_RENEW_BEFORE = timedelta(days=30)


def parse_role(role: Role | str) -> Role:
    """A :class:`Role` from its value; ``unknown_role`` otherwise."""
    try:
        return Role(role)
    except ValueError:
        raise TrustError("unknown_role", "unknown trust role", roles=[r.value for r in Role]) from None


def cert_sha256(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def _same_key(cert: x509.Certificate, issued_key: object) -> bool:
    pub = getattr(issued_key, "public_key", None)
    if pub is None:
        return False
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    return bool(cert.public_key().public_bytes(enc, fmt) == pub().public_bytes(enc, fmt))


@dataclass(frozen=True)
class Signer:
    """A signing key with its certificate chain (leaf first, root excluded: the ``x5c`` to send)."""

    issued: IssuedCertificate
    chain: tuple[x509.Certificate, ...]

    @property
    def certificate(self) -> x509.Certificate:
        return self.chain[0]


class EcosystemPKI:
    """Roots and signers in a :class:`~portfeil.pki.keystore.KeyStore`. Synchronous (file keystore); the registry
    calls it through a thread. Thread-safe."""

    def __init__(self, keystore: KeyStore) -> None:
        self.keystore = keystore
        self._roots: dict[Role, IssuedCertificate] = {}
        self._signers: dict[Role, Signer] = {}
        self._lock = threading.RLock()

    # -- roots ----------------------------------------------------------------------------------------------
    def root(self, role: Role, *, now: datetime) -> IssuedCertificate:
        """The root CA of ``role``, created (and stored) on first use, loaded afterwards."""
        role = parse_role(role)
        if role not in ROOT_ROLES:
            raise TrustError("unknown_role", f"the registry runs no CA for {role.value}")
        with self._lock:
            cached = self._roots.get(role)
            if cached is not None:
                return cached
            name = f"trust-root-{role.value}"
            key = self.keystore.get_or_create_key(name)
            certs = self.keystore.get_certificates(name)
            if certs and _same_key(certs[0], key):
                root = IssuedCertificate(certs[0], key)
            else:
                root = create_root_ca(_ROOT_NAMES[role], role, now=now, key=key, validity_days=ROOT_VALIDITY_DAYS)
                self.keystore.put_certificates(name, [root.certificate])
                stored = self.keystore.get_certificates(name)  # another process may have written first
                if stored and _same_key(stored[0], key):
                    root = IssuedCertificate(stored[0], key)
            self._roots[role] = root
            return root

    def roots(self, *, now: datetime) -> dict[Role, IssuedCertificate]:
        return {role: self.root(role, now=now) for role in ROOT_ROLES}

    # -- signers --------------------------------------------------------------------------------------------
    def signer(self, role: Role, *, now: datetime, san_uri: Sequence[str] = ()) -> Signer:
        """The registry's own signing certificate for ``role`` (re-issued near its end or when the SAN changes)."""
        role = parse_role(role)
        if role not in SIGNER_ROLES:
            raise TrustError("unknown_role", f"the registry holds no {role.value} signer")
        with self._lock:
            root = self.root(role, now=now)
            cached = self._signers.get(role)
            if cached is not None and self._fresh(cached.certificate, root, now, san_uri):
                return cached
            name = f"trust-signer-{role.value}"
            key = self.keystore.get_or_create_key(name)
            certs = self.keystore.get_certificates(name)
            if certs and _same_key(certs[0], key) and self._fresh(certs[0], root, now, san_uri):
                leaf = certs[0]
            else:
                leaf = issue_leaf(
                    root, _SIGNER_NAMES[role], key.public_key(), role, now=now,
                    validity_days=SIGNER_VALIDITY_DAYS, san_uris=list(san_uri),
                )
                self.keystore.put_certificates(name, [leaf])
            signer = Signer(IssuedCertificate(leaf, key), tuple(root.chain_for(leaf)))
            self._signers[role] = signer
            return signer

    @staticmethod
    def _fresh(cert: x509.Certificate, root: IssuedCertificate, now: datetime, san_uri: Sequence[str]) -> bool:
        try:
            cert.verify_directly_issued_by(root.certificate)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return (
            cert.not_valid_before_utc <= now
            and cert.not_valid_after_utc - SIGNER_RENEW_BEFORE > now
            and sorted(san_uris(cert)) == sorted(san_uri)
        )
