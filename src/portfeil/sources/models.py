"""Tables of the population register (authentic source): persons, addresses, relations, identity documents, history.

All tables are prefixed ``pop_`` and belong to this service alone (Art. 5a(14) eIDAS: personal data kept logically
separate); other services read through :mod:`portfeil.sources.registry`, never these tables.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from portfeil.db import Base, JSONType, UTCDateTime, new_id

#: columns of an address, in table order (shared by the seed's bulk writer)
ADDRESS_FIELDS = (
    "country", "region", "municipality", "locality", "postal_code", "street", "number", "block", "entrance",
    "floor", "apartment",
)


class Person(Base):
    """A person registered by ЕГН (citizens, ГРАО) or ЛНЧ (foreign residents). ``id`` is internal and random."""

    __tablename__ = "pop_persons"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    personal_number: Mapped[str] = mapped_column(String(10), unique=True)
    #: "egn" or "lnch" (portfeil.bg.identifiers.IdKind)
    number_kind: Mapped[str] = mapped_column(String(5))
    given_name: Mapped[str] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    given_name_latin: Mapped[str] = mapped_column(String(150))
    middle_name_latin: Mapped[str | None] = mapped_column(String(150))
    family_name_latin: Mapped[str] = mapped_column(String(150))
    birth_date: Mapped[date] = mapped_column(Date, index=True)
    birth_country: Mapped[str] = mapped_column(String(2))
    birth_region: Mapped[str | None] = mapped_column(String(100))
    birth_municipality: Mapped[str | None] = mapped_column(String(100))
    birth_locality: Mapped[str | None] = mapped_column(String(100))
    #: ISO/IEC 5218: 0 not known, 1 male, 2 female, 9 not applicable (the PID Rulebook's sex codes)
    sex: Mapped[int] = mapped_column(SmallInteger)
    #: ISO 3166-1 alpha-2 codes
    nationalities: Mapped[list[str]] = mapped_column(JSONType)
    date_of_death: Mapped[date | None] = mapped_column(Date)
    #: legal capacity (Persons and Family Act, Art. 4-5): "full"; "limited" under limited judicial disability
    #: (a trustee, попечител); "none" under full judicial disability (a guardian, настойник)
    legal_capacity: Mapped[str] = mapped_column(String(7), default="full", server_default="full")
    #: when the current restriction (or its last change) took effect, and the court decision that ordered it
    legal_capacity_since: Mapped[date | None] = mapped_column(Date)
    legal_capacity_decision: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        # a partial index: only the deceased (a few per cent) are indexed, so bulk loads of the living stay cheap
        Index(
            "ix_pop_persons_deceased", "date_of_death",
            postgresql_where=text("date_of_death IS NOT NULL"), sqlite_where=text("date_of_death IS NOT NULL"),
        ),
    )


class Address(Base):
    """A structured address. ``kind`` is "permanent" (постоянен адрес) or "current" (настоящ адрес); a person
    without a "current" row lives at the permanent address."""

    __tablename__ = "pop_addresses"

    person_id: Mapped[str] = mapped_column(ForeignKey("pop_persons.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(100))
    municipality: Mapped[str | None] = mapped_column(String(100))
    locality: Mapped[str] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    street: Mapped[str | None] = mapped_column(String(150))
    number: Mapped[str | None] = mapped_column(String(20))
    block: Mapped[str | None] = mapped_column(String(20))
    entrance: Mapped[str | None] = mapped_column(String(10))
    floor: Mapped[str | None] = mapped_column(String(10))
    apartment: Mapped[str | None] = mapped_column(String(10))


class Relation(Base):
    """A parent or guardian (``adult_id``) of a person (``person_id``), valid from ``start_date`` to ``end_date``
    (both inclusive). A guardian or trustee of an adult under judicial disability carries the court decision."""

    __tablename__ = "pop_relations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(ForeignKey("pop_persons.id", ondelete="CASCADE"), index=True)
    adult_id: Mapped[str] = mapped_column(ForeignKey("pop_persons.id", ondelete="CASCADE"), index=True)
    #: "parent" or "guardian" (of a minor); "guardian" (настойник) or "trustee" (попечител) of an adult
    kind: Mapped[str] = mapped_column(String(10))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    #: the court decision placing an adult under judicial disability; None for the representatives of a minor
    court_decision: Mapped[str | None] = mapped_column(String(100))


class Document(Base):
    """An identity document: identity card, passport or residence permit (Bulgarian Identity Documents Act)."""

    __tablename__ = "pop_documents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(ForeignKey("pop_persons.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    #: "identity_card", "passport" or "residence_permit"
    doc_type: Mapped[str] = mapped_column(String(20))
    issue_date: Mapped[date] = mapped_column(Date)
    expiry_date: Mapped[date] = mapped_column(Date)
    #: "valid", "invalidated", "expired" or "lost" as recorded; a "valid" document past its expiry reads "expired"
    status: Mapped[str] = mapped_column(String(12))
    issuing_authority: Mapped[str] = mapped_column(String(100))
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Change(Base):
    """Append-only history: what changed, old and new values, when, on which legal ground, by whom."""

    __tablename__ = "pop_changes"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("pop_persons.id", ondelete="CASCADE"), index=True)
    #: "registered", "updated", "died", "document_added", "document_status", "relation_added",
    #: "guardianship_placed", "guardianship_lifted"
    change: Mapped[str] = mapped_column(String(30))
    old_values: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    new_values: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    legal_ground: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str | None] = mapped_column(String(100))
