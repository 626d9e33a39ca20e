"""The trust registry's Python API: what the issuer, wallet and verifier call to resolve trust.

>>> registry = await TrustRegistry.of(ctx)                # one per AppContext, roots created/loaded on first use
>>> registry.anchors(Role.PID_PROVIDER)                  # async: the registry's root + external anchors
>>> validator = await registry.validator(Role.RP_ACCESS)  # a cached ChainValidator, rebuilt when anchors change
>>> chain = await registry.issue_pid_provider_certificate(pub, uri="https://issuer.example")   # leaf, no root
>>> chain = await registry.issue_document_signer(pub)     # IACA-based mdoc document signer
>>> await registry.add_anchor(Role.PID_PROVIDER, cert)   # trust an external CA for a role

Sub-services: ``registry.registrar`` (:class:`portfeil.trust.registrar.Registrar`), ``registry.wallet_provider``
(:class:`portfeil.trust.wallet_provider.WalletProvider`), ``registry.publisher`` / ``registry.consumer``
(:mod:`portfeil.trust.lists`), ``registry.status_lists`` (:mod:`portfeil.trust.status`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portfeil.context import AppContext
from portfeil.pki.ca import issue_leaf
from portfeil.pki.certs import cert_from_der, cert_to_der, san_dns_names, san_uris
from portfeil.pki.chains import ChainValidator
from portfeil.pki.errors import PKIError
from portfeil.pki.keys import PublicKey
from portfeil.pki.keystore import FileKeyStore, KeyStore
from portfeil.pki.roles import Role
from portfeil.trust.anchors import ROOT_ROLES, EcosystemPKI, Signer, cert_sha256, parse_role
from portfeil.trust.errors import TrustError
from portfeil.trust.lists import LIST_SPECS, AnchorEntry, ListConsumer, Publication, Publisher
from portfeil.trust.models import TrustAnchor, TrustCertificate
from portfeil.trust.status import StatusLists

__all__ = ["ANCHOR_RELOAD_SECONDS", "TrustRegistry"]

#: External anchors added by another process become visible to a running registry within this many seconds.
ANCHOR_RELOAD_SECONDS = 30.0
_CTX_KEY = "trust.registry"


class TrustRegistry:
    """Ecosystem PKI, anchors per role, certificate issuance; entry point to lists, registrar, wallet provider."""

    def __init__(self, ctx: AppContext, *, keystore: KeyStore | None = None) -> None:
        from portfeil.trust.registrar import Registrar
        from portfeil.trust.wallet_provider import WalletProvider

        self.ctx = ctx
        self.db = ctx.db
        self.clock = ctx.clock
        if keystore is None:
            passphrase = ctx.settings.keystore_passphrase.get_secret_value().encode()
            keystore = FileKeyStore(ctx.settings.keystore_dir, passphrase)
        self.pki = EcosystemPKI(keystore)
        self.publisher = Publisher(ctx.db, ctx.url)
        self.consumer = ListConsumer(ctx.db)
        self.status_lists = StatusLists(ctx.db)
        self.registrar = Registrar(self)
        self.wallet_provider = WalletProvider(self)
        self._external: dict[Role, list[TrustAnchor]] | None = None
        self._external_loaded = 0.0
        self._validators: dict[Role, tuple[tuple[bytes, ...], ChainValidator]] = {}
        self._lock = asyncio.Lock()
        self._ready = False

    # -- lifecycle ------------------------------------------------------------------------------------------
    @classmethod
    async def of(cls, ctx: AppContext) -> TrustRegistry:
        """The registry of ``ctx`` (created once, roots and signers created or loaded)."""
        registry = ctx.services.get(_CTX_KEY)
        if registry is None:
            registry = ctx.services[_CTX_KEY] = cls(ctx, keystore=ctx.services.get("trust.keystore"))
        assert isinstance(registry, TrustRegistry)
        await registry.ensure_ready()
        return registry

    async def ensure_ready(self) -> None:
        if self._ready:
            return
        async with self._lock:
            if not self._ready:
                now = self.clock.now()
                await asyncio.to_thread(self._ensure_sync, now)
                self._ready = True

    def _ensure_sync(self, now: datetime) -> None:
        self.pki.roots(now=now)
        for role in (Role.TSL_OPERATOR, Role.REGISTRAR):
            self.pki.signer(role, now=now)
        self.pki.signer(Role.WALLET_PROVIDER, now=now, san_uri=[self.wallet_provider_id])

    @property
    def wallet_provider_id(self) -> str:
        """The wallet provider's identifier (``iss`` of its attestations; SAN URI of its signing certificate)."""
        return self.ctx.url("/trust/wallet-provider")

    def signer(self, role: Role) -> Signer:
        now = self.clock.now()
        if role == Role.WALLET_PROVIDER:
            return self.pki.signer(role, now=now, san_uri=[self.wallet_provider_id])
        return self.pki.signer(role, now=now)

    def root_certificate(self, role: Role | str) -> x509.Certificate:
        return self.pki.root(parse_role(role), now=self.clock.now()).certificate

    def scheme_operator_certificate(self) -> x509.Certificate:
        """The certificate that signs the registry's trusted lists: pin it to consume them."""
        return self.signer(Role.TSL_OPERATOR).certificate

    # -- anchors --------------------------------------------------------------------------------------------
    async def _external_anchors(self, *, refresh: bool = False) -> dict[Role, list[TrustAnchor]]:
        if refresh or self._external is None or time.monotonic() - self._external_loaded > ANCHOR_RELOAD_SECONDS:
            async with self.db.session() as s:
                rows = (await s.execute(select(TrustAnchor).order_by(TrustAnchor.added_at))).scalars().all()
            grouped: dict[Role, list[TrustAnchor]] = {}
            for row in rows:
                try:
                    grouped.setdefault(Role(row.role), []).append(row)
                except ValueError:
                    continue
            self._external = grouped
            self._external_loaded = time.monotonic()
        return self._external

    async def anchor_entries(self, role: Role | str) -> list[AnchorEntry]:
        role = parse_role(role)
        entries: list[AnchorEntry] = []
        if role in ROOT_ROLES:
            root = self.root_certificate(role)
            entries.append(AnchorEntry(role, root, True, root.not_valid_before_utc))
        for row in (await self._external_anchors()).get(role, []):
            entries.append(AnchorEntry(role, cert_from_der(row.der), False, row.added_at))
        return entries

    async def anchors(self, role: Role | str) -> list[x509.Certificate]:
        """Every trust anchor of ``role``: the registry's own root (if it runs one) and the external anchors."""
        return [e.certificate for e in await self.anchor_entries(role)]

    async def validator(self, role: Role | str) -> ChainValidator:
        """A :class:`~portfeil.pki.chains.ChainValidator` for ``role``, cached and rebuilt when the anchors change."""
        role = parse_role(role)
        # Keyed by the anchors' DER as stored (no certificate parsed or encoded while nothing changed: this runs for
        # every presentation and credential request).
        ders: list[bytes] = [cert_to_der(self.root_certificate(role))] if role in ROOT_ROLES else []
        ders += [row.der for row in (await self._external_anchors()).get(role, [])]
        key = tuple(ders)
        current = self._validators.get(role)
        if current is not None and current[0] == key:
            return current[1]
        validator = ChainValidator(await self.anchors(role), role)
        self._validators[role] = (key, validator)
        return validator

    async def add_anchor(self, role: Role | str, cert: x509.Certificate) -> dict[str, str]:
        """Trust ``cert`` (a CA certificate) for ``role``. Idempotent. Refuses end-entity certificates."""
        role = parse_role(role)
        try:
            bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            bc = None
        if bc is None or not bc.ca:
            raise TrustError("invalid_anchor", "a trust anchor must be a CA certificate (basicConstraints cA)")
        now = self.clock.now()
        if cert.not_valid_after_utc <= now:
            raise TrustError("invalid_anchor", "the certificate has expired")
        sha = cert_sha256(cert)
        async with self.db.transaction() as s:
            existing = (
                await s.execute(select(TrustAnchor).where(TrustAnchor.role == role.value, TrustAnchor.sha256 == sha))
            ).scalar_one_or_none()
            if existing is None:
                s.add(TrustAnchor(role=role.value, sha256=sha, subject=cert.subject.rfc4514_string()[:500],
                                  der=cert_to_der(cert), added_at=now))
                with contextlib.suppress(IntegrityError):  # a concurrent add of the same anchor
                    await s.flush()
        await self._external_anchors(refresh=True)
        self.status_lists.invalidate()
        return {"role": role.value, "sha256": sha, "subject": cert.subject.rfc4514_string()}

    async def remove_anchor(self, role: Role | str, sha256: str) -> bool:
        role = parse_role(role)
        async with self.db.transaction() as s:
            row = (
                await s.execute(
                    select(TrustAnchor).where(TrustAnchor.role == role.value, TrustAnchor.sha256 == sha256.lower())
                )
            ).scalar_one_or_none()
            if row is None:
                return False
            await s.delete(row)
        await self._external_anchors(refresh=True)
        return True

    # -- issuance -------------------------------------------------------------------------------------------
    async def _issue(
        self,
        role: Role,
        common_name: str,
        public_key: PublicKey,
        *,
        dns: Sequence[str] = (),
        uris: Sequence[str] = (),
        validity_days: int = 365,
        rp_id: str | None = None,
    ) -> list[x509.Certificate]:
        now = self.clock.now()
        root = self.pki.root(role, now=now)
        try:
            leaf = issue_leaf(root, common_name, public_key, role, now=now, validity_days=validity_days,
                              san_dns=list(dns), san_uris=list(uris))
        except PKIError as exc:
            raise TrustError("invalid_certificate_request", exc.message, reason=exc.code) from exc
        async with self.db.transaction() as s:
            s.add(TrustCertificate(
                serial=format(leaf.serial_number, "x"), role=role.value, rp_id=rp_id,
                subject=leaf.subject.rfc4514_string()[:500], san=[*san_dns_names(leaf), *san_uris(leaf)],
                der=cert_to_der(leaf), sha256=cert_sha256(leaf), not_before=leaf.not_valid_before_utc,
                not_after=leaf.not_valid_after_utc,
            ))
        return root.chain_for(leaf)

    async def issue_pid_provider_certificate(
        self, public_key: PublicKey, *, uri: str, dns: Sequence[str] = (), common_name: str = "PID provider",
        validity_days: int = 365,
    ) -> list[x509.Certificate]:
        """A PID provider signing certificate (role ``pid-provider``) for the SD-JWT VC signing key. Its SAN
        carries ``uri`` (which must equal the SD-JWT VC ``iss``, SD-JWT VC draft-13 §3.5 / SPECS.md §7) and
        ``dns``. Returns the ``x5c`` chain (leaf first, without the root)."""
        if not uri.startswith(("https://", "http://")):
            raise TrustError("invalid_certificate_request", "the issuer identifier must be an http(s) URL")
        return await self._issue(Role.PID_PROVIDER, common_name, public_key, dns=dns, uris=[uri],
                                 validity_days=validity_days)

    async def issue_attestation_provider_certificate(
        self, public_key: PublicKey, *, uri: str, dns: Sequence[str] = (), common_name: str = "Attestation provider",
        validity_days: int = 365,
    ) -> list[x509.Certificate]:
        """Like :meth:`issue_pid_provider_certificate`, for an (Q)EAA provider (role ``attestation-provider``)."""
        return await self._issue(Role.ATTESTATION_PROVIDER, common_name, public_key, dns=dns, uris=[uri],
                                 validity_days=validity_days)

    async def issue_document_signer(
        self, public_key: PublicKey, *, common_name: str = "PID document signer", validity_days: int = 365
    ) -> list[x509.Certificate]:
        """An mdoc document signer certificate under the IACA (ISO/IEC 18013-5 Annex B.1.4): the ``x5chain``."""
        return await self._issue(Role.IACA, common_name, public_key, validity_days=validity_days)

    # -- lists ----------------------------------------------------------------------------------------------
    async def list_entries(self, name: str) -> list[AnchorEntry]:
        spec = LIST_SPECS.get(name)
        if spec is None:
            raise TrustError("unknown_list", "no such trusted list", lists=sorted(LIST_SPECS))
        entries: list[AnchorEntry] = []
        for role in spec.roles:
            entries.extend(await self.anchor_entries(role))
        return entries

    async def trusted_list(self, name: str, *, force: bool = False) -> Publication:
        """The current signed TS 119 612 XML of list ``name`` (re-issued when its content changed)."""
        entries = await self.list_entries(name)
        return await self.publisher.trusted_list_xml(
            LIST_SPECS[name], entries, self.signer(Role.TSL_OPERATOR), now=self.clock.now(), force=force
        )

    async def lote(self, name: str, *, force: bool = False) -> Publication:
        """The current signed TS 119 602 LoTE (JSON in a compact JWS) of list ``name``."""
        entries = await self.list_entries(name)
        return await self.publisher.lote_json(
            LIST_SPECS[name], entries, self.signer(Role.TSL_OPERATOR), now=self.clock.now(), force=force
        )

    async def load_own_list(self, name: str, xml: bytes) -> list[x509.Certificate]:
        """Consume one of our own lists (as a wallet would): verify with the pinned scheme operator certificate,
        refuse rollback, and return its granted anchors."""
        spec = LIST_SPECS.get(name)
        if spec is None:
            raise TrustError("unknown_list", "no such trusted list", lists=sorted(LIST_SPECS))
        verified = await self.consumer.load(
            self.ctx.url(f"/trust/lists/{name}.xml"), xml, pinned=self.scheme_operator_certificate(),
            now=self.clock.now(), expected_types=spec.lote_type,
        )
        return verified.trust_anchors(spec.service_type)

    def describe_certificate(self, cert: x509.Certificate) -> dict[str, object]:
        cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return {
            "subject": cert.subject.rfc4514_string(),
            "common_name": str(cn[0].value) if cn else None,
            "sha256": cert_sha256(cert),
            "not_before": cert.not_valid_before_utc.isoformat(),
            "not_after": cert.not_valid_after_utc.isoformat(),
        }
