"""The PID provider's signing material: an SD-JWT VC / status-list signing key with its ``x5c`` chain issued by the
trust registry under the PID-provider anchor (SAN URI = the credential issuer identifier, so ``iss`` matches the
leaf, SD-JWT VC draft-13 §3.5), and an mdoc document signer under the registry's IACA (ISO/IEC 18013-5 Annex B).

Keys live in the keystore (``issuer-pid-signer``, ``issuer-pid-ds``); certificates are stored next to them and
re-requested when missing, near their end, or when the issuer identifier changed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from cryptography import x509

from portfeil.context import AppContext
from portfeil.pki.certs import san_uris
from portfeil.pki.keys import PrivateKey
from portfeil.pki.keystore import FileKeyStore, KeyStore

SIGNER_KEY = "issuer-pid-signer"
DS_KEY = "issuer-pid-ds"
RENEW_BEFORE = timedelta(days=30)
_CTX_KEY = "issuer.keys"


@dataclass(frozen=True)
class SigningMaterial:
    key: PrivateKey
    chain: tuple[x509.Certificate, ...]

    @property
    def certificate(self) -> x509.Certificate:
        return self.chain[0]


@dataclass(frozen=True)
class IssuerKeys:
    signer: SigningMaterial
    document_signer: SigningMaterial


def keystore_of(ctx: AppContext) -> KeyStore:
    ks = ctx.services.get("issuer.keystore") or ctx.services.get("trust.keystore")
    if ks is None:
        ks = FileKeyStore(ctx.settings.keystore_dir, ctx.settings.keystore_passphrase.get_secret_value().encode())
        ctx.services["issuer.keystore"] = ks
    assert isinstance(ks, KeyStore)
    return ks


async def issuer_keys(ctx: AppContext, issuer_id: str) -> IssuerKeys:
    """Load (or create and certify through the trust registry) the issuer's keys; cached per context."""
    cached = ctx.services.get(_CTX_KEY)
    now = ctx.clock.now()
    if isinstance(cached, IssuerKeys) and cached.signer.certificate.not_valid_after_utc - RENEW_BEFORE > now:
        return cached
    from portfeil.trust.registry import TrustRegistry

    registry = await TrustRegistry.of(ctx)
    ks = keystore_of(ctx)

    def usable(chain: list[x509.Certificate], key: PrivateKey, uri: str | None) -> bool:
        if not chain or chain[0].public_key() != key.public_key():
            return False
        if chain[0].not_valid_after_utc - RENEW_BEFORE <= now or chain[0].not_valid_before_utc > now:
            return False
        return uri is None or uri in san_uris(chain[0])

    key = await asyncio.to_thread(ks.get_or_create_key, SIGNER_KEY, "ES256")
    chain = await asyncio.to_thread(ks.get_certificates, SIGNER_KEY)
    if not usable(chain, key, issuer_id):
        chain = await registry.issue_pid_provider_certificate(key.public_key(), uri=issuer_id,
                                                              common_name="portfeil PID provider")
        await asyncio.to_thread(ks.put_certificates, SIGNER_KEY, chain)
    ds_key = await asyncio.to_thread(ks.get_or_create_key, DS_KEY, "ES256")
    ds_chain = await asyncio.to_thread(ks.get_certificates, DS_KEY)
    if not usable(ds_chain, ds_key, None):
        ds_chain = await registry.issue_document_signer(ds_key.public_key(), common_name="portfeil PID document signer")
        await asyncio.to_thread(ks.put_certificates, DS_KEY, ds_chain)
    keys = IssuerKeys(SigningMaterial(key, tuple(chain)), SigningMaterial(ds_key, tuple(ds_chain)))
    ctx.services[_CTX_KEY] = keys
    return keys
