"""Tables of the PID provider (prefix ``iss_``; Alembic branch ``issuer``).

What is stored, and what is not: codes, tokens and nonces only as SHA-256 hashes (a database leak gives nothing to
redeem); issued credentials as their hash, the person's internal id, configuration, status-list position and the
names of the register fields they were issued on - never the claims themselves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portfeil.db import Base, JSONType, UTCDateTime, new_id


class IssOffer(Base):
    """A credential offer with a pre-authorized code (OpenID4VCI 1.0 §4.1.1, §6.1)."""

    __tablename__ = "iss_offers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    tx_code_hash: Mapped[str | None] = mapped_column(String(64))
    tx_attempts: Mapped[int] = mapped_column(Integer, default=0)
    person_id: Mapped[str] = mapped_column(String(36), index=True)
    config_ids: Mapped[list[str]] = mapped_column(JSONType)
    #: "open", "redeemed" or "dead" (too many wrong tx_codes, or withdrawn)
    state: Mapped[str] = mapped_column(String(10))
    #: the offer object while it may be fetched by reference (holds the code: cleared once redeemed)
    offer_json: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IssPushedRequest(Base):
    """A pushed authorization request (RFC 9126) and, once the citizen acted, who they are and their consent."""

    __tablename__ = "iss_par"

    uri_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(200))
    redirect_uri: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str] = mapped_column(String(64))
    config_ids: Mapped[list[str]] = mapped_column(JSONType)
    state: Mapped[str | None] = mapped_column(Text)
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))
    wallet_unit_id: Mapped[str | None] = mapped_column(String(200))
    eid_challenge: Mapped[str | None] = mapped_column(String(100))
    #: set once the citizen authenticated with their eID
    person_id: Mapped[str | None] = mapped_column(String(36))
    eid_serial: Mapped[str | None] = mapped_column(String(64))
    #: "pushed", "authenticated", "authorized" (a code was handed out) or "denied"
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IssAuthorizationCode(Base):
    """An authorization code (RFC 6749 §4.1.2), single use."""

    __tablename__ = "iss_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(200))
    redirect_uri: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str] = mapped_column(String(36))
    eid_serial: Mapped[str | None] = mapped_column(String(64))
    config_ids: Mapped[list[str]] = mapped_column(JSONType)
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))
    wallet_unit_id: Mapped[str | None] = mapped_column(String(200))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IssAccessToken(Base):
    """A DPoP-bound access token (RFC 9449 §6). Each credential configuration it covers is issued once."""

    __tablename__ = "iss_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(36))
    eid_serial: Mapped[str | None] = mapped_column(String(64))
    client_id: Mapped[str | None] = mapped_column(String(200))
    wallet_unit_id: Mapped[str | None] = mapped_column(String(200))
    jkt: Mapped[str] = mapped_column(String(64))
    config_ids: Mapped[list[str]] = mapped_column(JSONType)
    #: credential_identifier -> configuration id (OpenID4VCI 1.0 §6.2)
    identifiers: Mapped[dict[str, str]] = mapped_column(JSONType)
    grant: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IssTokenUse(Base):
    """One row per (token, configuration) redeemed: the unique key makes redemption single-use under races."""

    __tablename__ = "iss_token_uses"

    token_hash: Mapped[str] = mapped_column(ForeignKey("iss_tokens.token_hash", ondelete="CASCADE"), primary_key=True)
    config_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class IssSeenJti(Base):
    """Replay cache (UNLOGGED on PostgreSQL): DPoP proof and client-attestation PoP ``jti`` values (RFC 9449
    §11.1) and consumed ``c_nonce`` values, hashed with their scope."""

    __tablename__ = "iss_seen_jti"

    jti_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class IssStatusList(Base):
    """A status list this issuer publishes: its size, bits and the index allocator's persisted state."""

    __tablename__ = "iss_status_lists"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    bits: Mapped[int] = mapped_column(Integer)
    #: allocator key (base64url) and counter (``portfeil.formats.status_list.AllocatorState``)
    allocator: Mapped[dict[str, Any]] = mapped_column(JSONType)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: bumped on every status change, so that cached tokens are re-signed
    version: Mapped[int] = mapped_column(Integer, default=0)


class IssCredential(Base):
    """An issued credential: hash, holder reference, configuration, status position. No claims in clear."""

    __tablename__ = "iss_credentials"
    __table_args__ = (
        UniqueConstraint("status_list_id", "status_idx", name="uq_iss_credentials_status_position"),
        Index("ix_iss_credentials_person", "person_id"),
        Index("ix_iss_credentials_eid", "eid_serial"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    credential_hash: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str] = mapped_column(String(36))
    eid_serial: Mapped[str | None] = mapped_column(String(64))
    wallet_unit_id: Mapped[str | None] = mapped_column(String(200))
    config_id: Mapped[str] = mapped_column(String(100))
    format: Mapped[str] = mapped_column(String(20))
    status_list_id: Mapped[str] = mapped_column(ForeignKey("iss_status_lists.id"))
    status_idx: Mapped[int] = mapped_column(Integer)
    #: "valid", "suspended" or "revoked"
    status: Mapped[str] = mapped_column(String(10), default="valid")
    status_reason: Mapped[str | None] = mapped_column(String(40))
    #: population-register field names the claims were read from (a change of any revokes)
    source_fields: Mapped[list[str]] = mapped_column(JSONType)
    notification_id: Mapped[str | None] = mapped_column(String(64), index=True)
    notification_event: Mapped[str | None] = mapped_column(String(30))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class IssDeferred(Base):
    """A deferred issuance (OpenID4VCI 1.0 §9): the keys proven, waiting for a manual check of register data."""

    __tablename__ = "iss_deferred"

    transaction_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: short public reference an operator uses to approve (not the transaction_id itself)
    reference: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    person_id: Mapped[str] = mapped_column(String(36), index=True)
    eid_serial: Mapped[str | None] = mapped_column(String(64))
    wallet_unit_id: Mapped[str | None] = mapped_column(String(200))
    config_id: Mapped[str] = mapped_column(String(100))
    holder_jwks: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    #: "pending", "approved", "rejected", "issued"
    state: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IssManualCheck(Base):
    """A person whose register data an operator must check before a PID is issued (deferred issuance)."""

    __tablename__ = "iss_manual_checks"

    person_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
