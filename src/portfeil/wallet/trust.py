"""The wallet's own trust anchors, per role (as in the trust registry: pid-provider, iaca, rp-access, registrar,
wallet-provider, ...). Kept encrypted in the store under ``anchors``; taken from the trust registry at ``init``
(``GET /trust/api/v1/anchors``) or added by hand (``portfeil wallet trust add``)."""

from __future__ import annotations

from typing import Any

from cryptography import x509

from portfeil.pki.certs import cert_sha256_b64url, cert_to_pem, certs_from_pem
from portfeil.pki.chains import ChainValidator
from portfeil.pki.errors import PKIError
from portfeil.pki.roles import Role
from portfeil.wallet.errors import WalletError
from portfeil.wallet.store import WalletStore

__all__ = ["TrustAnchors"]

_NAME = "anchors"


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise WalletError("unknown_role", "unknown trust role") from None


class TrustAnchors:
    """Role -> CA certificates (PEM), with a ChainValidator per role."""

    def __init__(self, store: WalletStore) -> None:
        self.store = store
        self._cache: dict[str, ChainValidator] = {}

    def _load(self) -> dict[str, list[str]]:
        data = self.store.read_json(_NAME, {})
        return data if isinstance(data, dict) else {}

    def add(self, role: str, pem: bytes | str) -> list[str]:
        """Trust the CA certificate(s) in ``pem`` for ``role``; end-entity certificates are refused."""
        r = _role(role)
        try:
            certs = certs_from_pem(pem.encode() if isinstance(pem, str) else pem)
        except PKIError as exc:
            raise WalletError("invalid_certificate", "not a PEM certificate") from exc
        if not certs:
            raise WalletError("invalid_certificate", "no certificate found")
        data = self._load()
        current = data.setdefault(r.value, [])
        added = []
        for cert in certs:
            try:
                bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
            except x509.ExtensionNotFound:
                bc = None
            if bc is None or not bc.ca:
                raise WalletError("not_a_ca", "only CA certificates can be trust anchors")
            text = cert_to_pem(cert).decode()
            if text not in current:
                current.append(text)
            added.append(cert_sha256_b64url(cert))
        self.store.write_json(_NAME, data)
        self._cache.pop(r.value, None)
        return added

    def replace_all(self, anchors: dict[str, list[str]]) -> int:
        """Set the anchors from a trust registry export ``{role: [PEM, ...]}`` (unknown roles ignored)."""
        data: dict[str, list[str]] = {}
        count = 0
        for role, pems in anchors.items():
            try:
                r = Role(role)
            except ValueError:
                continue
            if not isinstance(pems, list):
                raise WalletError("invalid_anchors", "anchors must be lists of PEM certificates")
            for pem in pems:
                if not isinstance(pem, str):
                    raise WalletError("invalid_anchors", "anchors must be PEM strings")
                for cert in certs_from_pem(pem.encode()):
                    data.setdefault(r.value, []).append(cert_to_pem(cert).decode())
                    count += 1
        self.store.write_json(_NAME, data)
        self._cache.clear()
        return count

    def certificates(self, role: str) -> list[x509.Certificate]:
        out: list[x509.Certificate] = []
        for pem in self._load().get(_role(role).value, []):
            out.extend(certs_from_pem(pem.encode()))
        return out

    def validator(self, role: str | Role) -> ChainValidator:
        key = _role(str(role)).value
        if key not in self._cache:
            certs = self.certificates(key)
            if not certs:
                raise WalletError("no_trust_anchors", f"the wallet trusts no {key} CA")
            self._cache[key] = ChainValidator(certs, Role(key))
        return self._cache[key]

    def summary(self) -> dict[str, Any]:
        return {role: [cert_sha256_b64url(c) for p in pems for c in certs_from_pem(p.encode())]
                for role, pems in self._load().items()}
