"""The eID registry's use cases (Electronic Identification Act, ЗЕИ): identifiers, issuance, lifecycle, revocation
status, sector identifiers, service providers, identity verification, the verification log and holder sessions.

Other services call :class:`EidRegistry` (``EidRegistry.for_context(ctx)``); person data comes from the population
register's Python API (:mod:`portfeil.sources.registry`) at the moment it is needed and is not copied here. Article
references are our reading of the Act and its implementing regulation (docs/eid.md lists them and what is unsure).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from portfeil.context import AppContext
from portfeil.eid import certificates as certs
from portfeil.eid import sectors
from portfeil.eid.errors import EidError
from portfeil.eid.models import (
    BillingRecord,
    Certificate,
    Challenge,
    HolderSession,
    Identifier,
    Notification,
    Provider,
    ProviderService,
    Sector,
    SectorBinding,
    Transition,
    Verification,
)
from portfeil.eid.register import Register, api_key_hash
from portfeil.errors import NotFound
from portfeil.outbox import Event, emit
from portfeil.pki.ca import IssuedCertificate
from portfeil.pki.certs import cert_from_der
from portfeil.pki.chains import ChainValidator
from portfeil.pki.errors import PKIError
from portfeil.pki.keystore import FileKeyStore, KeyStore
from portfeil.pki.roles import Role
from portfeil.sources import registry as population
from portfeil.sources.registry import PersonRecord

MIN_AGE = 14
ADULT_AGE = 18
CHALLENGE_TTL = timedelta(minutes=5)
SESSION_TTL = timedelta(minutes=15)
LOG_RETENTION_YEARS = 10
RENEWAL_WINDOW = timedelta(days=90)

TOPIC_TERMINATED = "eid.certificate_terminated"
TOPIC_SUSPENDED = "eid.certificate_suspended"
TOPIC_RESUMED = "eid.certificate_resumed"

#: reason -> (article as understood, CRL reason code)
SUSPEND_REASONS: dict[str, str] = {
    "holder_request": "ЗЕИ чл. 22, ал. 1, т. 1 (искане на титуляря след проверка на самоличността)",
    "misuse_report": "ЗЕИ чл. 22, ал. 1, т. 2 (данни за злоупотреба, съобщени от трето лице)",
    "authority_cause": "ЗЕИ чл. 22, ал. 1, т. 3 (по инициатива на органа при основание)",
    "document_lost": "ЗЕИ чл. 22, ал. 1, т. 3 (обявен за изгубен документ за самоличност)",
}
RESUME_REASONS: dict[str, str] = {
    "holder_request": "ЗЕИ чл. 23 (възобновяване по искане на титуляря)",
}
TERMINATE_REASONS: dict[str, tuple[str, str]] = {
    "expiry": ("ЗЕИ чл. 24, ал. 1, т. 1 (изтичане на срока)", "cessation_of_operation"),
    "death": ("ЗЕИ чл. 24, ал. 1, т. 2 (смърт на титуляря)", "cessation_of_operation"),
    "holder_request": ("ЗЕИ чл. 24, ал. 1, т. 3 (искане на титуляря)", "unspecified"),
    "false_data": ("ЗЕИ чл. 24, ал. 1, т. 4 (издадено въз основа на неверни данни)", "unspecified"),
    "data_change": ("ЗЕИ чл. 24, ал. 1, т. 5 (промяна в данните, въз основа на които е издадено)",
                    "affiliation_changed"),
    "compromise": ("ЗЕИ чл. 24, ал. 1, т. 6 (компрометиран частен ключ)", "key_compromise"),
    "renewal": ("ЗЕИ чл. 24, ал. 1, т. 3 (заменено при онлайн подновяване)", "superseded"),
}
ISSUE_ARTICLE = "ЗЕИ чл. 20-21 (издаване по заявление, лично явяване, срок до 5 години)"
#: fields of the population register a certificate is issued on (their change terminates it, reason data_change)
ISSUED_ON_FIELDS = ("personal_number", "given_name", "middle_name", "family_name", "given_name_latin",
                    "middle_name_latin", "family_name_latin", "birth_date")
#: attributes a service may be registered for, and how each is read from the population register
ATTRIBUTES = ("personal_number", "given_name", "middle_name", "family_name", "given_name_latin",
              "middle_name_latin", "family_name_latin", "birth_date", "sex", "nationalities", "birth_place",
              "permanent_address", "current_address", "age_over_18")


def _b64decode(value: str, code: str) -> bytes:
    try:
        pad = "=" * (-len(value) % 4)
        return base64.b64decode(value.replace("-", "+").replace("_", "/") + pad, validate=True)
    except (binascii.Error, ValueError, TypeError, AttributeError):
        raise EidError(code, "not valid base64") from None


def new_electronic_id() -> str:
    """A random 128-bit electronic identifier, base32 without padding (26 characters): reveals nothing."""
    return base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=")


def issued_on(person: PersonRecord) -> dict[str, Any]:
    values = {
        "personal_number": person.personal_number, "given_name": person.names.given,
        "middle_name": person.names.middle, "family_name": person.names.family,
        "given_name_latin": person.names.given_latin, "middle_name_latin": person.names.middle_latin,
        "family_name_latin": person.names.family_latin, "birth_date": person.birth_date.isoformat(),
    }
    digest = hashlib.sha256(json.dumps(values, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return {"fields": list(ISSUED_ON_FIELDS), "sha256": digest}


def attribute_values(person: PersonRecord, names: Sequence[str], on: Any) -> dict[str, Any]:
    """The named attributes of a person, read from the population register record."""
    def addr(a: population.AddressRecord | None) -> dict[str, Any] | None:
        return None if a is None else {"formatted": a.formatted, "country": a.country, "locality": a.locality,
                                       "postal_code": a.postal_code}

    table: dict[str, Any] = {
        "personal_number": person.personal_number, "given_name": person.names.given,
        "middle_name": person.names.middle, "family_name": person.names.family,
        "given_name_latin": person.names.given_latin, "middle_name_latin": person.names.middle_latin,
        "family_name_latin": person.names.family_latin, "birth_date": person.birth_date.isoformat(),
        "sex": person.sex, "nationalities": list(person.nationalities),
        "birth_place": {"country": person.birth_place.country, "region": person.birth_place.region,
                        "locality": person.birth_place.locality},
        "permanent_address": addr(person.permanent_address), "current_address": addr(person.current_address),
        "age_over_18": person.age_on(on) >= ADULT_AGE,
    }
    return {n: table[n] for n in names}


# --- values handed out -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateView:
    serial: str
    electronic_id: str
    status: str
    not_before: datetime
    not_after: datetime
    issued_at: datetime
    administrator_id: str
    centre_id: str | None
    status_reason: str | None
    renewed_from: str | None
    der: bytes = field(repr=False)
    transitions: tuple[dict[str, Any], ...] = ()

    @property
    def pem(self) -> str:
        return x509.load_der_x509_certificate(self.der).public_bytes(Encoding.PEM).decode()

    def to_dict(self, *, with_pem: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "serial": self.serial, "electronic_id": self.electronic_id, "status": self.status,
            "not_before": self.not_before.isoformat(), "not_after": self.not_after.isoformat(),
            "issued_at": self.issued_at.isoformat(), "administrator_id": self.administrator_id,
            "centre_id": self.centre_id, "status_reason": self.status_reason, "renewed_from": self.renewed_from,
            "transitions": list(self.transitions),
        }
        if with_pem:
            out["certificate_pem"] = self.pem
        return out


@dataclass(frozen=True)
class IssueRequest:
    """An application for an eID certificate taken at an administrator's desk (Art. 20)."""

    personal_number: str
    csr: bytes
    administrator_id: str
    #: the officer who saw the applicant in person, and where (the eID centre or the administrator's office)
    officer: str
    document_number: str
    centre_id: str | None = None
    appeared_at: datetime | None = None
    #: a parent or guardian co-signing for a minor (14-17), or the guardian/trustee of an adult under judicial
    #: disability, who appeared too
    co_signer_personal_number: str | None = None
    co_signer_appeared: bool = False


@dataclass(frozen=True)
class ChallengeView:
    challenge: str
    expires_at: datetime


@dataclass(frozen=True)
class VerifiedIdentity:
    """The result of a successful eID authentication checked by the centre (level of assurance high)."""

    electronic_id: str
    person_id: str
    personal_number: str | None
    attributes: dict[str, Any]
    sector_id: str | None
    certificate_serial: str
    loa: str = "high"

    def to_dict(self) -> dict[str, Any]:
        return {"electronic_id": self.electronic_id, "attributes": self.attributes, "sector_id": self.sector_id,
                "certificate_serial": self.certificate_serial, "loa": self.loa}


@dataclass(frozen=True)
class ProviderView:
    id: str
    name: str
    eik: str
    is_state_body: bool
    status: str
    services: tuple[dict[str, Any], ...] = ()


def _cert_view(c: Certificate, transitions: Sequence[Transition] = ()) -> CertificateView:
    return CertificateView(
        c.serial, c.electronic_id, c.status, c.not_before, c.not_after, c.issued_at, c.administrator_id,
        c.centre_id, c.status_reason, c.renewed_from, c.der,
        tuple({"at": t.at.isoformat(), "from": t.from_status, "to": t.to_status, "reason": t.reason,
               "article": t.article, "actor": t.actor, "note": t.note} for t in transitions),
    )


class EidRegistry:
    """Use cases of the eID registry; one per context (``for_context``)."""

    def __init__(self, ctx: AppContext, *, keystore: KeyStore | None = None) -> None:
        self.ctx = ctx
        self.db = ctx.db
        self.clock = ctx.clock
        if keystore is None:
            keystore = FileKeyStore(ctx.settings.keystore_dir, ctx.settings.keystore_passphrase.get_secret_value()
                                    .encode())
        self.keystore = keystore
        self.authority = certs.EidAuthority(keystore)
        self.register = Register(ctx.db, ctx.clock)
        self._validator: ChainValidator | None = None

    @classmethod
    def for_context(cls, ctx: AppContext) -> EidRegistry:
        reg = ctx.services.get("eid.registry")
        if not isinstance(reg, EidRegistry):
            reg = ctx.services["eid.registry"] = cls(ctx, keystore=ctx.services.get("eid.keystore"))
        return reg

    # --- PKI ---------------------------------------------------------------------------------------------------

    async def issuing_ca(self) -> IssuedCertificate:
        return await asyncio.to_thread(self.authority.issuing, now=self.clock.now())

    async def root_ca(self) -> x509.Certificate:
        return (await asyncio.to_thread(self.authority.root, now=self.clock.now())).certificate

    async def validator(self) -> ChainValidator:
        if self._validator is None:
            self._validator = ChainValidator([await self.root_ca()], Role.EID)
        return self._validator

    async def ca_chain(self) -> list[x509.Certificate]:
        """The issuing CA and the root, for a holder's chain (``[leaf, *ca_chain]``)."""
        return [(await self.issuing_ca()).certificate, await self.root_ca()]

    # --- identifiers -------------------------------------------------------------------------------------------

    async def electronic_id_for(self, person_id: str, *, create: bool = False) -> str | None:
        """The person's electronic identifier (Art. 2), created in the register of identifiers if asked."""
        async with self.db.session() as s:
            row = (await s.execute(select(Identifier).where(Identifier.person_id == person_id))).scalar_one_or_none()
            if row is not None or not create:
                return None if row is None else row.electronic_id
        try:
            async with self.db.transaction() as s:
                eid = new_electronic_id()
                s.add(Identifier(electronic_id=eid, person_id=person_id, created_at=self.clock.now()))
            return eid
        except IntegrityError:  # created concurrently
            return await self.electronic_id_for(person_id)

    async def person_of(self, electronic_id: str) -> str:
        async with self.db.session() as s:
            row = await s.get(Identifier, electronic_id)
            if row is None:
                raise EidError("person_not_found", "no such electronic identifier")
            return row.person_id

    # --- issuance ----------------------------------------------------------------------------------------------

    async def issue(self, req: IssueRequest, *, actor: str | None = None) -> CertificateView:
        """Issue an eID certificate from a CSR, enforcing (docs/eid.md, "Issuance rules"):

        the administrator (and the centre, if given) is registered and active; the person is in the population
        register, alive, at least 14 on the clock's date (Art. 16 as understood); the person appeared in person
        before the officer (Art. 20); the identity document shown is the person's and valid today; a minor (14-17)
        or an adult under judicial disability (full or limited, Persons and Family Act Art. 5) is joined by a parent
        or guardian/trustee who represents them in the population register today, co-signs and appeared; the CSR's
        signature
        verifies (proof of possession, the registry never sees the private key).
        """
        now = self.clock.now()
        today = now.date()
        adm = await self.register.get(req.administrator_id)
        if adm.kind != "administrator" or adm.status != "registered":
            raise EidError("administrator_not_active", "issuance goes only through a registered, active administrator")
        if req.centre_id is not None:
            centre = await self.register.get(req.centre_id)
            if centre.kind != "centre" or centre.status != "registered":
                raise EidError("centre_not_active", "the eID centre is not registered and active")
        if not req.officer or not req.officer.strip():
            raise EidError("appearance_not_recorded", "the officer who saw the applicant in person is required")
        appeared_at = req.appeared_at or now
        if appeared_at > now or now - appeared_at > timedelta(days=1):
            raise EidError("appearance_not_recorded", "the in-person appearance must be recorded on the day")
        csr = certs.parse_csr(req.csr)
        try:
            person = await population.get_person_by_number(self.db, req.personal_number, clock=self.clock)
        except NotFound:
            raise EidError("person_not_found", "no such person in the population register") from None
        if not person.alive:
            raise EidError("person_deceased", "the person is recorded as deceased")
        age = person.age_on(today)
        if age < MIN_AGE:
            raise EidError("under_minimum_age", "eID certificates are issued from the age of 14", minimum_age=MIN_AGE)
        doc = next((d for d in person.documents if d.number == req.document_number), None)
        if doc is None:
            raise EidError("document_not_found", "the identity document is not the person's")
        if not doc.valid:
            raise EidError("document_not_valid", f"the identity document is {doc.status}", status=doc.status)
        co_signer: dict[str, Any] | None = None
        if age < ADULT_AGE or person.under_guardianship:
            if not req.co_signer_personal_number:
                raise EidError("co_signer_required", "the application of a minor or of a person under guardianship "
                               "is co-signed by a parent or guardian")
            reps = await population.legal_representatives(self.db, person.id, clock=self.clock, on=today)
            rep = next((r for r in reps if r.adult.personal_number == req.co_signer_personal_number), None)
            if rep is None:
                raise EidError("co_signer_not_representative",
                               "the co-signer is not the applicant's parent, guardian or trustee")
            if not req.co_signer_appeared:
                raise EidError("co_signer_appearance_required", "the parent or guardian must appear in person")
            co_signer = {"person_id": rep.adult.id, "kind": rep.kind, "officer": req.officer.strip(),
                         "at": appeared_at.isoformat()}
        eid = await self.electronic_id_for(person.id, create=True)
        assert eid is not None
        issuing = await self.issuing_ca()
        cert = certs.build_eid_certificate(
            issuing, csr, eid, now=now, crl_url=self.ctx.url("/eid/crl/eid-ca.crl"), ocsp_url=self.ctx.url("/eid/ocsp")
        )
        row = Certificate(
            serial=certs.serial_hex(cert.serial_number), electronic_id=eid, person_id=person.id,
            administrator_id=adm.id, centre_id=req.centre_id, status="active",
            not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
            der=cert.public_bytes(Encoding.DER), issued_at=now,
            appearance={"officer": req.officer.strip(), "centre_id": req.centre_id,
                        "administrator_id": adm.id, "at": appeared_at.isoformat()},
            co_signer=co_signer, document_number=doc.number, issued_on=issued_on(person), renewed_from=None,
            status_reason=None, status_changed_at=now, revocation_reason=None, revoked_at=None,
        )
        async with self.db.transaction() as s:
            s.add(row)
            await s.flush()
            s.add(Transition(serial=row.serial, at=now, from_status=None, to_status="active", reason="issued",
                             article=ISSUE_ARTICLE, actor=actor or f"administrator:{adm.id}", note=None))
        return await self.get(row.serial)

    # --- reading -----------------------------------------------------------------------------------------------

    async def get(self, serial: str) -> CertificateView:
        async with self.db.session() as s:
            c = await s.get(Certificate, serial.lower())
            if c is None:
                raise EidError("certificate_not_found", "no such eID certificate")
            ts = (await s.execute(select(Transition).where(Transition.serial == c.serial)
                                  .order_by(Transition.seq))).scalars().all()
            return _cert_view(c, ts)

    async def certificates(self, *, person_id: str | None = None, electronic_id: str | None = None,
                   status: str | None = None, limit: int = 100) -> list[CertificateView]:
        stmt = select(Certificate).order_by(Certificate.issued_at.desc(), Certificate.serial).limit(limit)
        if person_id is not None:
            stmt = stmt.where(Certificate.person_id == person_id)
        if electronic_id is not None:
            stmt = stmt.where(Certificate.electronic_id == electronic_id)
        if status is not None:
            stmt = stmt.where(Certificate.status == status)
        async with self.db.session() as s:
            return [_cert_view(c) for c in (await s.execute(stmt)).scalars()]

    # --- lifecycle ---------------------------------------------------------------------------------------------

    async def _transition(
        self, s: AsyncSession, c: Certificate, to: str, reason: str, article: str, actor: str,
        note: str | None = None, crl_reason: str | None = None,
    ) -> None:
        now = self.clock.now()
        s.add(Transition(serial=c.serial, at=now, from_status=c.status, to_status=to, reason=reason,
                         article=article, actor=actor, note=note))
        c.status = to
        c.status_reason = reason
        c.status_changed_at = now
        if to == "active":
            c.revocation_reason, c.revoked_at = None, None
        else:
            c.revocation_reason = crl_reason or "unspecified"
            c.revoked_at = now
        topic = {"terminated": TOPIC_TERMINATED, "suspended": TOPIC_SUSPENDED, "active": TOPIC_RESUMED}[to]
        await emit(s, topic, {"certificate_serial": c.serial, "electronic_id": c.electronic_id, "reason": reason},
                   clock=self.clock)

    async def _load_for_update(self, s: AsyncSession, serial: str) -> Certificate:
        c = await s.get(Certificate, serial.lower(), with_for_update=True)
        if c is None:
            raise EidError("certificate_not_found", "no such eID certificate")
        return c

    async def suspend(self, serial: str, reason: str, *, actor: str, note: str | None = None,
                      identity_checked: bool = False) -> CertificateView:
        """Suspend (Art. 22 as understood): by the holder after an identity check, by anyone reporting misuse
        (the holder is then notified), by the authority for cause."""
        if reason not in SUSPEND_REASONS:
            raise EidError("invalid_reason", "unknown suspension reason", allowed=sorted(SUSPEND_REASONS))
        if reason == "holder_request" and not identity_checked:
            raise EidError("identity_check_required", "a holder's request needs an identity check")
        if reason == "misuse_report" and not (note and note.strip()):
            raise EidError("misuse_evidence_required", "a misuse report states what was seen")
        async with self.db.transaction() as s:
            c = await self._load_for_update(s, serial)
            if c.status != "active":
                raise EidError("invalid_transition", f"cannot suspend a certificate that is {c.status}",
                               status=c.status)
            await self._transition(s, c, "suspended", reason, SUSPEND_REASONS[reason], actor, note,
                                   "certificate_hold")
            if reason != "holder_request":
                s.add(Notification(person_id=c.person_id, serial=c.serial, kind=f"suspended_{reason}",
                                   created_at=self.clock.now()))
        return await self.get(serial)

    async def resume(self, serial: str, *, actor: str, identity_checked: bool = False,
                     reason: str = "holder_request") -> CertificateView:
        """Resume a suspended certificate at the holder's request after an identity check (Art. 23)."""
        if reason not in RESUME_REASONS:
            raise EidError("invalid_reason", "unknown resumption reason", allowed=sorted(RESUME_REASONS))
        if not identity_checked:
            raise EidError("identity_check_required", "a holder's request needs an identity check")
        async with self.db.transaction() as s:
            c = await self._load_for_update(s, serial)
            if c.status != "suspended":
                raise EidError("invalid_transition", f"cannot resume a certificate that is {c.status}",
                               status=c.status)
            if c.not_after < self.clock.now():
                raise EidError("certificate_expired", "an expired certificate cannot be resumed")
            await self._transition(s, c, "active", reason, RESUME_REASONS[reason], actor)
        return await self.get(serial)

    async def terminate(self, serial: str, reason: str, *, actor: str, note: str | None = None,
                        session: AsyncSession | None = None) -> CertificateView | None:
        """Terminate (Art. 24 as understood) for expiry, death, holder request, false data, change of the data it
        was issued on, key compromise, or renewal. Terminated is final."""
        if reason not in TERMINATE_REASONS:
            raise EidError("invalid_reason", "unknown termination reason", allowed=sorted(TERMINATE_REASONS))
        article, crl_reason = TERMINATE_REASONS[reason]
        if session is not None:
            c = await self._load_for_update(session, serial)
            if c.status == "terminated":
                raise EidError("invalid_transition", "the certificate is already terminated", status=c.status)
            await self._transition(session, c, "terminated", reason, article, actor, note, crl_reason)
            return None
        async with self.db.transaction() as s:
            c = await self._load_for_update(s, serial)
            if c.status == "terminated":
                raise EidError("invalid_transition", "the certificate is already terminated", status=c.status)
            await self._transition(s, c, "terminated", reason, article, actor, note, crl_reason)
        return await self.get(serial)

    async def expire_due(self) -> int:
        """Terminate, with reason ``expiry``, every certificate past its notAfter (a periodic job)."""
        now = self.clock.now()
        async with self.db.transaction() as s:
            rows = (await s.execute(select(Certificate).where(
                Certificate.status != "terminated", Certificate.not_after < now).with_for_update())).scalars().all()
            for c in rows:
                await self._transition(s, c, "terminated", "expiry", TERMINATE_REASONS["expiry"][0], "system",
                                       None, "cessation_of_operation")
        return len(rows)

    async def renew(self, serial: str, csr_data: bytes, challenge: str, signature: str) -> CertificateView:
        """Online renewal before expiry (docs/eid.md): the holder proves the current key by signing a challenge we
        issued; the new certificate (new key from the CSR, 5 years) replaces the old, which is terminated with
        reason ``renewal`` (CRL reason superseded). Refused within the last day or for a non-active certificate."""
        old = await self.get(serial)
        now = self.clock.now()
        if old.status != "active":
            raise EidError("invalid_transition", f"cannot renew a certificate that is {old.status}", status=old.status)
        if old.not_after <= now:
            raise EidError("certificate_expired", "an expired certificate cannot be renewed online")
        if old.not_after - now > RENEWAL_WINDOW:
            raise EidError("renewal_too_early", "online renewal opens 90 days before expiry")
        leaf = cert_from_der(old.der)
        await self._consume_challenge(challenge)
        self._check_signature(leaf, challenge, signature)
        csr = certs.parse_csr(csr_data)
        if csr.public_key() == leaf.public_key():
            raise EidError("key_reuse", "renewal needs a new key")
        person = await population.get_person(self.db, await self.person_of(old.electronic_id), clock=self.clock)
        if not person.alive:
            raise EidError("person_deceased", "the person is recorded as deceased")
        if person.under_guardianship:
            raise EidError("co_signer_required", "a person under guardianship renews in person, with the guardian")
        async with self.db.session() as s:
            prev = await s.get(Certificate, old.serial)
            assert prev is not None
            if prev.issued_on.get("sha256") != issued_on(person)["sha256"]:
                raise EidError("data_changed", "the data the certificate was issued on changed: apply in person")
            appearance, co_signer, doc_number = prev.appearance, prev.co_signer, prev.document_number
            adm, centre = prev.administrator_id, prev.centre_id
        issuing = await self.issuing_ca()
        cert = certs.build_eid_certificate(
            issuing, csr, old.electronic_id, now=now, crl_url=self.ctx.url("/eid/crl/eid-ca.crl"),
            ocsp_url=self.ctx.url("/eid/ocsp"),
        )
        new_serial = certs.serial_hex(cert.serial_number)
        async with self.db.transaction() as s:
            s.add(Certificate(
                serial=new_serial, electronic_id=old.electronic_id, person_id=person.id, administrator_id=adm,
                centre_id=centre, status="active", not_before=cert.not_valid_before_utc,
                not_after=cert.not_valid_after_utc, der=cert.public_bytes(Encoding.DER),
                issued_at=now, appearance=appearance, co_signer=co_signer, document_number=doc_number,
                issued_on=issued_on(person), renewed_from=old.serial, status_reason=None, status_changed_at=now,
                revocation_reason=None, revoked_at=None,
            ))
            await s.flush()
            s.add(Transition(serial=new_serial, at=now, from_status=None, to_status="active", reason="renewal",
                             article="ЗЕИ чл. 21 (онлайн подновяване, доказано притежание на ключа)",
                             actor=f"holder:{old.electronic_id}", note=f"renews {old.serial}"))
            await self.terminate(old.serial, "renewal", actor=f"holder:{old.electronic_id}",
                                 note=f"renewed by {new_serial}", session=s)
        return await self.get(new_serial)

    # --- population register events ---------------------------------------------------------------------------

    async def on_population_event(self, s: AsyncSession, event: Event) -> None:
        """Outbox consumer (``eid.population``): death terminates all the person's certificates (reason death); a
        change of the fields a certificate was issued on terminates it (reason data_change); a document declared
        lost suspends certificates issued on it (the authority's precaution) and notifies the holder; an
        invalidated (replaced) document only notifies (docs/eid.md)."""
        person_id = event.payload.get("person_id")
        if not isinstance(person_id, str):
            return
        rows = (await s.execute(select(Certificate).where(
            Certificate.person_id == person_id, Certificate.status != "terminated").with_for_update())).scalars().all()
        if not rows:
            return
        actor = f"population:{event.topic}"
        if event.topic == population.TOPIC_PERSON_DIED:
            for c in rows:
                await self._transition(s, c, "terminated", "death", TERMINATE_REASONS["death"][0], actor,
                                       None, TERMINATE_REASONS["death"][1])
        elif event.topic == population.TOPIC_PERSON_CHANGED:
            fields = set(event.payload.get("fields") or ())
            if not fields & set(ISSUED_ON_FIELDS):
                return
            person = await population.get_person(self.db, person_id, clock=self.clock)
            digest = issued_on(person)["sha256"]
            for c in rows:
                if c.issued_on.get("sha256") != digest:
                    await self._transition(s, c, "terminated", "data_change", TERMINATE_REASONS["data_change"][0],
                                           actor, ",".join(sorted(fields & set(ISSUED_ON_FIELDS))),
                                           TERMINATE_REASONS["data_change"][1])
                    s.add(Notification(person_id=person_id, serial=c.serial, kind="terminated_data_change",
                                       created_at=self.clock.now()))
        elif event.topic == population.TOPIC_DOCUMENT_INVALIDATED:
            number = event.payload.get("document_number")
            status = event.payload.get("status")
            for c in rows:
                if c.document_number != number:
                    continue
                if status == "lost" and c.status == "active":
                    await self._transition(s, c, "suspended", "document_lost", SUSPEND_REASONS["document_lost"],
                                           actor, None, "certificate_hold")
                    s.add(Notification(person_id=person_id, serial=c.serial, kind="suspended_document_lost",
                                       created_at=self.clock.now()))
                else:
                    s.add(Notification(person_id=person_id, serial=c.serial, kind="document_invalidated",
                                       created_at=self.clock.now()))

    async def notifications(self, person_id: str) -> list[dict[str, Any]]:
        async with self.db.session() as s:
            rows = (await s.execute(select(Notification).where(Notification.person_id == person_id)
                                    .order_by(Notification.created_at))).scalars().all()
            return [{"kind": n.kind, "serial": n.serial, "created_at": n.created_at.isoformat()} for n in rows]

    # --- revocation status -------------------------------------------------------------------------------------

    async def crl(self) -> bytes:
        """The DER CRL of the issuing CA, listing suspended (certificateHold) and terminated certificates."""
        issuing = await self.issuing_ca()
        now = self.clock.now()
        async with self.db.session() as s:
            rows = (await s.execute(select(Certificate.serial, Certificate.revoked_at, Certificate.revocation_reason)
                                    .where(Certificate.status != "active"))).all()
        entries = [certs.RevokedEntry(int(r[0], 16), r[1] or now, r[2] or "unspecified") for r in rows]
        # CRL number (RFC 5280 §5.2.3): the issue time in microseconds, monotonic across re-issues and restarts
        crl = certs.build_crl(issuing, entries, number=max(1, int(now.timestamp() * 1_000_000)), now=now)
        return crl.public_bytes(Encoding.DER)

    async def ocsp(self, request_der: bytes) -> bytes:
        """An RFC 6960 response for a DER OCSP request (see :func:`portfeil.eid.certificates.ocsp_response`)."""
        issuing = await self.issuing_ca()
        serial: int | None = None
        try:
            serial = x509.ocsp.load_der_ocsp_request(request_der).serial_number
        except Exception:  # noqa: BLE001 - malformed requests are answered by ocsp_response
            serial = None
        found: dict[int, certs.OcspStatus] = {}
        if serial is not None and serial > 0:
            async with self.db.session() as s:
                c = await s.get(Certificate, certs.serial_hex(serial))
            if c is None:
                found[serial] = certs.OcspStatus("unknown")
            elif c.status == "active":
                found[serial] = certs.OcspStatus("good")
            else:
                found[serial] = certs.OcspStatus("revoked", c.revoked_at, c.revocation_reason)
        return certs.ocsp_response(issuing, request_der, lambda n: found.get(n, certs.OcspStatus("unknown")),
                                   now=self.clock.now())

    # --- sectors -----------------------------------------------------------------------------------------------

    async def add_sector(self, code: str, name_bg: str, name_en: str) -> dict[str, Any]:
        sectors.check_sector_code(code)
        await asyncio.to_thread(sectors.sector_key, self.keystore, code, 1, create=True)
        try:
            async with self.db.transaction() as s:
                s.add(Sector(code=code, name_bg=name_bg, name_en=name_en, current_version=1,
                             created_at=self.clock.now()))
        except IntegrityError:
            raise EidError("already_registered", "the sector exists") from None
        return {"code": code, "name_bg": name_bg, "name_en": name_en, "current_version": 1}

    async def rotate_sector_key(self, code: str) -> int:
        """Add a new key version for holders seen from now on; existing identifiers keep their version."""
        async with self.db.transaction() as s:
            sec = await s.get(Sector, code, with_for_update=True)
            if sec is None:
                raise EidError("sector_not_found", "no such sector")
            version = sec.current_version + 1
            await asyncio.to_thread(sectors.sector_key, self.keystore, code, version, create=True)
            sec.current_version = version
        return version

    async def sectors(self) -> list[dict[str, Any]]:
        async with self.db.session() as s:
            return [{"code": x.code, "name_bg": x.name_bg, "name_en": x.name_en, "current_version": x.current_version}
                    for x in (await s.execute(select(Sector).order_by(Sector.code))).scalars()]

    async def sector_id(self, electronic_id: str, code: str) -> str:
        """The holder's sector identifier in ``code`` (Art. 4), with the key version bound at first derivation."""
        async with self.db.session() as s:
            sec = await s.get(Sector, code)
            if sec is None:
                raise EidError("sector_not_found", "no such sector")
            binding = await s.get(SectorBinding, (electronic_id, code))
            version = binding.version if binding is not None else sec.current_version
        if binding is None:
            try:
                async with self.db.transaction() as s:
                    s.add(SectorBinding(electronic_id=electronic_id, sector_code=code, version=version,
                                        created_at=self.clock.now()))
            except IntegrityError:
                return await self.sector_id(electronic_id, code)
        key = await asyncio.to_thread(sectors.sector_key, self.keystore, code, version)
        return sectors.derive(key, code, version, electronic_id)

    # --- service providers -------------------------------------------------------------------------------------

    async def register_provider(self, name: str, eik: str, *, is_state_body: bool) -> tuple[ProviderView, str]:
        """Register a service provider; returns it and its API key (shown once; only its hash is kept)."""
        from portfeil.eid.register import _check_eik

        key = "spk_" + secrets.token_urlsafe(32)
        p = Provider(name=name.strip(), eik=_check_eik(eik), is_state_body=is_state_body, status="active",
                     api_key_hash=api_key_hash(key), created_at=self.clock.now())
        if not p.name:
            raise EidError("invalid_provider", "a provider has a name")
        async with self.db.transaction() as s:
            s.add(p)
        return ProviderView(p.id, p.name, p.eik, p.is_state_body, p.status), key

    async def add_service(self, provider_id: str, name: str, register_code: str, attributes: Sequence[str],
                          sector_code: str | None = None) -> dict[str, Any]:
        """A provider's service with the attributes it may receive (its entry in the administrative services
        register) and optionally its sector."""
        bad = [a for a in attributes if a not in ATTRIBUTES]
        if bad or not attributes:
            raise EidError("invalid_attributes", "unknown or no attributes", unknown=bad, allowed=list(ATTRIBUTES))
        async with self.db.transaction() as s:
            if await s.get(Provider, provider_id) is None:
                raise EidError("provider_not_found", "no such service provider")
            if sector_code is not None and await s.get(Sector, sector_code) is None:
                raise EidError("sector_not_found", "no such sector")
            svc = ProviderService(provider_id=provider_id, name=name, register_code=register_code,
                                  attributes=list(dict.fromkeys(attributes)), sector_code=sector_code,
                                  created_at=self.clock.now())
            s.add(svc)
        return {"id": svc.id, "provider_id": provider_id, "name": name, "register_code": register_code,
                "attributes": svc.attributes, "sector_code": sector_code}

    async def provider_by_key(self, key: str) -> ProviderView | None:
        async with self.db.session() as s:
            p = (await s.execute(select(Provider).where(Provider.api_key_hash == api_key_hash(key))))\
                .scalar_one_or_none()
            return None if p is None else ProviderView(p.id, p.name, p.eik, p.is_state_body, p.status)

    async def providers(self) -> list[ProviderView]:
        async with self.db.session() as s:
            ps = (await s.execute(select(Provider).order_by(Provider.name))).scalars().all()
            svcs = (await s.execute(select(ProviderService))).scalars().all()
        out = []
        for p in ps:
            mine = tuple({"id": x.id, "name": x.name, "register_code": x.register_code, "attributes": x.attributes,
                          "sector_code": x.sector_code} for x in svcs if x.provider_id == p.id)
            out.append(ProviderView(p.id, p.name, p.eik, p.is_state_body, p.status, mine))
        return out

    # --- challenges and authentication -------------------------------------------------------------------------

    async def new_challenge(self) -> ChallengeView:
        """A single-use challenge (256 random bits, base64url) valid for five minutes."""
        now = self.clock.now()
        value = secrets.token_urlsafe(32)
        async with self.db.transaction() as s:
            s.add(Challenge(value=value, created_at=now, expires_at=now + CHALLENGE_TTL, used_at=None))
        return ChallengeView(value, now + CHALLENGE_TTL)

    async def _consume_challenge(self, value: str) -> None:
        now = self.clock.now()
        if not isinstance(value, str) or not value or len(value) > 64:
            raise EidError("unknown_challenge", "the challenge was not issued by this centre")
        async with self.db.transaction() as s:
            ch = await s.get(Challenge, value, with_for_update=True)
            if ch is None:
                raise EidError("unknown_challenge", "the challenge was not issued by this centre")
            if ch.used_at is not None:
                raise EidError("challenge_reused", "the challenge was already used")
            if ch.expires_at < now:
                raise EidError("challenge_expired", "the challenge has expired")
            ch.used_at = now

    @staticmethod
    def _check_signature(leaf: x509.Certificate, challenge: str, signature: str) -> None:
        """The holder's signature over the UTF-8 challenge: ECDSA with SHA-256 (DER, as ``openssl dgst -sha256
        -sign`` makes) or Ed25519, base64/base64url encoded."""
        sig = _b64decode(signature, "invalid_signature")
        pub = leaf.public_key()
        try:
            if isinstance(pub, ec.EllipticCurvePublicKey):
                pub.verify(sig, challenge.encode(), ec.ECDSA(hashes.SHA256()))
            elif isinstance(pub, ed25519.Ed25519PublicKey):
                pub.verify(sig, challenge.encode())
            else:
                raise EidError("unsupported_key", "unsupported key type")
        except InvalidSignature:
            raise EidError("invalid_signature", "the challenge signature does not verify") from None

    async def authenticate(self, challenge: str, signature: str, chain: Sequence[str]) -> Certificate:
        """Check an eID authentication: the challenge (ours, unused, fresh), the chain to the eID root at the clock,
        the signature with the leaf's key, and the status (active: neither suspended nor terminated)."""
        if not isinstance(chain, Sequence) or isinstance(chain, str) or not chain:
            raise EidError("invalid_chain", "the certificate chain is required")
        ders = [_b64decode(c, "invalid_chain") for c in chain]
        await self._consume_challenge(challenge)
        try:
            leaf = (await self.validator()).validate(ders, now=self.clock.now())
        except PKIError as exc:
            raise EidError("certificate_rejected", "the eID certificate chain is not valid", reason=exc.code) from None
        self._check_signature(leaf, challenge, signature)
        async with self.db.session() as s:
            row = await s.get(Certificate, certs.serial_hex(leaf.serial_number))
        if row is None or row.der != ders[0]:
            raise EidError("certificate_unknown", "the certificate is not in the register")
        if row.status != "active":
            raise EidError(f"certificate_{row.status}", f"the eID certificate is {row.status}")
        return row

    async def verify_authentication(
        self, service_id: str, challenge: str, signature: str, chain: Sequence[str], *,
        provider_id: str | None = None,
    ) -> VerifiedIdentity:
        """Verify an eID authentication for a registered service and return ONLY its registered attributes (read
        from the population register now) plus its sector identifier. Logged (10 years, no location or device
        data); billable unless the provider is a state body. ``provider_id`` (set by the API from the caller's key)
        must own the service."""
        async with self.db.session() as s:
            svc = await s.get(ProviderService, service_id)
            prov = None if svc is None else await s.get(Provider, svc.provider_id)
        if svc is None or prov is None:
            raise EidError("service_not_found", "no such registered service")
        if provider_id is not None and prov.id != provider_id:
            raise EidError("forbidden", "the service belongs to another provider")
        if prov.status != "active":
            raise EidError("provider_not_active", "the provider is not active")
        billable = not prov.is_state_body
        try:
            row = await self.authenticate(challenge, signature, chain)
            person = await population.get_person(self.db, row.person_id, clock=self.clock)
            if not person.alive:
                raise EidError("person_deceased", "the holder is recorded as deceased")
            attrs = attribute_values(person, svc.attributes, self.clock.now().date())
            sector_id = await self.sector_id(row.electronic_id, svc.sector_code) if svc.sector_code else None
        except EidError as exc:
            await self._log("provider", prov.id, svc.id, None, None, exc.code, [], svc.sector_code, False)
            raise
        vid = await self._log("provider", prov.id, svc.id, row.electronic_id, row.serial, "verified",
                              list(attrs), svc.sector_code, billable)
        if billable:
            async with self.db.transaction() as s:
                s.add(BillingRecord(verification_id=vid, provider_id=prov.id, service_id=svc.id,
                                    at=self.clock.now()))
        return VerifiedIdentity(row.electronic_id, row.person_id, attrs.get("personal_number"), attrs, sector_id,
                                row.serial)

    async def _log(self, channel: str, provider_id: str | None, service_id: str | None, electronic_id: str | None,
                   serial: str | None, outcome: str, attributes: list[str], sector_code: str | None,
                   billable: bool) -> str:
        v = Verification(at=self.clock.now(), channel=channel, provider_id=provider_id, service_id=service_id,
                         electronic_id=electronic_id, certificate_serial=serial, outcome=outcome,
                         attributes=attributes, sector_code=sector_code, billable=billable)
        async with self.db.transaction() as s:
            s.add(v)
        return v.id

    async def verification_log(self, electronic_id: str) -> list[dict[str, Any]]:
        """A holder's own log (free): when, which provider and service, what was released."""
        async with self.db.session() as s:
            rows = (await s.execute(select(Verification).where(Verification.electronic_id == electronic_id)
                                    .order_by(Verification.at.desc()))).scalars().all()
            provs = {p.id: p.name for p in (await s.execute(select(Provider))).scalars()}
            svcs = {x.id: x.name for x in (await s.execute(select(ProviderService))).scalars()}
        return [{"at": v.at.isoformat(), "channel": v.channel, "provider": provs.get(v.provider_id or ""),
                 "service": svcs.get(v.service_id or ""), "outcome": v.outcome, "attributes": v.attributes,
                 "sector_code": v.sector_code} for v in rows]

    async def purge_log(self) -> int:
        """Delete verification log entries (and their billing records) older than 10 years (retention job)."""
        now = self.clock.now()
        try:
            cutoff = now.replace(year=now.year - LOG_RETENTION_YEARS)
        except ValueError:  # 29 February
            cutoff = now.replace(year=now.year - LOG_RETENTION_YEARS, day=28)
        async with self.db.transaction() as s:
            old = select(Verification.id).where(Verification.at < cutoff)
            await s.execute(delete(BillingRecord).where(BillingRecord.verification_id.in_(old)))
            result = await s.execute(delete(Verification).where(Verification.at < cutoff))
            await s.execute(delete(Challenge).where(Challenge.expires_at < now - timedelta(days=1)))
            await s.execute(delete(HolderSession).where(HolderSession.expires_at < now))
        return int(getattr(result, "rowcount", 0) or 0)

    async def billing(self, provider_id: str | None = None) -> list[dict[str, Any]]:
        async with self.db.session() as s:
            stmt = select(BillingRecord).order_by(BillingRecord.at)
            if provider_id:
                stmt = stmt.where(BillingRecord.provider_id == provider_id)
            return [{"verification_id": b.verification_id, "provider_id": b.provider_id, "service_id": b.service_id,
                     "at": b.at.isoformat()} for b in (await s.execute(stmt)).scalars()]

    # --- holder sessions ---------------------------------------------------------------------------------------

    async def holder_login(self, challenge: str, signature: str, chain: Sequence[str]) -> tuple[str, str]:
        """Log a holder in with their eID (challenge signature); returns (session token, electronic identifier).
        The login is logged in the holder's own verification log (channel ``holder_login``), free."""
        try:
            row = await self.authenticate(challenge, signature, chain)
        except EidError as exc:
            await self._log("holder_login", None, None, None, None, exc.code, [], None, False)
            raise
        await self._log("holder_login", None, None, row.electronic_id, row.serial, "verified", [], None, False)
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        async with self.db.transaction() as s:
            s.add(HolderSession(token_hash=hashlib.sha256(token.encode()).hexdigest(),
                                electronic_id=row.electronic_id, created_at=now, expires_at=now + SESSION_TTL))
        return token, row.electronic_id

    async def holder_session(self, token: str | None) -> str | None:
        if not token or len(token) > 100:
            return None
        async with self.db.session() as s:
            row = await s.get(HolderSession, hashlib.sha256(token.encode()).hexdigest())
        if row is None or row.expires_at < self.clock.now():
            return None
        return row.electronic_id

    async def holder_logout(self, token: str | None) -> None:
        if token:
            async with self.db.transaction() as s:
                await s.execute(delete(HolderSession).where(
                    HolderSession.token_hash == hashlib.sha256(token.encode()).hexdigest()))
