"""Tables of the eID registry (Electronic Identification Act), all prefixed ``eid_``.

They belong to this service alone: other services call :class:`portfeil.eid.registry.EidRegistry`. Person data is
never copied here beyond the internal person id of the population register (attributes are read from the register
at the moment they are needed). The verification log (``eid_verifications``) deliberately has no column for a
location, an IP address or a device identifier.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portfeil.db import Base, JSONType, UTCDateTime, new_id


class Identifier(Base):
    """The register of electronic identifiers: one random identifier per person (Art. 2)."""

    __tablename__ = "eid_identifiers"

    electronic_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(36), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RegisterEntry(Base):
    """An eID administrator or an eID centre in the public register (applications included)."""

    __tablename__ = "eid_register_entries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    #: "administrator" or "centre"
    kind: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(200))
    eik: Mapped[str] = mapped_column(String(13))
    address: Mapped[str] = mapped_column(String(300))
    #: the administrator operating a centre (optional)
    administrator_id: Mapped[str | None] = mapped_column(String(36))
    is_state_body: Mapped[bool] = mapped_column(Boolean, default=False)
    #: applied, registered, suspended, terminated, refused
    status: Mapped[str] = mapped_column(String(20), index=True)
    #: [{"name": ..., "sha256": ...}] the documents filed with the application
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    #: SHA-256 of the desk API key (administrators only); the key itself is shown once
    api_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime())
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RegisterEvent(Base):
    """History of a register entry: application, registration, changes, measures, termination, with reasons."""

    __tablename__ = "eid_register_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    entry_id: Mapped[str] = mapped_column(ForeignKey("eid_register_entries.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(String(500))
    legal_ground: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(100))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class Certificate(Base):
    """An eID certificate (Art. 3) with the facts of its issuance."""

    __tablename__ = "eid_certificates"

    serial: Mapped[str] = mapped_column(String(40), primary_key=True)
    electronic_id: Mapped[str] = mapped_column(ForeignKey("eid_identifiers.electronic_id"), index=True)
    person_id: Mapped[str] = mapped_column(String(36), index=True)
    administrator_id: Mapped[str] = mapped_column(ForeignKey("eid_register_entries.id"))
    centre_id: Mapped[str | None] = mapped_column(ForeignKey("eid_register_entries.id"))
    #: active, suspended, terminated
    status: Mapped[str] = mapped_column(String(20), index=True)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    not_after: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    der: Mapped[bytes] = mapped_column(LargeBinary)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: {"officer", "centre_id", "at"}: the holder's in-person appearance
    appearance: Mapped[dict[str, Any]] = mapped_column(JSONType)
    #: {"person_id", "kind", "officer", "at"}: the parent or guardian who co-signed and appeared (minors)
    co_signer: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    document_number: Mapped[str] = mapped_column(String(20))
    #: fields of the population register the certificate was issued on, with a digest of their values
    issued_on: Mapped[dict[str, Any]] = mapped_column(JSONType)
    renewed_from: Mapped[str | None] = mapped_column(String(40))
    status_reason: Mapped[str | None] = mapped_column(String(40))
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: RFC 5280 §5.3.1 reason code name for CRL/OCSP
    revocation_reason: Mapped[str | None] = mapped_column(String(40))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Transition(Base):
    """Every status change of a certificate: who, when, why, on which article."""

    __tablename__ = "eid_transitions"

    #: global order of transitions (several may share a timestamp)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=True)
    serial: Mapped[str] = mapped_column(ForeignKey("eid_certificates.serial"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(40))
    article: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(500))


class Notification(Base):
    """A notice to a holder (e.g. their certificate was suspended on a third party's report of misuse)."""

    __tablename__ = "eid_notifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(String(36), index=True)
    serial: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Sector(Base):
    """A sector of state administration with its own sector identifiers (Art. 4)."""

    __tablename__ = "eid_sectors"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_bg: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    current_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SectorBinding(Base):
    """The key version a holder's sector identifier was first derived with (so rotation changes nothing)."""

    __tablename__ = "eid_sector_bindings"

    electronic_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sector_code: Mapped[str] = mapped_column(ForeignKey("eid_sectors.code"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Provider(Base):
    """A service provider that asks eID centres to verify identities."""

    __tablename__ = "eid_providers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    eik: Mapped[str] = mapped_column(String(13))
    is_state_body: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20))
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProviderService(Base):
    """A provider's service, as entered in the administrative services register, with the attributes it may get."""

    __tablename__ = "eid_services"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    provider_id: Mapped[str] = mapped_column(ForeignKey("eid_providers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    #: the service's number in the administrative services register
    register_code: Mapped[str] = mapped_column(String(40))
    attributes: Mapped[list[str]] = mapped_column(JSONType)
    sector_code: Mapped[str | None] = mapped_column(ForeignKey("eid_sectors.code"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Challenge(Base):
    """A single-use, short-lived authentication challenge issued by the centre."""

    __tablename__ = "eid_challenges"

    value: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Verification(Base):
    """The verification log (kept 10 years). No location, address or device columns, by design."""

    __tablename__ = "eid_verifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    #: "provider" (a service provider asked) or "holder_login" (the holder logged in to read their log)
    channel: Mapped[str] = mapped_column(String(20))
    provider_id: Mapped[str | None] = mapped_column(String(36))
    service_id: Mapped[str | None] = mapped_column(String(36))
    electronic_id: Mapped[str | None] = mapped_column(String(32), index=True)
    certificate_serial: Mapped[str | None] = mapped_column(String(40))
    #: "verified" or the refusal code
    outcome: Mapped[str] = mapped_column(String(60))
    #: names of the attributes released (never their values)
    attributes: Mapped[list[str]] = mapped_column(JSONType)
    sector_code: Mapped[str | None] = mapped_column(String(40))
    billable: Mapped[bool] = mapped_column(Boolean)


class BillingRecord(Base):
    """A billable verification (providers that are not state bodies)."""

    __tablename__ = "eid_billing"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    verification_id: Mapped[str] = mapped_column(String(36), index=True)
    provider_id: Mapped[str] = mapped_column(String(36), index=True)
    service_id: Mapped[str] = mapped_column(String(36))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class HolderSession(Base):
    """A short holder session after an eID login (the cookie carries the token; only its hash is stored)."""

    __tablename__ = "eid_holder_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    electronic_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
