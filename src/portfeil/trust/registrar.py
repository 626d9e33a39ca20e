"""The registrar of wallet-relying parties (eIDAS Art. 5b; CIR (EU) 2025/848).

Registration data: legal and trade name, ЕИК (checked with :func:`portfeil.bg.identifiers.validate_eik`), contacts,
supervisory data protection authority (default: the Bulgarian КЗЛД), privacy policy URL, the service's DNS name
and intended uses, each with a purpose in Bulgarian and English and, per credential type (``vct`` for SD-JWT VC,
``doctype`` for mdoc), the exact claim paths it may request (DCQL claims path pointers, OpenID4VP 1.0 §7; no
wildcards).

State machine (``invalid_transition`` for anything else)::

    pending --approve--> approved --suspend--> suspended --reinstate--> approved
    pending|approved|suspended --deregister--> deregistered (final)

On approval a registration certificate is issued per intended use (ETSI TS 119 475 v1.2.1 §5.2 WRPRC as JWT,
``typ`` ``rc-wrp+jwt``, signed by the registrar with ``x5c``) carrying a Token Status List reference to
``/trust/status/rp``. Access certificates (ETSI TS 119 411-8 profile of :mod:`portfeil.pki.roles`, SAN DNS of the
service) are issued under the rp-access root from a CSR, a public key, or a key generated here (returned once).
Suspension sets the registration certificates to SUSPENDED and puts the access certificates on hold in the CRL;
reinstatement lifts both; deregistration makes them INVALID and revokes the access certificates for good.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import select

from portfeil.bg.identifiers import BgIdError, validate_eik
from portfeil.formats.jws import sign_compact
from portfeil.pki.certs import cert_from_der, cert_to_der, certs_from_pem
from portfeil.pki.errors import PKIError
from portfeil.pki.keys import PrivateKey, PublicKey, generate_private_key
from portfeil.pki.roles import Role
from portfeil.trust.anchors import cert_sha256
from portfeil.trust.errors import TrustError
from portfeil.trust.models import (
    TrustCertificate,
    TrustIntendedUse,
    TrustRegistrationCertificate,
    TrustRelyingParty,
    TrustRpEvent,
)
from portfeil.trust.status import STATUS_INVALID, STATUS_SUSPENDED, STATUS_VALID, build_crl

if TYPE_CHECKING:
    from portfeil.trust.registry import TrustRegistry

__all__ = [
    "ENTITLEMENT_SERVICE_PROVIDER",
    "REGISTRATION_CERTIFICATE_TYP",
    "WRPRC_POLICY_ID",
    "AccessCertificate",
    "CredentialUse",
    "IntendedUseIn",
    "Registrar",
    "RegistrationIn",
]

REGISTRATION_CERTIFICATE_TYP = "rc-wrp+jwt"
"""ETSI TS 119 475 v1.2.1 §5.2.2 Table 5: the JOSE ``typ`` of a WRPRC in JWT form."""
ENTITLEMENT_SERVICE_PROVIDER = "https://uri.etsi.org/19475/Entitlement/Service_Provider"
"""ETSI TS 119 475 Annex A.2.1: a relying party that requests attributes from wallets."""
WRPRC_POLICY_ID = "0.4.0.19475.3.1"
"""ETSI TS 119 475 §6.1.3: the WRPRC policy identifier."""
RC_LIFETIME = timedelta(days=365)  # GEN-5.2.4-08: at most 12 months
ACCESS_CERT_DAYS = 365

States = Literal["pending", "approved", "suspended", "deregistered"]
TRANSITIONS: dict[str, dict[str, str]] = {
    "approve": {"pending": "approved"},
    "suspend": {"approved": "suspended"},
    "reinstate": {"suspended": "approved"},
    "deregister": {"pending": "deregistered", "approved": "deregistered", "suspended": "deregistered"},
}
_HOST = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$")
KZLD = {
    "name": "Комисия за защита на личните данни",
    "uri": "https://www.cpdp.bg",
    "email": "kzld@cpdp.bg",
    "phone": "+359 2 915 3580",
}


# ---------------------------------------------------------------------------------------------------------------
# Input models (shared by the HTTP API, the CLI and the Python API)

class CredentialUse(BaseModel):
    """One credential type of an intended use and the exact claim paths the party may ask for."""

    model_config = ConfigDict(extra="forbid")
    format: Literal["dc+sd-jwt", "mso_mdoc"]
    vct: str | None = Field(default=None, max_length=500)
    doctype: str | None = Field(default=None, max_length=500)
    claims: list[list[str | int]] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _check(self) -> CredentialUse:
        if self.format == "dc+sd-jwt" and (not self.vct or self.doctype):
            raise ValueError("an SD-JWT VC use names its vct (and no doctype)")
        if self.format == "mso_mdoc" and (not self.doctype or self.vct):
            raise ValueError("an mdoc use names its doctype (and no vct)")
        for path in self.claims:
            if not path or len(path) > 10:
                raise ValueError("a claim path has 1 to 10 elements")
            for part in path:
                if isinstance(part, bool) or (isinstance(part, str) and not part.strip()):
                    raise ValueError("claim path elements are non-empty names or array indices")
                if isinstance(part, int) and part < 0:
                    raise ValueError("array indices are non-negative")
            if self.format == "mso_mdoc" and (len(path) != 2 or not all(isinstance(p, str) for p in path)):
                raise ValueError("an mdoc claim path is [namespace, element identifier]")
        if len({tuple(p) for p in self.claims}) != len(self.claims):
            raise ValueError("duplicate claim paths")
        return self


class IntendedUseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    purpose: dict[str, str]
    credentials: list[CredentialUse] = Field(min_length=1, max_length=20)

    @field_validator("purpose")
    @classmethod
    def _purpose(cls, value: dict[str, str]) -> dict[str, str]:
        if set(value) != {"bg", "en"} or not all(v.strip() and len(v) <= 1000 for v in value.values()):
            raise ValueError("purpose needs a text in bg and in en (each 1-1000 characters)")
        return {k: v.strip() for k, v in value.items()}


class ContactsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=500)


class DpaIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=300)
    uri: str = Field(max_length=2000)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)


class RegistrationIn(BaseModel):
    """A registration request (CIR (EU) 2025/848 Annex I, the fields portfeil keeps)."""

    model_config = ConfigDict(extra="forbid")
    legal_name: str = Field(min_length=1, max_length=300)
    trade_name: str | None = Field(default=None, max_length=300)
    eik: str
    dns: str = Field(max_length=253)
    contacts: ContactsIn
    dpa: DpaIn = Field(default_factory=lambda: DpaIn(**KZLD))
    privacy_policy_url: str = Field(max_length=2000)
    info_url: str | None = Field(default=None, max_length=2000)
    public_body: bool = False
    intended_uses: list[IntendedUseIn] = Field(min_length=1, max_length=50)

    @field_validator("dns")
    @classmethod
    def _dns(cls, value: str) -> str:
        value = value.strip().lower().rstrip(".")
        if not _HOST.match(value):
            raise ValueError("dns must be a host name")
        return value

    @field_validator("privacy_policy_url", "info_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not _URL.match(value):
            raise ValueError("must be an http(s) URL")
        return value


def parse_registration(data: dict[str, Any]) -> RegistrationIn:
    try:
        return RegistrationIn.model_validate(data)
    except ValidationError as exc:
        fields = [".".join(str(p) for p in e["loc"]) for e in exc.errors()]
        raise TrustError("invalid_relying_party", "the registration request is not valid", fields=fields) from None


def parse_intended_uses(data: object) -> list[IntendedUseIn]:
    if not isinstance(data, list) or not data:
        raise TrustError("invalid_intended_use", "intended uses must be a non-empty JSON array")
    try:
        return [IntendedUseIn.model_validate(item) for item in data]
    except ValidationError as exc:
        fields = [".".join(str(p) for p in e["loc"]) for e in exc.errors()]
        raise TrustError("invalid_intended_use", "an intended use is not valid", fields=fields) from None


@dataclass(frozen=True)
class AccessCertificate:
    """An issued access certificate: ``chain`` (leaf first, without the root) and, when generated here, its key
    (handed out once and never stored)."""

    chain: list[x509.Certificate]
    private_key: PrivateKey | None


# ---------------------------------------------------------------------------------------------------------------

class Registrar:
    def __init__(self, registry: TrustRegistry) -> None:
        self.registry = registry
        self.db = registry.db
        self.clock = registry.clock

    def _url(self, path: str) -> str:
        return self.registry.ctx.url(path)

    # -- registration and state machine ---------------------------------------------------------------------
    async def register(self, request: RegistrationIn | dict[str, Any]) -> dict[str, Any]:
        """Record a relying party in state ``pending``. ``invalid_eik`` if the ЕИК check digits fail."""
        req = request if isinstance(request, RegistrationIn) else parse_registration(request)
        try:
            validate_eik(req.eik)
        except BgIdError as exc:
            raise TrustError("invalid_eik", "the ЕИК is not valid", reason=exc.code) from None
        now = self.clock.now()
        async with self.db.transaction() as s:
            rp = TrustRelyingParty(
                legal_name=req.legal_name.strip(), trade_name=(req.trade_name or req.legal_name).strip(), eik=req.eik,
                dns=req.dns, contacts=req.contacts.model_dump(exclude_none=True),
                dpa=req.dpa.model_dump(exclude_none=True), privacy_policy_url=req.privacy_policy_url,
                info_url=req.info_url, public_body=req.public_body, status="pending", created_at=now, updated_at=now,
            )
            s.add(rp)
            await s.flush()
            for position, use in enumerate(req.intended_uses):
                s.add(TrustIntendedUse(rp_id=rp.id, position=position, purpose=use.purpose,
                                       credentials=[c.model_dump(exclude_none=True) for c in use.credentials]))
            s.add(TrustRpEvent(rp_id=rp.id, from_status=None, to_status="pending", reason="registered", at=now))
            rp_id = rp.id
        return await self.get(rp_id, public=False)

    async def _transition(self, rp_id: str, action: str, reason: str | None) -> TrustRelyingParty:
        if action != "approve" and not (reason and reason.strip()):
            raise TrustError("reason_required", f"{action} needs a reason")
        now = self.clock.now()
        async with self.db.transaction() as s:
            rp = await s.get(TrustRelyingParty, rp_id, with_for_update=True)
            if rp is None:
                raise TrustError("relying_party_not_found", "no such relying party")
            target = TRANSITIONS[action].get(rp.status)
            if target is None:
                raise TrustError("invalid_transition", f"cannot {action} a relying party that is {rp.status}",
                                 current_status=rp.status, action=action)
            s.add(TrustRpEvent(rp_id=rp.id, from_status=rp.status, to_status=target, reason=reason, at=now))
            rp.status = target
            rp.status_reason = reason
            rp.updated_at = now
            rcs = (
                await s.execute(select(TrustRegistrationCertificate).where(TrustRegistrationCertificate.rp_id == rp_id))
            ).scalars().all()
            certs = (
                await s.execute(select(TrustCertificate).where(TrustCertificate.rp_id == rp_id))
            ).scalars().all()
            if action == "suspend":
                for rc in rcs:
                    if rc.status == STATUS_VALID:
                        rc.status = STATUS_SUSPENDED
                for cert in certs:
                    if cert.revoked_at is None:
                        cert.revoked_at, cert.revocation_reason = now, "certificate_hold"
            elif action == "reinstate":
                for rc in rcs:
                    if rc.status == STATUS_SUSPENDED:
                        rc.status = STATUS_VALID
                for cert in certs:
                    if cert.revocation_reason == "certificate_hold":
                        cert.revoked_at, cert.revocation_reason = None, None
            elif action == "deregister":
                for rc in rcs:
                    rc.status = STATUS_INVALID
                for cert in certs:
                    if cert.revoked_at is None or cert.revocation_reason == "certificate_hold":
                        cert.revoked_at, cert.revocation_reason = now, "cessation_of_operation"
        self.registry.status_lists.invalidate("rp")
        return rp

    async def approve(self, rp_id: str) -> dict[str, Any]:
        """pending → approved; issues a registration certificate per intended use."""
        await self._transition(rp_id, "approve", None)
        await self._issue_registration_certificates(rp_id)
        return await self.get(rp_id, public=False)

    async def suspend(self, rp_id: str, reason: str) -> dict[str, Any]:
        await self._transition(rp_id, "suspend", reason)
        return await self.get(rp_id, public=False)

    async def reinstate(self, rp_id: str, reason: str) -> dict[str, Any]:
        await self._transition(rp_id, "reinstate", reason)
        return await self.get(rp_id, public=False)

    async def deregister(self, rp_id: str, reason: str) -> dict[str, Any]:
        await self._transition(rp_id, "deregister", reason)
        return await self.get(rp_id, public=False)

    # -- registration certificates --------------------------------------------------------------------------
    async def _issue_registration_certificates(self, rp_id: str) -> None:
        async with self.db.session() as s:
            uses = (await s.execute(
                select(TrustIntendedUse).where(TrustIntendedUse.rp_id == rp_id).order_by(TrustIntendedUse.position)
            )).scalars().all()
            have = set(
                (await s.execute(select(TrustRegistrationCertificate.intended_use_id).where(
                    TrustRegistrationCertificate.rp_id == rp_id))).scalars().all()
            )
        for use in uses:
            if use.id not in have:
                await self.issue_registration_certificate(rp_id, use.id)

    async def issue_registration_certificate(self, rp_id: str, intended_use_id: str) -> str:
        """A WRPRC JWT (ETSI TS 119 475 v1.2.1 §5.2, Table 7) for one intended use of an approved party."""
        now = self.clock.now()
        idx = await self.registry.status_lists.allocate("rp")
        signer = self.registry.signer(Role.REGISTRAR)
        async with self.db.transaction() as s:
            rp = await s.get(TrustRelyingParty, rp_id)
            use = await s.get(TrustIntendedUse, intended_use_id)
            if rp is None or use is None or use.rp_id != rp_id:
                raise TrustError("relying_party_not_found", "no such relying party or intended use")
            if rp.status != "approved":
                raise TrustError("relying_party_not_approved", "the relying party is not approved")
            rc = TrustRegistrationCertificate(rp_id=rp_id, intended_use_id=use.id, status_idx=idx,
                                              status=STATUS_VALID, jwt="", issued_at=now, expires_at=now + RC_LIFETIME)
            s.add(rc)
            await s.flush()
            payload = self._rc_payload(rp, use, rc, now)
            rc.jwt = sign_compact(payload, signer.issued.key, typ=REGISTRATION_CERTIFICATE_TYP,
                                  x5c=list(signer.chain))
            token = rc.jwt
        return token

    def _rc_payload(
        self, rp: TrustRelyingParty, use: TrustIntendedUse, rc: TrustRegistrationCertificate, now: datetime
    ) -> dict[str, Any]:
        iat = int(now.timestamp())
        credentials = []
        for c in use.credentials:
            meta = {"vct_values": [c["vct"]]} if c["format"] == "dc+sd-jwt" else {"doctype_value": c["doctype"]}
            # Table 8 names the claim array "claim" (singular); kept literally for interoperability.
            credentials.append({"format": c["format"], "meta": meta, "claim": [{"path": p} for p in c["claims"]]})
        dpa = dict(rp.dpa)
        payload: dict[str, Any] = {
            "name": rp.trade_name,
            "sub": f"NTRBG-{rp.eik}",
            "sub_ln": rp.legal_name,
            "country": "BG",
            "registry_uri": self._url(f"/trust/api/v1/relying-parties/{rp.id}"),
            "entitlements": [ENTITLEMENT_SERVICE_PROVIDER],
            "privacy_policy": rp.privacy_policy_url,
            "supervisory_authority": {k: dpa[k] for k in ("uri", "email", "phone") if k in dpa},
            "policy_id": [WRPRC_POLICY_ID],
            "certificate_policy": self._url("/trust/"),
            "public_body": rp.public_body,
            "iat": iat,
            "exp": iat + int(RC_LIFETIME.total_seconds()),
            "jti": rc.id,
            "intended_use_id": use.id,
            "purpose": [{"lang": lang, "value": use.purpose[lang]} for lang in ("bg", "en")],
            "credentials": credentials,
            "status": {"status_list": {"idx": rc.status_idx, "uri": self._url("/trust/status/rp")}},
        }
        if rp.info_url:
            payload["info_uri"] = rp.info_url
        return payload

    # -- access certificates --------------------------------------------------------------------------------
    async def issue_access_certificate(
        self,
        rp_id: str,
        *,
        csr_pem: bytes | None = None,
        public_key: PublicKey | None = None,
        generate: bool = False,
    ) -> AccessCertificate:
        """An access certificate (role ``rp-access``, SAN DNS = the party's service) for an approved party, from a
        CSR (its signature is checked: proof of possession), a public key, or a key generated here."""
        if (csr_pem is not None) + (public_key is not None) + bool(generate) != 1:
            raise TrustError("invalid_certificate_request", "give exactly one of: a CSR, a public key, generate")
        private_key: PrivateKey | None = None
        if csr_pem is not None:
            public_key = _public_key_from_csr(csr_pem)
        elif generate:
            private_key = generate_private_key("ES256")
            public_key = private_key.public_key()
        assert public_key is not None
        async with self.db.session() as s:
            rp = await s.get(TrustRelyingParty, rp_id)
        if rp is None:
            raise TrustError("relying_party_not_found", "no such relying party")
        if rp.status != "approved":
            raise TrustError("relying_party_not_approved", "the relying party is not approved")
        chain = await self.registry._issue(Role.RP_ACCESS, rp.trade_name[:64], public_key, dns=[rp.dns],
                                           validity_days=ACCESS_CERT_DAYS, rp_id=rp.id)
        return AccessCertificate(chain, private_key)

    async def crl(self) -> bytes:
        """The DER CRL of the rp-access CA (``/trust/crl/rp-access.crl``); re-issued when revocations change or
        after half a day, with the CRL number incremented each time (RFC 5280 §5.2.3)."""
        async with self.db.session() as s:
            revoked = list((await s.execute(
                select(TrustCertificate).where(TrustCertificate.role == Role.RP_ACCESS.value,
                                               TrustCertificate.revoked_at.is_not(None))
                .order_by(TrustCertificate.serial)
            )).scalars().all())
        digest = "|".join(f"{c.serial}:{c.revocation_reason}:{c.revoked_at}" for c in revoked)
        import hashlib

        now = self.clock.now()
        root = self.registry.pki.root(Role.RP_ACCESS, now=now)

        async def build(number: int, at: datetime) -> bytes:
            from cryptography.hazmat.primitives.serialization import Encoding

            return build_crl(root, revoked, number=number, now=at).public_bytes(Encoding.DER)

        pub = await self.registry.publisher.publish(
            "crl:rp-access", hashlib.sha256(digest.encode()).hexdigest(), build, media_type="application/pkix-crl",
            now=now, validity=timedelta(days=1),
        )
        return pub.body

    # -- queries --------------------------------------------------------------------------------------------
    def _rp_dict(self, rp: TrustRelyingParty, uses: list[TrustIntendedUse], *, public: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": rp.id,
            "legal_name": rp.legal_name,
            "trade_name": rp.trade_name,
            "eik": rp.eik,
            "identifier": f"NTRBG-{rp.eik}",
            "country": "BG",
            "dns": rp.dns,
            "status": rp.status,
            "status_reason": rp.status_reason,
            "privacy_policy_url": rp.privacy_policy_url,
            "info_url": rp.info_url,
            "public_body": rp.public_body,
            "supervisory_authority": rp.dpa,
            "contacts": rp.contacts,
            "registered_at": rp.created_at.isoformat(),
            "updated_at": rp.updated_at.isoformat(),
            "intended_uses": [{"id": u.id, "purpose": u.purpose, "credentials": u.credentials} for u in uses],
        }
        return out

    async def get(self, rp_id: str, *, public: bool = True) -> dict[str, Any]:
        async with self.db.session() as s:
            rp = await s.get(TrustRelyingParty, rp_id)
            if rp is None or (public and rp.status == "pending"):
                raise TrustError("relying_party_not_found", "no such relying party")
            uses = list((await s.execute(
                select(TrustIntendedUse).where(TrustIntendedUse.rp_id == rp_id).order_by(TrustIntendedUse.position)
            )).scalars().all())
            return self._rp_dict(rp, uses, public=public)

    async def list_parties(self, *, public: bool = True, status: str | None = None) -> list[dict[str, Any]]:
        """The register. Publicly: every party that was approved at some point (pending requests are not public)."""
        async with self.db.session() as s:
            q = select(TrustRelyingParty).order_by(TrustRelyingParty.legal_name, TrustRelyingParty.id)
            if public:
                q = q.where(TrustRelyingParty.status != "pending")
            if status:
                q = q.where(TrustRelyingParty.status == status)
            rps = list((await s.execute(q)).scalars().all())
            uses = list((await s.execute(
                select(TrustIntendedUse).order_by(TrustIntendedUse.rp_id, TrustIntendedUse.position)
            )).scalars().all())
        by_rp: dict[str, list[TrustIntendedUse]] = {}
        for u in uses:
            by_rp.setdefault(u.rp_id, []).append(u)
        return [self._rp_dict(rp, by_rp.get(rp.id, []), public=public) for rp in rps]

    async def status(self, rp_id: str) -> dict[str, Any]:
        async with self.db.session() as s:
            rp = await s.get(TrustRelyingParty, rp_id)
        if rp is None or rp.status == "pending":
            raise TrustError("relying_party_not_found", "no such relying party")
        return {"id": rp.id, "status": rp.status, "reason": rp.status_reason, "since": rp.updated_at.isoformat(),
                "registered": rp.status == "approved"}

    async def events(self, rp_id: str) -> list[dict[str, Any]]:
        async with self.db.session() as s:
            rows = (await s.execute(
                select(TrustRpEvent).where(TrustRpEvent.rp_id == rp_id).order_by(TrustRpEvent.at)
            )).scalars().all()
        return [{"from": r.from_status, "to": r.to_status, "reason": r.reason, "at": r.at.isoformat()} for r in rows]

    async def registration_certificates(self, rp_id: str) -> list[dict[str, Any]]:
        async with self.db.session() as s:
            rp = await s.get(TrustRelyingParty, rp_id)
            if rp is None or rp.status == "pending":
                raise TrustError("relying_party_not_found", "no such relying party")
            rows = (await s.execute(
                select(TrustRegistrationCertificate).where(TrustRegistrationCertificate.rp_id == rp_id)
                .order_by(TrustRegistrationCertificate.issued_at)
            )).scalars().all()
        names = {STATUS_VALID: "valid", STATUS_INVALID: "invalid", STATUS_SUSPENDED: "suspended"}
        return [{"id": r.id, "intended_use_id": r.intended_use_id, "jwt": r.jwt, "status": names.get(r.status),
                 "expires_at": r.expires_at.isoformat()} for r in rows]

    async def validate_access_certificate(self, chain: list[x509.Certificate]) -> dict[str, Any]:
        """Art. 5a(8)(b): is this access certificate valid and its party registered, and for which attributes?"""
        now = self.clock.now()
        leaf = chain[0]
        answer: dict[str, Any] = {
            "certificate": self.registry.describe_certificate(leaf),
            "chain_valid": False,
            "registered": False,
            "certificate_status": "unknown",
            "relying_party": None,
            "intended_uses": [],
        }
        validator = await self.registry.validator(Role.RP_ACCESS)
        try:
            validator.validate([cert_to_der(c) for c in chain], now=now)
            answer["chain_valid"] = True
        except PKIError as exc:
            answer["chain_error"] = exc.code
        async with self.db.session() as s:
            row = (await s.execute(
                select(TrustCertificate).where(TrustCertificate.sha256 == cert_sha256(leaf),
                                               TrustCertificate.role == Role.RP_ACCESS.value)
            )).scalar_one_or_none()
            rp = await s.get(TrustRelyingParty, row.rp_id) if row is not None and row.rp_id else None
        if row is None:
            answer["certificate_status"] = "not_issued_by_this_registry"
            return answer
        if row.revoked_at is not None:
            answer["certificate_status"] = "suspended" if row.revocation_reason == "certificate_hold" else "revoked"
            answer["revocation_reason"] = row.revocation_reason
        elif row.not_after < now:
            answer["certificate_status"] = "expired"
        else:
            answer["certificate_status"] = "valid"
        if rp is not None:
            info = await self.get(rp.id, public=False)
            answer["relying_party"] = {k: info[k] for k in ("id", "legal_name", "trade_name", "identifier", "dns",
                                                             "status", "status_reason")}
            answer["intended_uses"] = info["intended_uses"]
            answer["registered"] = (
                rp.status == "approved" and answer["chain_valid"] and answer["certificate_status"] == "valid"
            )
        return answer


def _public_key_from_csr(csr_pem: bytes) -> PublicKey:
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError:
        try:
            csr = x509.load_der_x509_csr(csr_pem)
        except ValueError:
            raise TrustError("invalid_csr", "the certificate signing request does not decode") from None
    if not csr.is_signature_valid:
        raise TrustError("invalid_csr", "the certificate signing request signature does not verify")
    key = csr.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise TrustError("invalid_csr", "access certificate keys must be ECDSA or Ed25519")
    return key


def parse_chain(data: bytes | str | list[str]) -> list[x509.Certificate]:
    """Certificates from a PEM bundle, or a list of PEM / base64-DER strings (leaf first)."""
    import base64
    import binascii

    try:
        if isinstance(data, list):
            out: list[x509.Certificate] = []
            for item in data[:10]:
                if "-----BEGIN" in item:
                    out.extend(certs_from_pem(item.encode()))
                else:
                    out.append(cert_from_der(base64.b64decode(item, validate=True)))
            certs = out
        else:
            raw = data.encode() if isinstance(data, str) else data
            certs = certs_from_pem(raw) if b"-----BEGIN" in raw else [cert_from_der(raw)]
    except (PKIError, binascii.Error, ValueError):
        raise TrustError("invalid_certificate", "the certificate chain does not decode") from None
    if not certs or len(certs) > 10:
        raise TrustError("invalid_certificate", "give 1 to 10 certificates, leaf first")
    return certs
