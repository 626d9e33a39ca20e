"""The population register's use cases (the authentic source of person data).

Every change is written together with its history row and its outbox event in ONE transaction, so consumers (the
eID registry, the PID provider) see exactly the committed changes. Events carry the internal person id and the
personal number, never names:

- ``population.person_changed``       ``{person_id, personal_number, change, fields}`` (``change`` is the history
  row's kind: "registered", "updated", "document_added", "relation_added", "guardianship_placed",
  "guardianship_lifted")
- ``population.person_died``          ``{person_id, personal_number, date_of_death}``
- ``population.document_invalidated`` ``{person_id, personal_number, document_number, status}``

Readers get frozen dataclasses (:class:`PersonRecord` ...), never ORM objects. Dates are calendar dates; "today" is
the clock's UTC date.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Row, Select, bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from portfeil.bg.identifiers import IdKind, Sex, classify
from portfeil.bg.translit import transliterate
from portfeil.clock import Clock
from portfeil.db import Database, new_id
from portfeil.errors import Conflict, NotFound, PortfeilError
from portfeil.outbox import emit
from portfeil.sources.models import ADDRESS_FIELDS, Address, Change, Document, Person, Relation

log = logging.getLogger("portfeil.sources")

TOPIC_PERSON_CHANGED = "population.person_changed"
TOPIC_PERSON_DIED = "population.person_died"
TOPIC_DOCUMENT_INVALIDATED = "population.document_invalidated"

ADULT_AGE = 18
DOC_TYPES = ("identity_card", "passport", "residence_permit")
RELATION_KINDS = ("parent", "guardian")
#: legal capacity (Persons and Family Act, Art. 4-5): "full", or restricted by a court (judicial disability)
LEGAL_CAPACITIES = ("full", "limited", "none")
#: who represents an adult under judicial disability: a guardian (настойник) for full disability, a trustee
#: (попечител) for limited disability (Persons and Family Act, Art. 5; Family Code, Art. 153-173)
ADULT_REPRESENTATIVE_KIND = {"none": "guardian", "limited": "trustee"}


class PopulationError(PortfeilError):
    """A request the population register refuses; ``code`` says why."""

    default_code = "population_error"


# --- records handed to other services ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    given: str
    middle: str | None
    family: str
    given_latin: str
    middle_latin: str | None
    family_latin: str

    @property
    def full(self) -> str:
        return " ".join(p for p in (self.given, self.middle, self.family) if p)

    @property
    def full_latin(self) -> str:
        return " ".join(p for p in (self.given_latin, self.middle_latin, self.family_latin) if p)


@dataclass(frozen=True)
class Place:
    country: str
    region: str | None = None
    municipality: str | None = None
    locality: str | None = None


@dataclass(frozen=True)
class AddressRecord:
    country: str
    locality: str
    region: str | None = None
    municipality: str | None = None
    postal_code: str | None = None
    street: str | None = None
    number: str | None = None
    block: str | None = None
    entrance: str | None = None
    floor: str | None = None
    apartment: str | None = None

    @property
    def formatted(self) -> str:
        """One line, Bulgarian order: street and number or block details, postal code and locality, country."""
        parts: list[str] = []
        if self.street:
            parts.append(f"{self.street} {self.number}" if self.number else self.street)
        if self.block:
            parts.append(f"бл. {self.block}")
        if self.entrance:
            parts.append(f"вх. {self.entrance}")
        if self.floor:
            parts.append(f"ет. {self.floor}")
        if self.apartment:
            parts.append(f"ап. {self.apartment}")
        parts.append(f"{self.postal_code} {self.locality}" if self.postal_code else self.locality)
        parts.append(self.country)
        return ", ".join(parts)


@dataclass(frozen=True)
class DocumentRecord:
    number: str
    doc_type: str
    issue_date: date
    expiry_date: date
    #: effective status on the date asked for: a recorded "valid" past its expiry date reads "expired"
    status: str
    issuing_authority: str

    @property
    def valid(self) -> bool:
        return self.status == "valid"


@dataclass(frozen=True)
class PersonRecord:
    id: str
    personal_number: str
    number_kind: str
    names: Names
    birth_date: date
    birth_place: Place
    #: ISO/IEC 5218 (1 male, 2 female)
    sex: int
    nationalities: tuple[str, ...]
    permanent_address: AddressRecord | None
    current_address: AddressRecord | None
    date_of_death: date | None
    documents: tuple[DocumentRecord, ...] = ()
    #: "full", "limited" (limited judicial disability, a trustee) or "none" (full judicial disability, a guardian)
    legal_capacity: str = "full"
    #: when the current status took effect (None: never restricted), and the court decision that ordered it
    legal_capacity_since: date | None = None
    legal_capacity_decision: str | None = None

    @property
    def alive(self) -> bool:
        return self.date_of_death is None

    @property
    def under_guardianship(self) -> bool:
        """Placed by a court under full or limited judicial disability (Persons and Family Act, Art. 5)."""
        return self.legal_capacity != "full"

    def age_on(self, on: date) -> int:
        return age_on(self.birth_date, on)

    def is_minor_on(self, on: date) -> bool:
        return self.age_on(on) < ADULT_AGE

    def valid_documents(self) -> tuple[DocumentRecord, ...]:
        return tuple(d for d in self.documents if d.valid)


@dataclass(frozen=True)
class Representative:
    """A parent or guardian of a minor, or the guardian/trustee of an adult under judicial disability, with the
    representative's record. ``court_decision`` is set for the latter only."""

    kind: str
    start_date: date
    end_date: date | None
    adult: PersonRecord
    court_decision: str | None = None


@dataclass(frozen=True)
class ChangeRecord:
    seq: int
    change: str
    old_values: dict[str, Any] | None
    new_values: dict[str, Any] | None
    at: datetime
    legal_ground: str | None
    actor: str | None


# --- inputs ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewDocument:
    number: str
    doc_type: str
    issue_date: date
    expiry_date: date
    issuing_authority: str
    status: str = "valid"


@dataclass(frozen=True)
class NewPerson:
    """A person to register. For an ЕГН, birth date and sex come from the number (and must agree if given)."""

    personal_number: str
    given_name: str
    family_name: str
    middle_name: str | None = None
    birth_date: date | None = None
    sex: int | None = None
    birth_place: Place = field(default_factory=lambda: Place("BG"))
    nationalities: tuple[str, ...] = ("BG",)
    permanent_address: AddressRecord | None = None
    current_address: AddressRecord | None = None
    #: official Latin spellings; transliterated by the 2009 Act when omitted
    given_name_latin: str | None = None
    middle_name_latin: str | None = None
    family_name_latin: str | None = None
    documents: tuple[NewDocument, ...] = ()
    #: "egn" or "lnch"; needed only for ten digits that are valid as both (the ЕГН reading wins otherwise)
    number_kind: str | None = None


# --- pure helpers ------------------------------------------------------------------------------------------------


def age_on(birth_date: date, on: date) -> int:
    """Completed years of age on a date (a 29 February birthday counts from 1 March in common years)."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def latest_birth_date_for_age(age: int, on: date) -> date:
    """The latest birth date of a person who is at least ``age`` years old on ``on``."""
    year = on.year - age
    try:
        return on.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 2, 28)


def today(clock: Clock) -> date:
    return clock.now().date()


def effective_status(status: str, expiry: date, on: date) -> str:
    return "expired" if status == "valid" and expiry < on else status


def check_personal_number(number: str, kind: str | None = None) -> IdKind:
    """The kind of a personal number; refuses anything that is not a valid ЕГН or ЛНЧ. Ten digits can be valid as
    both: without ``kind`` ("egn" or "lnch") the ЕГН reading wins, so a foreigner's ЛНЧ must say so."""
    c = classify(number)
    wanted = (IdKind(kind),) if kind in ("egn", "lnch") else (IdKind.EGN, IdKind.LNCH)
    if kind is not None and kind not in ("egn", "lnch"):
        raise PopulationError("invalid_number_kind", "the kind of a personal number is 'egn' or 'lnch'")
    for found in c.kinds:
        if found in wanted:
            return found
    raise PopulationError("invalid_personal_number", "not a valid ЕГН or ЛНЧ", reason=c.reason)


def _address_values(a: AddressRecord | None) -> dict[str, Any] | None:
    return None if a is None else asdict(a)


def _nationalities(values: Iterable[str]) -> list[str]:
    out = [v.upper() for v in values]
    if not out or any(len(v) != 2 or not v.isascii() or not v.isalpha() for v in out):
        raise PopulationError("invalid_nationality", "nationalities are ISO 3166-1 alpha-2 codes")
    return out


# --- reading -----------------------------------------------------------------------------------------------------


def _address_record(row: Address | Row[Any] | _Prefixed) -> AddressRecord:
    return AddressRecord(**{f: getattr(row, f) for f in ADDRESS_FIELDS})


def _person_record(
    p: Person | Row[Any], addresses: Sequence[Address | Row[Any] | _Prefixed],
    docs: Sequence[Document | Row[Any] | _Prefixed], on: date,
) -> PersonRecord:
    """A record from ORM objects or Core rows of the same tables (all expose the columns as attributes)."""
    by_kind = {a.kind: _address_record(a) for a in addresses}
    permanent = by_kind.get("permanent")
    return PersonRecord(
        id=p.id,
        personal_number=p.personal_number,
        number_kind=p.number_kind,
        names=Names(
            p.given_name, p.middle_name, p.family_name, p.given_name_latin, p.middle_name_latin, p.family_name_latin
        ),
        birth_date=p.birth_date,
        birth_place=Place(p.birth_country, p.birth_region, p.birth_municipality, p.birth_locality),
        sex=p.sex,
        nationalities=tuple(p.nationalities),
        permanent_address=permanent,
        current_address=by_kind.get("current", permanent),
        date_of_death=p.date_of_death,
        legal_capacity=p.legal_capacity,
        legal_capacity_since=p.legal_capacity_since,
        legal_capacity_decision=p.legal_capacity_decision,
        documents=tuple(
            DocumentRecord(
                d.number, d.doc_type, d.issue_date, d.expiry_date, effective_status(d.status, d.expiry_date, on),
                d.issuing_authority,
            )
            for d in sorted(docs, key=lambda d: (d.issue_date, d.number), reverse=True)
        ),
    )


async def _records(s: AsyncSession, persons: Sequence[Person], on: date) -> list[PersonRecord]:
    if not persons:
        return []
    ids = [p.id for p in persons]
    addresses: dict[str, list[Address]] = {i: [] for i in ids}
    docs: dict[str, list[Document]] = {i: [] for i in ids}
    for a in (await s.execute(select(Address).where(Address.person_id.in_(ids)))).scalars():
        addresses[a.person_id].append(a)
    for d in (await s.execute(select(Document).where(Document.person_id.in_(ids)))).scalars():
        docs[d.person_id].append(d)
    return [_person_record(p, addresses[p.id], docs[p.id], on) for p in persons]


def _ref_filter(ref: str) -> Any:
    return Person.personal_number == ref if len(ref) == 10 and ref.isdigit() else Person.id == ref


async def _load(s: AsyncSession, ref: str, *, for_update: bool = False) -> Person:
    stmt = select(Person).where(_ref_filter(ref))
    if for_update:
        stmt = stmt.with_for_update()
    person = (await s.execute(stmt)).scalar_one_or_none()
    if person is None:
        raise NotFound("person_not_found", "no such person in the population register")
    return person


async def find_person(db: Database, ref: str, *, clock: Clock) -> PersonRecord:
    """A person by internal id or by personal number (ЕГН/ЛНЧ)."""
    async with db.session() as s:
        return (await _records(s, [await _load(s, ref)], today(clock)))[0]


# A person by id, as the PID provider reads it at every issuance: Core statements built once (no ORM session).
_ADDRESS_T = Address.__table__
_DOCUMENT_T = Document.__table__
#: a person with their addresses and documents in ONE statement (one row per address x document: a handful)
_PERSON_BY_ID = (
    select(*Person.__table__.c, *(c.label("a_" + c.name) for c in _ADDRESS_T.c),
           *(c.label("d_" + c.name) for c in _DOCUMENT_T.c))
    .select_from(Person.__table__.outerjoin(_ADDRESS_T, _ADDRESS_T.c.person_id == Person.id)
                 .outerjoin(_DOCUMENT_T, _DOCUMENT_T.c.person_id == Person.id))
    .where(Person.id == bindparam("id"))
)


class _Prefixed:
    """One joined table's columns in a result row, read by their own names (``a_kind`` as ``kind``)."""

    __slots__ = ("_prefix", "_row")

    def __init__(self, row: Any, prefix: str) -> None:
        self._row = row
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        return self._row[self._prefix + name]


async def get_person(db: Database, person_id: str, *, clock: Clock) -> PersonRecord:
    async with db.connection() as c:
        rows = (await c.execute(_PERSON_BY_ID, {"id": person_id})).all()
    if not rows:
        raise NotFound("person_not_found", "no such person in the population register")
    maps = [r._mapping for r in rows]
    addresses = {m["a_kind"]: _Prefixed(m, "a_") for m in maps if m["a_kind"] is not None}
    docs = {m["d_id"]: _Prefixed(m, "d_") for m in maps if m["d_id"] is not None}
    return _person_record(rows[0], list(addresses.values()), list(docs.values()), today(clock))


async def get_person_by_number(db: Database, personal_number: str, *, clock: Clock) -> PersonRecord:
    async with db.session() as s:
        person = (
            await s.execute(select(Person).where(Person.personal_number == personal_number))
        ).scalar_one_or_none()
        if person is None:
            raise NotFound("person_not_found", "no such person in the population register")
        return (await _records(s, [person], today(clock)))[0]


def _filtered(stmt: Select[Any], *, alive: bool | None, min_age: int | None, on: date) -> Select[Any]:
    if alive is True:
        stmt = stmt.where(Person.date_of_death.is_(None))
    elif alive is False:
        stmt = stmt.where(Person.date_of_death.is_not(None))
    if min_age is not None:
        stmt = stmt.where(Person.birth_date <= latest_birth_date_for_age(min_age, on))
    return stmt


async def list_persons(
    db: Database,
    *,
    clock: Clock,
    alive: bool | None = None,
    min_age: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[PersonRecord]:
    """Persons in a stable order, filtered by being alive and by age on the clock's date."""
    if limit < 0 or offset < 0 or (min_age is not None and min_age < 0):
        raise PopulationError("invalid_query", "limit, offset and min_age must not be negative")
    on = today(clock)
    stmt = _filtered(select(Person), alive=alive, min_age=min_age, on=on).order_by(Person.id)
    async with db.session() as s:
        persons = (await s.execute(stmt.limit(limit).offset(offset))).scalars().all()
        return await _records(s, persons, on)


async def count_persons(
    db: Database, *, clock: Clock, alive: bool | None = None, min_age: int | None = None
) -> int:
    stmt = _filtered(select(func.count()).select_from(Person), alive=alive, min_age=min_age, on=today(clock))
    async with db.session() as s:
        return int((await s.execute(stmt)).scalar_one())


async def legal_representatives(
    db: Database, ref: str, *, clock: Clock, on: date | None = None
) -> list[Representative]:
    """Who represents a person on ``on`` (default: the clock's date): the parents and guardians of a minor, or the
    guardian/trustee of an adult under judicial disability (Persons and Family Act, Art. 3-5). None for an adult of
    full capacity or the deceased.

    A representative must be alive and the relation current (start <= on <= end). For an adult only relations
    carrying a court decision count, so a minor's guardian does not outlast majority.
    """
    on = on or today(clock)
    async with db.session() as s:
        child = await _load(s, ref)
        if child.date_of_death is not None:
            return []
        minor = age_on(child.birth_date, on) < ADULT_AGE
        rows = (
            await s.execute(
                select(Relation, Person)
                .join(Person, Person.id == Relation.adult_id)
                .where(
                    Relation.person_id == child.id,
                    Relation.court_decision.is_(None) if minor else Relation.court_decision.is_not(None),
                    Relation.start_date <= on,
                    or_(Relation.end_date.is_(None), Relation.end_date >= on),
                    Person.date_of_death.is_(None),
                )
                .order_by(Relation.kind, Relation.start_date)
            )
        ).all()
        adults = await _records(s, [p for _, p in rows], on)
        return [
            Representative(r.kind, r.start_date, r.end_date, adult, r.court_decision)
            for (r, _), adult in zip(rows, adults, strict=True)
        ]


async def history(db: Database, ref: str) -> list[ChangeRecord]:
    async with db.session() as s:
        person = await _load(s, ref)
        rows = (
            await s.execute(select(Change).where(Change.person_id == person.id).order_by(Change.seq))
        ).scalars()
        return [ChangeRecord(c.seq, c.change, c.old_values, c.new_values, c.at, c.legal_ground, c.actor) for c in rows]


# --- changing ----------------------------------------------------------------------------------------------------


def _log(
    s: AsyncSession, person_id: str, change: str, old: dict[str, Any] | None, new: dict[str, Any] | None,
    *, at: datetime, legal_ground: str | None, actor: str | None,
) -> None:
    s.add(
        Change(
            person_id=person_id, change=change, old_values=old, new_values=new, at=at, legal_ground=legal_ground,
            actor=actor,
        )
    )


def _json_safe(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in values.items():
        out[k] = v.isoformat() if isinstance(v, date) else v
    return out


def _validate_document(doc: NewDocument) -> None:
    if doc.doc_type not in DOC_TYPES:
        raise PopulationError("invalid_document_type", f"document type must be one of {', '.join(DOC_TYPES)}")
    if doc.status not in ("valid", "invalidated", "expired", "lost"):
        raise PopulationError("invalid_document_status", "unknown document status")
    if doc.expiry_date <= doc.issue_date:
        raise PopulationError("invalid_document_dates", "a document expires after it is issued")
    if not doc.number or len(doc.number) > 20 or not doc.number.isalnum():
        raise PopulationError("invalid_document_number", "document numbers are 1-20 letters or digits")


def _add_address(s: AsyncSession, person_id: str, kind: str, a: AddressRecord) -> None:
    s.add(Address(person_id=person_id, kind=kind, **asdict(a)))


async def create_person(
    db: Database, data: NewPerson, *, clock: Clock, actor: str = "system", legal_ground: str | None = None
) -> PersonRecord:
    """Register a person (Civil Registration Act). The personal number must be a valid ЕГН or ЛНЧ and unused."""
    kind = check_personal_number(data.personal_number, data.number_kind)
    birth_date, sex = data.birth_date, data.sex
    if kind is IdKind.EGN:
        info = classify(data.personal_number).checks[0].egn
        assert info is not None
        if birth_date is not None and birth_date != info.birth_date:
            raise PopulationError("egn_mismatch", "the birth date differs from the one the ЕГН encodes")
        if sex is not None and sex != info.iso5218_sex:
            raise PopulationError("egn_mismatch", "the sex differs from the one the ЕГН encodes")
        birth_date, sex = info.birth_date, info.iso5218_sex
    if birth_date is None or sex is None:
        raise PopulationError("missing_birth_data", "a person registered by ЛНЧ needs birth date and sex")
    if sex not in (0, 1, 2, 9):
        raise PopulationError("invalid_sex", "sex is an ISO/IEC 5218 code")
    now = clock.now()
    if birth_date > now.date():
        raise PopulationError("birth_in_future", "the birth date lies in the future")
    if not data.given_name.strip() or not data.family_name.strip():
        raise PopulationError("missing_name", "given and family names are required")
    for doc in data.documents:
        _validate_document(doc)
    nationalities = _nationalities(data.nationalities)
    person = Person(
        id=new_id(),
        personal_number=data.personal_number,
        number_kind=kind.value,
        given_name=data.given_name,
        middle_name=data.middle_name,
        family_name=data.family_name,
        given_name_latin=data.given_name_latin or transliterate(data.given_name),
        middle_name_latin=data.middle_name_latin
        or (transliterate(data.middle_name) if data.middle_name else None),
        family_name_latin=data.family_name_latin or transliterate(data.family_name),
        birth_date=birth_date,
        birth_country=data.birth_place.country,
        birth_region=data.birth_place.region,
        birth_municipality=data.birth_place.municipality,
        birth_locality=data.birth_place.locality,
        sex=sex,
        nationalities=nationalities,
        date_of_death=None,
        created_at=now,
        updated_at=now,
    )
    try:
        async with db.transaction() as s:
            s.add(person)
            await s.flush()
            if data.permanent_address is not None:
                _add_address(s, person.id, "permanent", data.permanent_address)
            if data.current_address is not None and data.current_address != data.permanent_address:
                _add_address(s, person.id, "current", data.current_address)
            for doc in data.documents:
                s.add(Document(id=new_id(), person_id=person.id, status_changed_at=None, **asdict(doc)))
            fields = [
                "personal_number", "names", "birth_date", "birth_place", "sex", "nationalities",
                *(["permanent_address"] if data.permanent_address else []),
                *(["current_address"] if data.current_address else []),
                *(["documents"] if data.documents else []),
            ]
            _log(s, person.id, "registered", None, {"fields": fields}, at=now, legal_ground=legal_ground, actor=actor)
            await emit(
                s,
                TOPIC_PERSON_CHANGED,
                {"person_id": person.id, "personal_number": person.personal_number, "change": "registered",
                 "fields": fields},
                clock=clock,
            )
    except IntegrityError:
        raise Conflict("already_registered", "the personal number or a document number is already registered") from None
    log.info("person registered", extra={"event": "person_registered", "person_id": person.id})
    return await get_person(db, person.id, clock=clock)


UPDATABLE = frozenset(
    {
        "given_name", "middle_name", "family_name", "given_name_latin", "middle_name_latin", "family_name_latin",
        "nationalities", "permanent_address", "current_address",
    }
)


async def update_person(
    db: Database,
    ref: str,
    changes: Mapping[str, Any],
    *,
    clock: Clock,
    actor: str = "system",
    legal_ground: str | None = None,
) -> PersonRecord:
    """Change names, nationalities or addresses (Civil Registration Act). A name change re-transliterates the
    Latin spelling unless that is given too. Emits ``population.person_changed`` with the names of the fields."""
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise PopulationError("field_not_updatable", f"cannot update: {', '.join(sorted(unknown))}")
    if not changes:
        raise PopulationError("nothing_to_update", "no change given")
    now = clock.now()
    async with db.transaction() as s:
        person = await _load(s, ref, for_update=True)
        if person.date_of_death is not None:
            raise Conflict("person_deceased", "the person is recorded as deceased")
        old: dict[str, Any] = {}
        new: dict[str, Any] = {}
        for name in ("given_name", "middle_name", "family_name"):
            if name in changes:
                value = changes[name]
                if name != "middle_name" and (not isinstance(value, str) or not value.strip()):
                    raise PopulationError("missing_name", "given and family names are required")
                latin = f"{name}_latin"
                old[name], new[name] = getattr(person, name), value
                old[latin] = getattr(person, latin)
                new[latin] = changes.get(latin) or (transliterate(value) if value else None)
                setattr(person, name, value)
                setattr(person, latin, new[latin])
        for latin in ("given_name_latin", "family_name_latin"):
            if latin in changes and (not isinstance(changes[latin], str) or not changes[latin].strip()):
                raise PopulationError("missing_name", "the Latin given and family names are required")
        for latin in ("given_name_latin", "middle_name_latin", "family_name_latin"):
            if latin in changes and latin not in new:
                old[latin], new[latin] = getattr(person, latin), changes[latin]
                setattr(person, latin, changes[latin])
        if "nationalities" in changes:
            old["nationalities"] = list(person.nationalities)
            person.nationalities = new["nationalities"] = _nationalities(changes["nationalities"])
        rows = {a.kind: a for a in (await s.execute(select(Address).where(Address.person_id == person.id))).scalars()}
        for kind in ("permanent", "current"):
            key = f"{kind}_address"
            if key not in changes:
                continue
            address: AddressRecord | None = changes[key]
            row = rows.get(kind)
            old[key] = _address_values(_address_record(row)) if row is not None else None
            new[key] = _address_values(address)
            if row is not None:
                await s.delete(row)
                await s.flush()
            if address is not None:
                _add_address(s, person.id, kind, address)
        person.updated_at = now
        fields = sorted(new)
        _log(s, person.id, "updated", old, new, at=now, legal_ground=legal_ground, actor=actor)
        await emit(
            s,
            TOPIC_PERSON_CHANGED,
            {"person_id": person.id, "personal_number": person.personal_number, "change": "updated",
             "fields": fields},
            clock=clock,
        )
        person_id = person.id
    return await get_person(db, person_id, clock=clock)


async def _invalidate(
    s: AsyncSession, person: Person, doc: Document, status: str, *, clock: Clock, at: datetime,
    legal_ground: str | None, actor: str | None,
) -> None:
    old = doc.status
    doc.status = status
    doc.status_changed_at = at
    _log(
        s, person.id, "document_status", {"document_number": doc.number, "status": old},
        {"document_number": doc.number, "status": status}, at=at, legal_ground=legal_ground, actor=actor,
    )
    await emit(
        s,
        TOPIC_DOCUMENT_INVALIDATED,
        {"person_id": person.id, "personal_number": person.personal_number, "document_number": doc.number,
         "status": status},
        clock=clock,
    )


async def record_death(
    db: Database,
    ref: str,
    date_of_death: date,
    *,
    clock: Clock,
    actor: str = "system",
    legal_ground: str | None = "Civil Registration Act, death certificate",
) -> PersonRecord:
    """Record a death: the person's valid documents are invalidated, relations end on that date, and
    ``population.person_died`` (plus one ``population.document_invalidated`` per document) is emitted."""
    now = clock.now()
    async with db.transaction() as s:
        person = await _load(s, ref, for_update=True)
        if person.date_of_death is not None:
            raise Conflict("person_deceased", "the person is already recorded as deceased")
        if date_of_death > now.date():
            raise PopulationError("death_in_future", "the date of death lies in the future")
        if date_of_death < person.birth_date:
            raise PopulationError("death_before_birth", "the date of death precedes the birth date")
        person.date_of_death = date_of_death
        person.updated_at = now
        _log(
            s, person.id, "died", {"date_of_death": None}, {"date_of_death": date_of_death.isoformat()}, at=now,
            legal_ground=legal_ground, actor=actor,
        )
        await emit(
            s,
            TOPIC_PERSON_DIED,
            {"person_id": person.id, "personal_number": person.personal_number,
             "date_of_death": date_of_death.isoformat()},
            clock=clock,
        )
        docs = (
            await s.execute(select(Document).where(Document.person_id == person.id, Document.status == "valid"))
        ).scalars().all()
        for doc in docs:
            await _invalidate(s, person, doc, "invalidated", clock=clock, at=now, legal_ground=legal_ground,
                              actor=actor)
        relations = (
            await s.execute(
                select(Relation).where(
                    or_(Relation.person_id == person.id, Relation.adult_id == person.id),
                    or_(Relation.end_date.is_(None), Relation.end_date > date_of_death),
                )
            )
        ).scalars().all()
        for rel in relations:
            rel.end_date = max(date_of_death, rel.start_date)
        person_id = person.id
    log.info(
        "death recorded", extra={"event": "person_died", "person_id": person_id, "documents_invalidated": len(docs)}
    )
    return await get_person(db, person_id, clock=clock)


async def invalidate_document(
    db: Database,
    document_number: str,
    *,
    clock: Clock,
    status: Literal["invalidated", "lost"] = "invalidated",
    actor: str = "system",
    legal_ground: str | None = "Identity Documents Act",
) -> DocumentRecord:
    """Mark a valid identity document invalidated or lost; emits ``population.document_invalidated``."""
    if status not in ("invalidated", "lost"):
        raise PopulationError("invalid_document_status", "a document can be invalidated or declared lost")
    now = clock.now()
    async with db.transaction() as s:
        doc = (
            await s.execute(select(Document).where(Document.number == document_number).with_for_update())
        ).scalar_one_or_none()
        if doc is None:
            raise NotFound("document_not_found", "no such identity document")
        if doc.status in ("invalidated", "lost"):
            raise Conflict("document_not_valid", "the document is already invalidated")
        person = await s.get(Person, doc.person_id)
        assert person is not None
        await _invalidate(s, person, doc, status, clock=clock, at=now, legal_ground=legal_ground, actor=actor)
        record = DocumentRecord(
            doc.number, doc.doc_type, doc.issue_date, doc.expiry_date, doc.status, doc.issuing_authority
        )
    return record


async def add_document(
    db: Database, ref: str, doc: NewDocument, *, clock: Clock, actor: str = "system",
    legal_ground: str | None = "Identity Documents Act",
) -> DocumentRecord:
    _validate_document(doc)
    now = clock.now()
    try:
        async with db.transaction() as s:
            person = await _load(s, ref, for_update=True)
            if person.date_of_death is not None:
                raise Conflict("person_deceased", "the person is recorded as deceased")
            s.add(Document(id=new_id(), person_id=person.id, status_changed_at=None, **asdict(doc)))
            _log(s, person.id, "document_added", None, _json_safe(asdict(doc)), at=now, legal_ground=legal_ground,
                 actor=actor)
            await emit(
                s,
                TOPIC_PERSON_CHANGED,
                {"person_id": person.id, "personal_number": person.personal_number, "change": "document_added",
                 "fields": ["documents"]},
                clock=clock,
            )
    except IntegrityError:
        raise Conflict("already_registered", "the document number is already registered") from None
    return DocumentRecord(
        doc.number, doc.doc_type, doc.issue_date, doc.expiry_date,
        effective_status(doc.status, doc.expiry_date, now.date()), doc.issuing_authority,
    )


async def add_relation(
    db: Database,
    child_ref: str,
    adult_ref: str,
    *,
    clock: Clock,
    kind: str = "guardian",
    start_date: date | None = None,
    end_date: date | None = None,
    actor: str = "system",
    legal_ground: str | None = "Persons and Family Act",
) -> Representative:
    """Record a parent or guardian of a person. The adult must be alive and of age on the start date."""
    if kind not in RELATION_KINDS:
        raise PopulationError("invalid_relation_kind", "a relation is 'parent' or 'guardian'")
    now = clock.now()
    start = start_date or now.date()
    if end_date is not None and end_date < start:
        raise PopulationError("invalid_relation_dates", "a relation ends after it starts")
    async with db.transaction() as s:
        child = await _load(s, child_ref, for_update=True)
        adult = await _load(s, adult_ref)
        if child.id == adult.id:
            raise PopulationError("self_relation", "a person cannot be their own parent or guardian")
        if adult.date_of_death is not None or child.date_of_death is not None:
            raise Conflict("person_deceased", "the person is recorded as deceased")
        if kind == "guardian" and age_on(adult.birth_date, start) < ADULT_AGE:
            raise PopulationError("guardian_not_adult", "a guardian must be of age")
        if kind == "parent" and adult.birth_date >= child.birth_date:
            raise PopulationError("parent_not_older", "a parent is born before the child")
        rel = Relation(id=new_id(), person_id=child.id, adult_id=adult.id, kind=kind, start_date=start,
                       end_date=end_date)
        s.add(rel)
        _log(
            s, child.id, "relation_added", None,
            {"kind": kind, "adult_id": adult.id, "start_date": start.isoformat(),
             "end_date": end_date.isoformat() if end_date else None},
            at=now, legal_ground=legal_ground, actor=actor,
        )
        await emit(
            s,
            TOPIC_PERSON_CHANGED,
            {"person_id": child.id, "personal_number": child.personal_number, "change": "relation_added",
             "fields": ["relations"]},
            clock=clock,
        )
        adult_id = adult.id
    return Representative(kind, start, end_date, await get_person(db, adult_id, clock=clock))


async def add_guardian(
    db: Database, child_ref: str, adult_ref: str, *, clock: Clock, start_date: date | None = None,
    end_date: date | None = None, actor: str = "system", legal_ground: str | None = "Persons and Family Act",
) -> Representative:
    return await add_relation(
        db, child_ref, adult_ref, clock=clock, kind="guardian", start_date=start_date, end_date=end_date,
        actor=actor, legal_ground=legal_ground,
    )


def person_summary(p: PersonRecord, on: date) -> dict[str, Any]:
    """A JSON-ready view of a person (for the operators' API and CLI)."""
    return {
        "id": p.id,
        "personal_number": p.personal_number,
        "number_kind": p.number_kind,
        "names": asdict(p.names),
        "birth_date": p.birth_date.isoformat(),
        "age": p.age_on(p.date_of_death or on),
        "birth_place": asdict(p.birth_place),
        "sex": p.sex,
        "sex_label": {1: Sex.MALE.value, 2: Sex.FEMALE.value}.get(p.sex, "unknown"),
        "nationalities": list(p.nationalities),
        "permanent_address": _address_values(p.permanent_address),
        "current_address": _address_values(p.current_address),
        "alive": p.alive,
        "date_of_death": p.date_of_death.isoformat() if p.date_of_death else None,
        "legal_capacity": p.legal_capacity,
        "documents": [_json_safe(asdict(d)) for d in p.documents],
    }


# --- judicial disability (guardianship of adults) ----------------------------------------------------------------


def _court_decision(value: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 100:
        raise PopulationError("missing_court_decision", "the court decision reference (1-100 characters) is required")
    return value.strip()


def _capacity_values(p: Person) -> dict[str, Any]:
    return {"legal_capacity": p.legal_capacity,
            "since": p.legal_capacity_since.isoformat() if p.legal_capacity_since else None,
            "court_decision": p.legal_capacity_decision}


async def _end_adult_representation(s: AsyncSession, person_id: str, last_day: date) -> list[str]:
    """End the guardian/trustee relations of an adult still current after ``last_day``; their adults' ids."""
    rows = (
        await s.execute(
            select(Relation).where(
                Relation.person_id == person_id,
                Relation.court_decision.is_not(None),
                or_(Relation.end_date.is_(None), Relation.end_date > last_day),
            )
        )
    ).scalars().all()
    for rel in rows:
        rel.end_date = max(last_day, rel.start_date)
    return [rel.adult_id for rel in rows]


async def _record_capacity(
    s: AsyncSession, person: Person, change: str, capacity: str, since: date, decision: str,
    extra: dict[str, Any], *, clock: Clock, legal_ground: str | None, actor: str,
) -> None:
    """Set a person's legal capacity from a court decision, with its history row and ``person_changed`` event."""
    now = clock.now()
    old = _capacity_values(person)
    person.legal_capacity = capacity
    person.legal_capacity_since = since
    person.legal_capacity_decision = decision
    person.updated_at = now
    _log(s, person.id, change, old, {**_capacity_values(person), **extra}, at=now, legal_ground=legal_ground,
         actor=actor)
    await emit(
        s,
        TOPIC_PERSON_CHANGED,
        {"person_id": person.id, "personal_number": person.personal_number, "change": change,
         "fields": ["legal_capacity", "relations"]},
        clock=clock,
    )


async def place_under_guardianship(
    db: Database,
    ref: str,
    representative_ref: str,
    *,
    capacity: Literal["limited", "none"],
    since: date,
    court_decision: str,
    clock: Clock,
    actor: str = "system",
    legal_ground: str | None = "Persons and Family Act, Art. 5 (judicial disability)",
) -> PersonRecord:
    """Record a court decision placing an adult under judicial disability (Persons and Family Act, Art. 5):
    ``capacity`` "none" (full disability, a guardian / настойник) or "limited" (a trustee / попечител), effective
    ``since``, with the representative appointed. A later decision for a person already restricted (a change of
    degree or of representative) ends the current representative the day before.

    The representative must be alive, of age and of full capacity. Writes a history row and emits
    ``population.person_changed`` (change "guardianship_placed", fields ``legal_capacity`` and ``relations``).
    """
    if capacity not in ("limited", "none"):
        raise PopulationError("invalid_legal_capacity", "judicial disability is 'limited' or 'none'")
    decision = _court_decision(court_decision)
    now = clock.now()
    if since > now.date():
        raise PopulationError("guardianship_in_future", "the decision takes effect in the future")
    async with db.transaction() as s:
        person = await _load(s, ref, for_update=True)
        rep = await _load(s, representative_ref)
        if person.id == rep.id:
            raise PopulationError("self_relation", "a person cannot be their own guardian")
        if person.date_of_death is not None or rep.date_of_death is not None:
            raise Conflict("person_deceased", "the person is recorded as deceased")
        if age_on(person.birth_date, since) < ADULT_AGE:
            raise PopulationError("ward_not_adult", "a minor is represented by parents or a guardian, not a court "
                                  "decision on an adult")
        if age_on(rep.birth_date, since) < ADULT_AGE:
            raise PopulationError("guardian_not_adult", "a guardian must be of age")
        if rep.legal_capacity != "full":
            raise PopulationError("guardian_lacks_capacity", "a guardian or trustee must have full legal capacity")
        if person.legal_capacity_since is not None and since <= person.legal_capacity_since:
            raise PopulationError("invalid_guardianship_dates", "the decision must take effect after the last one")
        await _end_adult_representation(s, person.id, since - timedelta(days=1))
        kind = ADULT_REPRESENTATIVE_KIND[capacity]
        s.add(Relation(id=new_id(), person_id=person.id, adult_id=rep.id, kind=kind, start_date=since,
                       end_date=None, court_decision=decision))
        await _record_capacity(s, person, "guardianship_placed", capacity, since, decision,
                               {"kind": kind, "adult_id": rep.id}, clock=clock, legal_ground=legal_ground, actor=actor)
        person_id = person.id
    log.info("guardianship placed", extra={"event": "guardianship_placed", "person_id": person_id})
    return await get_person(db, person_id, clock=clock)


async def lift_guardianship(
    db: Database,
    ref: str,
    *,
    on: date,
    court_decision: str,
    clock: Clock,
    actor: str = "system",
    legal_ground: str | None = "Persons and Family Act, Art. 5 (judicial disability lifted)",
) -> PersonRecord:
    """Record a court decision lifting a judicial disability from ``on``: the person has full capacity again and
    the guardian/trustee relation ends the day before. Writes a history row and emits ``population.person_changed``
    (change "guardianship_lifted", fields ``legal_capacity`` and ``relations``)."""
    decision = _court_decision(court_decision)
    now = clock.now()
    if on > now.date():
        raise PopulationError("guardianship_in_future", "the decision takes effect in the future")
    async with db.transaction() as s:
        person = await _load(s, ref, for_update=True)
        if person.date_of_death is not None:
            raise Conflict("person_deceased", "the person is recorded as deceased")
        if person.legal_capacity == "full":
            raise Conflict("not_under_guardianship", "the person is not under judicial disability")
        if person.legal_capacity_since is not None and on <= person.legal_capacity_since:
            raise PopulationError("invalid_guardianship_dates", "the decision must take effect after the last one")
        ended = await _end_adult_representation(s, person.id, on - timedelta(days=1))
        await _record_capacity(s, person, "guardianship_lifted", "full", on, decision, {"ended_adult_ids": ended},
                               clock=clock, legal_ground=legal_ground, actor=actor)
        person_id = person.id
    log.info("guardianship lifted", extra={"event": "guardianship_lifted", "person_id": person_id})
    return await get_person(db, person_id, clock=clock)
