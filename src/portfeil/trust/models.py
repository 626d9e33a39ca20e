"""Tables of the trust registry (prefix ``trust_``, Alembic branch ``trust``).

The trust registry holds no personal data of citizens except the optional, opaque ``person_ref`` of a wallet unit
(set by the PID provider at issuance so that a death event can revoke the unit); relying parties are legal persons.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portfeil.db import Base, JSONType, UTCDateTime, new_id


class TrustAnchor(Base):
    """An external CA certificate trusted for one role (added by an operator: ``portfeil trust anchors add``)."""

    __tablename__ = "trust_anchors"
    __table_args__ = (UniqueConstraint("role", "sha256", name="uq_trust_anchors_role_sha256"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    role: Mapped[str] = mapped_column(String(40), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(500))
    der: Mapped[bytes] = mapped_column(LargeBinary)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TrustCertificate(Base):
    """Every end-entity certificate the registry's CAs issued (access certificates carry ``rp_id``)."""

    __tablename__ = "trust_certificates"

    serial: Mapped[str] = mapped_column(String(64), primary_key=True)  # hex
    role: Mapped[str] = mapped_column(String(40), index=True)
    rp_id: Mapped[str | None] = mapped_column(ForeignKey("trust_relying_parties.id"), index=True, nullable=True)
    subject: Mapped[str] = mapped_column(String(500))
    san: Mapped[list[str]] = mapped_column(JSONType)
    der: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    not_after: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revocation_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)


class TrustPublication(Base):
    """A signed artefact the registry publishes (trusted list XML, LoTE JSON, CRL, status list token).

    ``sequence`` grows by one on every re-issue (TS 119 612 §5.3.2 sequence number, RFC 5280 §5.2.3 CRL number);
    ``digest`` is over the content without times, so an unchanged content is re-issued only near ``next_update``.
    """

    __tablename__ = "trust_publications"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_update: Mapped[datetime] = mapped_column(UTCDateTime())


class TrustSeenList(Base):
    """Consume side: the highest sequence number seen per list (rollback refusal, TS 119 612 §5.3.2)."""

    __tablename__ = "trust_seen_lists"

    list_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    highest_sequence: Mapped[int] = mapped_column(Integer)
    next_update: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TrustStatusList(Base):
    """A Token Status List the registry operates: its size, bits and the index allocator state."""

    __tablename__ = "trust_status_lists"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    bits: Mapped[int] = mapped_column(Integer)
    allocator: Mapped[dict[str, Any]] = mapped_column(JSONType)  # {"size", "key"}; the counter is a column
    counter: Mapped[int] = mapped_column(Integer, default=0)


class TrustRelyingParty(Base):
    """A registered wallet-relying party (Art. 5b; CIR (EU) 2025/848 Annex I)."""

    __tablename__ = "trust_relying_parties"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    legal_name: Mapped[str] = mapped_column(String(300))
    trade_name: Mapped[str] = mapped_column(String(300))
    eik: Mapped[str] = mapped_column(String(13), index=True)
    dns: Mapped[str] = mapped_column(String(253))
    contacts: Mapped[dict[str, Any]] = mapped_column(JSONType)
    dpa: Mapped[dict[str, Any]] = mapped_column(JSONType)
    privacy_policy_url: Mapped[str] = mapped_column(String(2000))
    info_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    public_body: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20), index=True)
    status_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TrustIntendedUse(Base):
    """One intended use of a relying party: purpose (bg/en) and exactly which claims of which credential types."""

    __tablename__ = "trust_intended_uses"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    rp_id: Mapped[str] = mapped_column(ForeignKey("trust_relying_parties.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # order given at registration
    purpose: Mapped[dict[str, str]] = mapped_column(JSONType)
    credentials: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)


class TrustRegistrationCertificate(Base):
    """A registration certificate (ETSI TS 119 475 WRPRC, JWT) issued for one intended use."""

    __tablename__ = "trust_registration_certificates"
    __table_args__ = (UniqueConstraint("status_idx", name="uq_trust_registration_certificates_status_idx"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    rp_id: Mapped[str] = mapped_column(ForeignKey("trust_relying_parties.id"), index=True)
    intended_use_id: Mapped[str] = mapped_column(ForeignKey("trust_intended_uses.id"))
    status_idx: Mapped[int] = mapped_column(Integer)
    status: Mapped[int] = mapped_column(Integer, default=0)  # Token Status List value (0 valid, 1 invalid, 2 susp.)
    jwt: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TrustRpEvent(Base):
    """The history of a relying party's status: every transition with its reason (an audit trail)."""

    __tablename__ = "trust_rp_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    rp_id: Mapped[str] = mapped_column(ForeignKey("trust_relying_parties.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class TrustWalletUnit(Base):
    """A wallet unit (one installed instance of the wallet) known to the wallet provider."""

    __tablename__ = "trust_wallet_units"
    __table_args__ = (UniqueConstraint("status_idx", name="uq_trust_wallet_units_status_idx"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    jkt: Mapped[str] = mapped_column(String(64), unique=True)  # RFC 7638 thumbprint of the instance key
    jwk: Mapped[dict[str, Any]] = mapped_column(JSONType)
    wallet_name: Mapped[str] = mapped_column(String(100))
    wallet_version: Mapped[str] = mapped_column(String(50), index=True)
    status_idx: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), index=True)
    status_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    person_ref: Mapped[str | None] = mapped_column(String(200), index=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TrustNonce(Base):
    """A one-time server nonce for proofs of possession (wallet unit registration)."""

    __tablename__ = "trust_nonces"

    nonce: Mapped[str] = mapped_column(String(100), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class TrustBreach(Base):
    """A declared security breach of the wallet solution (Art. 5a(6))."""

    __tablename__ = "trust_breaches"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    description: Mapped[dict[str, str]] = mapped_column(JSONType)
    affected_versions: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)  # None: every version
    action: Mapped[str] = mapped_column(String(20))
    affected_units: Mapped[int] = mapped_column(Integer)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TrustWalletNotice(Base):
    """A notice to the user of a wallet unit, polled by the wallet (breach, suspension, revocation)."""

    __tablename__ = "trust_wallet_notices"
    __table_args__ = (Index("ix_trust_wallet_notices_unit_created", "wallet_unit_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    wallet_unit_id: Mapped[str] = mapped_column(ForeignKey("trust_wallet_units.id"))
    breach_id: Mapped[str | None] = mapped_column(ForeignKey("trust_breaches.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[dict[str, str]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
