"""A deterministic synthetic population for the register (same seed -> same people), streamed and bulk-written.

Households are generated one after another: single adults, couples with children (the child's father's name comes
from the father's given name, family names take the feminine form for women), single mothers, grandparents who are
guardians of a minor, and foreign residents with a ЛНЧ and a residence permit. Every ЕГН is valid and unique (a
per-day, per-sex order number walks all 500 values), parents are older than their children, most documents are valid
on the clock's date and some are expired, a few old people are deceased (their documents invalidated).

Nothing is kept in memory beyond one chunk: rows go to PostgreSQL with ``COPY`` (asyncpg
``copy_records_to_table``) and to SQLite with ``executemany``, one transaction per chunk.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex, ExecutableDDLElement

from portfeil.bg.identifiers import generate_lnch, validate_egn
from portfeil.bg.translit import transliterate
from portfeil.clock import Clock
from portfeil.db import Base, Database
from portfeil.sources import data
from portfeil.sources.models import ADDRESS_FIELDS, Person
from portfeil.sources.registry import (
    AddressRecord,
    NewDocument,
    NewPerson,
    Place,
    add_relation,
    age_on,
    create_person,
    record_death,
)

log = logging.getLogger("portfeil.sources.seed")

PERSON_COLS = (
    "id", "personal_number", "number_kind", "given_name", "middle_name", "family_name", "given_name_latin",
    "middle_name_latin", "family_name_latin", "birth_date", "birth_country", "birth_region", "birth_municipality",
    "birth_locality", "sex", "nationalities", "date_of_death", "created_at", "updated_at",
)
ADDRESS_COLS = ("person_id", "kind", *ADDRESS_FIELDS)
DOCUMENT_COLS = (
    "id", "person_id", "number", "doc_type", "issue_date", "expiry_date", "status", "issuing_authority",
    "status_changed_at",
)
RELATION_COLS = ("id", "person_id", "adult_id", "kind", "start_date", "end_date")
TABLES = (
    ("pop_persons", PERSON_COLS, "persons"),
    ("pop_addresses", ADDRESS_COLS, "addresses"),
    ("pop_documents", DOCUMENT_COLS, "documents"),
    ("pop_relations", RELATION_COLS, "relations"),
)
_EGN_STRIDE = 37  # coprime with 500: k -> (start + 37k) mod 500 visits every order number once
_DOC_STRIDE = 7_919_993  # coprime with 10**8
_ENTRANCES = ("А", "Б", "В", "Г")


@dataclass
class Chunk:
    persons: list[tuple[Any, ...]] = field(default_factory=list)
    addresses: list[tuple[Any, ...]] = field(default_factory=list)
    documents: list[tuple[Any, ...]] = field(default_factory=list)
    relations: list[tuple[Any, ...]] = field(default_factory=list)


def random_ids(count: int) -> list[str]:
    """``count`` random UUID4 strings (as :func:`portfeil.db.new_id`), made in one batch for speed."""
    h = os.urandom(16 * count).hex()
    variant = "89ab89ab89ab89ab"  # RFC 9562 variant bits 10xx for any random nibble
    return [
        f"{h[i:i + 8]}-{h[i + 8:i + 12]}-4{h[i + 13:i + 16]}-{variant[int(h[i + 16], 16)]}{h[i + 17:i + 20]}-"
        f"{h[i + 20:i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


def add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


class PopulationGenerator:
    """Generates households as rows ready for bulk insertion; ``sqlite=True`` renders dates as SQLite text."""

    def __init__(
        self,
        seed: int,
        now: datetime,
        *,
        sqlite: bool = False,
        exclude_numbers: set[str] | None = None,
        exclude_documents: set[str] | None = None,
    ) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible by design
        self.today = now.date()
        self.sqlite = sqlite
        self.now_value: Any = now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
        self.exclude_numbers = exclude_numbers or set()
        self.exclude_documents = exclude_documents or set()
        self._egn_next: dict[tuple[int, int], int] = {}
        self._lnch_used: set[str] = set()
        self._doc_counter = {t: self.rng.randrange(10**8) for t in ("identity_card", "passport", "residence_permit")}
        self._doc_prefix = {"identity_card": "6", "passport": "3", "residence_permit": "9"}
        weights = [p[4] for p in data.PLACES]
        self._place_cum = [sum(weights[: i + 1]) for i in range(len(weights))]
        self._place_total = self._place_cum[-1]
        self._male = list(data.MALE_GIVEN)
        self._patronymic = data.MALE_GIVEN
        self._female = data.FEMALE_GIVEN
        self._family = data.FAMILY
        self._foreign_places = [p for p in data.PLACES if p[2] in data.FOREIGN_CITIES]
        self._json_cache: dict[tuple[str, ...], str] = {}
        self._ids: list[str] = []
        self._egn_prefix: dict[int, tuple[str, int]] = {}
        self.counts = {"persons": 0, "addresses": 0, "documents": 0, "relations": 0}

    # --- values -------------------------------------------------------------------------------------------------

    def _id(self) -> str:
        if not self._ids:
            self._ids = random_ids(4096)
        return self._ids.pop()

    def _d(self, d: date | None) -> Any:
        if d is None or not self.sqlite:
            return d
        return d.isoformat()

    def _json(self, codes: tuple[str, ...]) -> str:
        out = self._json_cache.get(codes)
        if out is None:
            out = self._json_cache[codes] = json.dumps(list(codes))
        return out

    def _birth(self, min_age: int, max_age: int) -> date:
        """A birth date giving an age in [min_age, max_age] today (uniform over days)."""
        latest = add_years(self.today, -min_age)
        earliest = add_years(self.today, -max_age - 1) + timedelta(days=1)
        return earliest + timedelta(days=self.rng.randrange((latest - earliest).days + 1))

    def _egn(self, birth: date, sex: int) -> str:
        """A unique valid ЕГН: the order number walks all 500 values of the day and sex before giving up."""
        ordinal = birth.toordinal()
        key = (ordinal, sex)
        k = self._egn_next.get(key, 0)
        cached = self._egn_prefix.get(ordinal)
        if cached is None:
            year, month = birth.year, birth.month
            month += 40 if year >= 2000 else (20 if year < 1900 else 0)
            prefix = f"{year % 100:02d}{month:02d}{birth.day:02d}"
            weighted = sum(int(c) * w for c, w in zip(prefix, (2, 4, 8, 5, 10, 9), strict=True))
            cached = self._egn_prefix[ordinal] = (prefix, weighted)
        prefix, prefix_sum = cached
        start = (ordinal * 7 + sex * 131) % 500
        while k < 500:
            serial = (start + k * _EGN_STRIDE) % 500
            k += 1
            tail = serial * 2 + (0 if sex == 1 else 1)
            check = (prefix_sum + (tail // 100) * 7 + (tail // 10 % 10) * 3 + (tail % 10) * 6) % 11
            number = f"{prefix}{tail:03d}{0 if check == 10 else check}"
            if number not in self.exclude_numbers:
                self._egn_next[key] = k
                return number
        raise OverflowError("all ЕГН order numbers of a day used")

    def _lnch(self) -> str:
        while True:
            number = generate_lnch(self.rng)
            if number not in self._lnch_used and number not in self.exclude_numbers:
                self._lnch_used.add(number)
                return number

    def _doc_number(self, doc_type: str) -> str:
        while True:
            self._doc_counter[doc_type] = (self._doc_counter[doc_type] + _DOC_STRIDE) % 10**8
            number = f"{self._doc_prefix[doc_type]}{self._doc_counter[doc_type]:08d}"
            if number not in self.exclude_documents:
                return number

    def _place(self) -> tuple[str, str, str, tuple[str, ...], int]:
        i = bisect.bisect_right(self._place_cum, self.rng.random() * self._place_total)
        return data.PLACES[min(i, len(data.PLACES) - 1)]

    def _address(self, place: tuple[str, str, str, tuple[str, ...], int]) -> tuple[Any, ...]:
        """Address values in ADDRESS_FIELDS order."""
        rng = self.rng
        oblast, municipality, locality, codes, _ = place
        postal = codes[int(rng.random() * len(codes))]
        complexes = data.COMPLEXES.get(locality)
        if complexes and rng.random() < 0.6:
            return (
                "BG", oblast, municipality, locality, postal, complexes[int(rng.random() * len(complexes))], None,
                str(1 + int(rng.random() * 300)), _ENTRANCES[int(rng.random() * 4)],
                str(1 + int(rng.random() * 12)), str(1 + int(rng.random() * 90)),
            )
        street = data.STREETS[int(rng.random() * len(data.STREETS))]
        flat = rng.random() < 0.4
        return (
            "BG", oblast, municipality, locality, postal, street, str(1 + int(rng.random() * 150)), None, None,
            str(1 + int(rng.random() * 6)) if flat else None, str(1 + int(rng.random() * 24)) if flat else None,
        )

    # --- rows ---------------------------------------------------------------------------------------------------

    def _person(
        self, chunk: Chunk, *, given: str, middle: str | None, family: str, birth: date, sex: int,
        place: tuple[str, str, str, tuple[str, ...], int] | None, address: tuple[Any, ...],
        current: tuple[Any, ...] | None = None, nationalities: tuple[str, ...] = ("BG",), number: str | None = None,
        latin: tuple[str, str] | None = None, birth_country: str = "BG", death: date | None = None,
    ) -> str:
        pid = self._id()
        if number is None:
            while True:  # a day whose 500 order numbers are all taken: the person is born a day earlier
                try:
                    number = self._egn(birth, sex)
                    break
                except OverflowError:
                    birth -= timedelta(days=1)
            kind = "egn"
        else:
            kind = "lnch"
        given_latin, family_latin = latin or (transliterate(given), transliterate(family))
        chunk.persons.append(
            (
                pid, number, kind, given, middle, family, given_latin, transliterate(middle) if middle else None,
                family_latin, self._d(birth), birth_country, place[0] if place else None,
                place[1] if place else None, place[2] if place else None, sex, self._json(nationalities),
                self._d(death), self.now_value, self.now_value,
            )
        )
        chunk.addresses.append((pid, "permanent", *address))
        if current is not None:
            chunk.addresses.append((pid, "current", *current))
        self._documents(chunk, pid, birth, kind, address[1], death)
        return pid

    def _doc(
        self, chunk: Chunk, pid: str, doc_type: str, birth: date, authority: str, min_age: int,
        years_minor: int, years_adult: int, death: date | None, expired_share: float = 0.06,
    ) -> None:
        rng = self.rng
        end = death or self.today
        earliest = add_years(birth, min_age)
        if earliest > end:
            return
        years = years_minor if age_on(birth, end) < 18 else years_adult
        if death is None and rng.random() < expired_share:
            issue = end - timedelta(days=years * 365 + 1 + int(rng.random() * 700))
        else:
            issue = end - timedelta(days=int(rng.random() * (years * 365 - 1)))
        if issue < earliest:
            issue = earliest + timedelta(days=int(rng.random() * min(365, (end - earliest).days + 1)))
        expiry = add_years(issue, years_minor if age_on(birth, issue) < 18 else years_adult)
        if death is not None:
            status, changed = "invalidated", self.now_value
        else:
            status, changed = ("expired" if expiry < self.today else "valid"), None
        chunk.documents.append(
            (self._id(), pid, self._doc_number(doc_type), doc_type, self._d(issue), self._d(expiry), status, authority,
             changed)
        )

    def _documents(self, chunk: Chunk, pid: str, birth: date, kind: str, oblast: str, death: date | None) -> None:
        if kind == "lnch":
            self._doc(chunk, pid, "residence_permit", birth, data.RESIDENCE_AUTHORITY, 0, 5, 5, death, 0.05)
            return
        authority = data.AUTHORITY_OF_OBLAST.get(oblast) or f"МВР {oblast}"
        self._doc(chunk, pid, "identity_card", birth, authority, 14, 4, 10, death)
        if self.rng.random() < (0.3 if age_on(birth, self.today) >= 18 else 0.1):
            self._doc(chunk, pid, "passport", birth, authority, 0, 5, 10, death, 0.15)

    def _relation(self, chunk: Chunk, child: str, adult: str, kind: str, start: date) -> None:
        chunk.relations.append((self._id(), child, adult, kind, self._d(start), None))

    def _male_name(self) -> str:
        return self._male[int(self.rng.random() * len(self._male))]

    def _female_name(self) -> str:
        return self._female[int(self.rng.random() * len(self._female))]

    def _surname(self) -> str:
        return self._family[int(self.rng.random() * len(self._family))]

    def _household(self, chunk: Chunk, room: int) -> int:
        """Append one household of at most ``room`` persons; return how many were added."""
        rng = self.rng
        r = rng.random()
        place = self._place()
        home = self._address(place)
        if r < 0.04 or room == 1:
            if r < 0.04:
                nat, g, g_lat, f, f_lat, sex = data.FOREIGN[int(rng.random() * len(data.FOREIGN))]
                city = self._foreign_places[int(rng.random() * len(self._foreign_places))]
                birth = self._birth(20, 70)
                self._person(
                    chunk, given=g, middle=None, family=f, birth=birth, sex=sex, place=None,
                    address=self._address(city), nationalities=(nat,), number=self._lnch(), latin=(g_lat, f_lat),
                    birth_country=nat,
                )
                return 1
            r = 0.1  # only room for a single adult
        if r < 0.33:  # a single adult; some old people are deceased
            sex = 1 if rng.random() < 0.48 else 2
            birth = self._birth(18, 92)
            death = None
            if age_on(birth, self.today) >= 65 and rng.random() < 0.12:
                death = self.today - timedelta(days=1 + int(rng.random() * 6 * 365))
            given = self._male_name() if sex == 1 else self._female_name()
            father = self._patronymic[self._male_name()]
            surname = self._surname()
            second = data.SECOND_NATIONALITIES[int(rng.random() * len(data.SECOND_NATIONALITIES))]
            nationalities = ("BG", second) if rng.random() < 0.02 else ("BG",)
            self._person(
                chunk, given=given, middle=father if sex == 1 else data.feminine(father),
                family=surname if sex == 1 else data.feminine(surname), birth=birth, sex=sex,
                place=place if rng.random() < 0.7 else self._place(), address=home, nationalities=nationalities,
                death=death,
            )
            return 1
        if r < 0.35 and room >= 2:  # a grandparent who is the guardian of a minor
            gsex = 2 if rng.random() < 0.7 else 1
            gbirth = self._birth(55, 78)
            surname = self._surname()
            guardian = self._person(
                chunk, given=self._female_name() if gsex == 2 else self._male_name(),
                middle=data.feminine(self._patronymic[self._male_name()]) if gsex == 2
                else self._patronymic[self._male_name()],
                family=data.feminine(surname) if gsex == 2 else surname, birth=gbirth, sex=gsex, place=place,
                address=home,
            )
            csex = 1 if rng.random() < 0.51 else 2
            cbirth = self._birth(1, 17)
            father = self._patronymic[self._male_name()]
            child = self._person(
                chunk, given=self._male_name() if csex == 1 else self._female_name(),
                middle=father if csex == 1 else data.feminine(father),
                family=surname if csex == 1 else data.feminine(surname), birth=cbirth, sex=csex,
                place=self._place(), address=home,
            )
            self._relation(chunk, child, guardian, "guardian", cbirth + timedelta(days=int(rng.random() * 365)))
            return 2
        # a couple (or a single mother) with children
        single_mother = r > 0.9
        surname = self._surname()
        mbirth = self._birth(22, 80)
        mother_family = self._surname() if single_mother else surname
        mother = self._person(
            chunk, given=self._female_name(), middle=data.feminine(self._patronymic[self._male_name()]),
            family=data.feminine(mother_family), birth=mbirth, sex=2, place=self._place(), address=home,
        )
        added = 1
        father_id: str | None = None
        father_given = self._male_name()
        if not single_mother and room - added >= 1:
            fbirth = mbirth - timedelta(days=int((rng.random() * 7 - 2) * 365))
            if fbirth > add_years(self.today, -22):
                fbirth = self._birth(22, 30)
            father_id = self._person(
                chunk, given=father_given, middle=self._patronymic[self._male_name()], family=surname, birth=fbirth,
                sex=1, place=place, address=home,
            )
            added += 1
        else:
            surname = self._surname()  # the absent father's family name
        wanted = (0, 1, 1, 2, 2, 2, 3)[int(rng.random() * 7)] if not single_mother else 1 + int(rng.random() * 2)
        patronymic = self._patronymic[father_given]
        for _ in range(wanted):
            if added >= room:
                break
            cbirth = add_years(mbirth, 20 + int(rng.random() * 20)) + timedelta(days=int(rng.random() * 365))
            if cbirth >= self.today:
                continue
            csex = 1 if rng.random() < 0.51 else 2
            adult_child = age_on(cbirth, self.today) >= 18
            moved = adult_child and rng.random() < 0.5
            child = self._person(
                chunk, given=self._male_name() if csex == 1 else self._female_name(),
                middle=patronymic if csex == 1 else data.feminine(patronymic),
                family=surname if csex == 1 else data.feminine(surname), birth=cbirth, sex=csex, place=place,
                address=home, current=self._address(self._place()) if moved else None,
            )
            self._relation(chunk, child, mother, "parent", cbirth)
            if father_id is not None:
                self._relation(chunk, child, father_id, "parent", cbirth)
            added += 1
        return added

    def chunks(self, total: int, chunk_size: int = 10_000) -> Iterator[Chunk]:
        """Yield chunks of whole households (about ``chunk_size`` persons each) until ``total`` persons exist."""
        made = 0
        while made < total:
            chunk = Chunk()
            count = 0
            # households never split and only the overall total limits them: the people do not depend on chunk_size
            while count < chunk_size and made + count < total:
                count += self._household(chunk, total - made - count)
            made += count
            for key in self.counts:
                self.counts[key] += len(getattr(chunk, key))
            yield chunk


# --- writing --------------------------------------------------------------------------------------------------------


async def _write_postgres(conn: AsyncConnection, chunk: Chunk) -> None:
    raw = await conn.get_raw_connection()
    pg = raw.driver_connection
    assert pg is not None
    for table, cols, attr in TABLES:
        rows = getattr(chunk, attr)
        if rows:
            await pg.copy_records_to_table(table, records=rows, columns=list(cols))


async def _write_sqlite(conn: AsyncConnection, chunk: Chunk) -> None:
    for table, cols, attr in TABLES:
        rows = getattr(chunk, attr)
        if rows:
            sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"  # noqa: S608
            await conn.exec_driver_sql(sql, rows)


@dataclass(frozen=True)
class SeedResult:
    persons: int
    addresses: int
    documents: int
    relations: int
    seconds: float

    @property
    def persons_per_second(self) -> float:
        return self.persons / self.seconds if self.seconds else 0.0


BULK_LOAD_MIN = 50_000


def _bulk_load_ddl() -> tuple[list[ExecutableDDLElement], list[ExecutableDDLElement]]:
    """Statements that drop, and then re-create, the secondary indexes and foreign keys of the register's tables
    (PostgreSQL manual, "Populating a Database"); taken from the models, so they cannot drift from the schema."""
    drops: list[ExecutableDDLElement] = []
    creates: list[ExecutableDDLElement] = []
    for name in ("pop_persons", "pop_addresses", "pop_documents", "pop_relations"):
        table = Base.metadata.tables[name]
        for fk in table.foreign_key_constraints:
            drops.append(DropConstraint(fk))
        for ix in table.indexes:
            drops.append(DropIndex(ix))
            creates.append(CreateIndex(ix))
    for name in ("pop_addresses", "pop_documents", "pop_relations"):
        creates.extend(AddConstraint(fk) for fk in Base.metadata.tables[name].foreign_key_constraints)
    return drops, creates


async def _existing(db: Database) -> tuple[set[str], set[str]]:
    async with db.engine.connect() as conn:
        numbers = {r[0] for r in await conn.execute(text("SELECT personal_number FROM pop_persons"))}
        docs = {r[0] for r in await conn.execute(text("SELECT number FROM pop_documents"))}
    return numbers, docs


async def seed_population(
    db: Database,
    persons: int,
    *,
    clock: Clock,
    seed: int = 0,
    chunk_size: int = 10_000,
    progress: Callable[[int], None] | None = None,
    writers: int | None = None,
    bulk_load_min: int = BULK_LOAD_MIN,
) -> SeedResult:
    """Add ``persons`` synthetic persons (deterministic for a seed on an empty register); returns counts and time.

    Existing personal and document numbers are avoided, so seeding a non-empty register adds people safely.
    A pipeline: one thread generates the next chunk while ``writers`` connections (PostgreSQL: 2, SQLite: 1)
    write earlier ones, each chunk in its own transaction. Loading at least ``bulk_load_min`` persons into an empty
    PostgreSQL register drops the secondary indexes and foreign keys first and re-creates them at the end. Seeded
    persons get no history rows and emit no events
    (it is a bulk load of synthetic data, not a registration).
    """
    if persons < 0:
        raise ValueError("persons must not be negative")
    started = time.perf_counter()
    sqlite = db.dialect == "sqlite"
    numbers, docs = await _existing(db)
    gen = PopulationGenerator(seed, clock.now(), sqlite=sqlite, exclude_numbers=numbers, exclude_documents=docs)
    write = _write_sqlite if sqlite else _write_postgres
    n_writers = 1 if sqlite else max(1, writers or 2)
    queue: asyncio.Queue[Chunk | None] = asyncio.Queue(maxsize=n_writers + 1)
    done = 0

    async def produce() -> None:
        chunks = gen.chunks(persons, chunk_size)
        while True:
            chunk = await asyncio.to_thread(next, chunks, None)
            if chunk is None:
                break
            await queue.put(chunk)
        for _ in range(n_writers):
            await queue.put(None)

    async def consume() -> None:
        nonlocal done
        while (chunk := await queue.get()) is not None:
            async with db.engine.begin() as conn:
                if not sqlite:
                    await conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
                await write(conn, chunk)
            done += len(chunk.persons)
            if progress is not None:
                progress(done)

    # A large load into an empty PostgreSQL register builds indexes and checks foreign keys once at the end.
    bulk = not sqlite and not numbers and persons >= bulk_load_min
    drops, creates = _bulk_load_ddl()
    if bulk:
        async with db.engine.begin() as conn:
            for stmt in drops:
                await conn.execute(stmt)
    try:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(produce())
            for _ in range(n_writers):
                tasks.create_task(consume())
    finally:
        if bulk:
            async with db.engine.begin() as conn:
                await conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
                for stmt in creates:
                    await conn.execute(stmt)
    c = gen.counts
    log.info("population seeded", extra={"event": "population_seeded", **c})
    return SeedResult(c["persons"], c["addresses"], c["documents"], c["relations"], time.perf_counter() - started)


# --- the well-known demo persons (docs/demo-persons.md) ------------------------------------------------------------

_SOFIA = AddressRecord(
    country="BG", region="София (столица)", municipality="Столична", locality="София", postal_code="1000",
    street="ул. Шипка", number="12", floor="3", apartment="7",
)
_PLOVDIV = AddressRecord(
    country="BG", region="Пловдив", municipality="Пловдив", locality="Пловдив", postal_code="4004",
    street="ж.к. Тракия", block="112", entrance="Б", floor="5", apartment="14",
)
_SOFIA_PLACE = Place("BG", "София (столица)", "Столична", "София")
_PLOVDIV_PLACE = Place("BG", "Пловдив", "Пловдив", "Пловдив")


def _card(number: str, issued: date, years: int, authority: str = "МВР София") -> NewDocument:
    return NewDocument(number, "identity_card", issued, add_years(issued, years), authority)


#: key -> person; keys are used by relations below and by docs/demo-persons.md
DEMO_PERSONS: dict[str, NewPerson] = {
    "ivan": NewPerson(
        "8506258485", "Иван", "Иванов", middle_name="Петров", birth_place=_SOFIA_PLACE, permanent_address=_SOFIA,
        documents=(
            _card("645123450", date(2024, 3, 15), 10),
            NewDocument("381234567", "passport", date(2023, 5, 10), date(2033, 5, 10), "МВР София"),
        ),
    ),
    "elena": NewPerson(
        "8709304914", "Елена", "Иванова", middle_name="Георгиева", birth_place=_PLOVDIV_PLACE,
        permanent_address=_SOFIA, documents=(_card("645123451", date(2022, 10, 3), 10),),
    ),
    "maria": NewPerson(
        "1144122470", "Мария", "Иванова", middle_name="Иванова", birth_place=_SOFIA_PLACE, permanent_address=_SOFIA,
        documents=(_card("645123452", date(2025, 5, 6), 4),),
    ),
    "radka": NewPerson(
        "5501201558", "Радка", "Димитрова", middle_name="Петкова", birth_place=_PLOVDIV_PLACE,
        permanent_address=_PLOVDIV, documents=(_card("645123453", date(2019, 8, 20), 10, "МВР Пловдив"),),
    ),
    "kaloyan": NewPerson(
        "1149036246", "Калоян", "Димитров", middle_name="Стоянов", birth_place=_PLOVDIV_PLACE,
        permanent_address=_PLOVDIV, documents=(_card("645123454", date(2025, 9, 10), 4, "МВР Пловдив"),),
    ),
    "petar": NewPerson(
        "5502118026", "Петър", "Иванов", middle_name="Иванов", birth_place=_SOFIA_PLACE, permanent_address=_SOFIA,
        documents=(_card("645123455", date(2018, 2, 1), 10),),
    ),
    "georgi": NewPerson(
        "6007083008", "Георги", "Стоянов", middle_name="Димитров", birth_place=_PLOVDIV_PLACE,
        permanent_address=_PLOVDIV, documents=(_card("645123456", date(2014, 1, 10), 10, "МВР Пловдив"),),
    ),
    "thomas": NewPerson(
        "7111042925", "Томас", "Мюлер", birth_date=date(1971, 11, 4), sex=1, birth_place=Place("DE"),
        nationalities=("DE",), permanent_address=_SOFIA, given_name_latin="Thomas", family_name_latin="Mueller",
        number_kind="lnch",
        documents=(NewDocument("912345670", "residence_permit", date(2023, 6, 1), date(2028, 6, 1),
                               "МВР Дирекция Миграция"),),
    ),
}
#: (child, adult, kind)
DEMO_RELATIONS = (("maria", "ivan", "parent"), ("maria", "elena", "parent"), ("ivan", "petar", "parent"),
                  ("kaloyan", "radka", "guardian"))
DEMO_DEATHS = {"petar": date(2025, 10, 1)}


async def seed_demo_persons(db: Database, *, clock: Clock) -> dict[str, str]:
    """Create the well-known demo persons (through the register's API, so with history and events); return
    their internal ids by key. Idempotent: persons already present are left alone."""
    ids: dict[str, str] = {}
    async with db.session() as s:
        present = {
            r[0]: r[1]
            for r in await s.execute(
                select(Person.personal_number, Person.id).where(
                    Person.personal_number.in_([p.personal_number for p in DEMO_PERSONS.values()])
                )
            )
        }
    created: set[str] = set()
    for key, person in DEMO_PERSONS.items():
        if person.personal_number in present:
            ids[key] = present[person.personal_number]
            continue
        ids[key] = (await create_person(db, person, clock=clock, actor="demo-seed")).id
        created.add(key)
    for child, adult, kind in DEMO_RELATIONS:
        if child in created or adult in created:
            start = DEMO_PERSONS[child].birth_date or _egn_birth(DEMO_PERSONS[child].personal_number)
            if kind == "guardian":
                start = date(2020, 5, 1)
            await add_relation(db, ids[child], ids[adult], clock=clock, kind=kind, start_date=start, actor="demo-seed")
    for key, when in DEMO_DEATHS.items():
        if key in created:
            await record_death(db, ids[key], when, clock=clock, actor="demo-seed")
    return ids


def _egn_birth(number: str) -> date:
    return validate_egn(number).birth_date


async def register_size(db: Database) -> int:
    async with db.session() as s:
        return int((await s.execute(select(func.count()).select_from(Person))).scalar_one())


__all__ = [
    "DEMO_PERSONS",
    "Chunk",
    "PopulationGenerator",
    "SeedResult",
    "register_size",
    "seed_demo_persons",
    "seed_population",
]
