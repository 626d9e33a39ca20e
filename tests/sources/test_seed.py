"""The synthetic population: deterministic, valid, plausible, and written in bulk on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from portfeil.bg.identifiers import classify, is_valid_egn, is_valid_lnch, validate_egn
from portfeil.clock import FrozenClock
from portfeil.context import AppContext
from portfeil.db import Database
from portfeil.outbox import OutboxEvent
from portfeil.sources import registry as reg
from portfeil.sources.models import Document, Person, Relation
from portfeil.sources.seed import DEMO_PERSONS, PopulationGenerator, seed_population
from portfeil.sources.service import demo_seed

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def people(seed: int, n: int) -> list[tuple[object, ...]]:
    gen = PopulationGenerator(seed, NOW)
    return [p[1:] for chunk in gen.chunks(n, 97) for p in chunk.persons]


def test_same_seed_same_people_other_seed_other_people() -> None:
    a, b, c = people(7, 600), people(7, 600), people(8, 600)
    assert a == b
    gen = PopulationGenerator(7, NOW)
    assert [p[1:] for chunk in gen.chunks(600, 10_000) for p in chunk.persons] == a  # chunk size does not matter
    assert a != c
    assert len(a) == 600


def test_generator_chunks_hold_whole_households_and_exact_total() -> None:
    gen = PopulationGenerator(3, NOW)
    chunks = list(gen.chunks(1001, 100))
    assert sum(len(c.persons) for c in chunks) == 1001
    for c in chunks:
        ids = {p[0] for p in c.persons}
        assert all(r[1] in ids and r[2] in ids for r in c.relations)  # relations never cross a chunk
        assert all(a[0] in ids for a in c.addresses)
        assert all(d[1] in ids for d in c.documents)


def test_generated_population_is_plausible() -> None:
    gen = PopulationGenerator(11, NOW)
    today = NOW.date()
    persons: dict[str, tuple[object, ...]] = {}
    docs, rels = [], []
    for c in gen.chunks(5000, 1000):
        persons.update({p[0]: p for p in c.persons})
        docs += c.documents
        rels += c.relations
    numbers = [p[1] for p in persons.values()]
    assert len(set(numbers)) == len(numbers)
    for p in persons.values():
        number, kind, birth, sex = p[1], p[2], p[9], p[14]
        if kind == "egn":
            info = validate_egn(number)  # type: ignore[arg-type]
            assert info.birth_date == birth
            assert info.iso5218_sex == sex
        else:
            assert is_valid_lnch(number)  # type: ignore[arg-type]
            assert p[15] != '["BG"]'
        assert isinstance(birth, date)
        assert birth < today
    lnch = sum(p[2] == "lnch" for p in persons.values())
    assert 40 < lnch < 200  # about 1.5 % foreign residents (4 % of households)
    # parents are older than their children; every minor has a parent or guardian in the data set
    minors = {pid for pid, p in persons.items() if reg.age_on(p[9], today) < 18}  # type: ignore[arg-type]
    assert len(minors) > 300
    represented = set()
    for _, child, adult, kind, start, _end in rels:
        assert persons[adult][9] < persons[child][9]  # type: ignore[operator]
        assert reg.age_on(persons[adult][9], start) >= (18 if kind == "guardian" else 0)  # type: ignore[arg-type]
        represented.add(child)
    assert minors <= represented
    assert any(k == "guardian" for *_, k, _s, _e in rels)
    # most documents valid, some expired, deceased persons' documents invalidated
    statuses = [d[6] for d in docs]
    assert statuses.count("valid") > 0.8 * len(statuses)
    assert statuses.count("expired") > 0.02 * len(statuses)
    dead = {pid for pid, p in persons.items() if p[16] is not None}
    assert 10 < len(dead) < 300
    for d in docs:
        assert (d[6] == "invalidated") == (d[1] in dead)
        assert d[4] < d[5]  # issued before expiry
    for pid in dead:
        assert persons[pid][9] < persons[pid][16] < today  # type: ignore[operator]
    # family name forms: women carry the feminine form
    for p in persons.values():
        if p[2] == "egn" and p[14] == 2:
            assert str(p[5]).endswith(("а", "ска"))
    assert len({d[2] for d in docs}) == len(docs)


async def test_seed_writes_everything_in_bulk(db: Database, clock: FrozenClock) -> None:
    seen: list[int] = []
    result = await seed_population(db, 1500, clock=clock, seed=5, chunk_size=400, progress=seen.append)
    assert result.persons == 1500
    assert seen[-1] == 1500
    assert seen == sorted(seen)
    assert await reg.count_persons(db, clock=clock) == 1500
    async with db.session() as s:
        assert (await s.execute(select(func.count()).select_from(Document))).scalar_one() == result.documents
        assert (await s.execute(select(func.count()).select_from(Relation))).scalar_one() == result.relations
        numbers = (await s.execute(select(Person.personal_number))).scalars().all()
        assert (await s.execute(select(func.count()).select_from(OutboxEvent))).scalar_one() == 0
    assert all(classify(n).valid for n in numbers)
    # rows read back through the register (dates, JSON and timestamps survive the bulk path on both databases)
    page = await reg.list_persons(db, clock=clock, limit=50)
    assert all(isinstance(p.birth_date, date) and p.nationalities for p in page)
    minors = [p for p in await reg.list_persons(db, clock=clock, alive=True, limit=1500) if p.is_minor_on(NOW.date())]
    reps = await reg.legal_representatives(db, minors[0].id, clock=clock)
    assert reps
    assert all(r.adult.age_on(NOW.date()) >= 18 or r.kind == "parent" for r in reps)


async def test_seed_is_deterministic_in_the_database(db: Database, clock: FrozenClock) -> None:
    await seed_population(db, 300, clock=clock, seed=42)
    async with db.session() as s:
        stored = set((await s.execute(select(Person.personal_number, Person.given_name, Person.birth_date))).all())
    expected = {(p[0], p[2], p[8]) for p in people(42, 300)}
    assert stored == expected


async def test_seed_into_non_empty_register_avoids_collisions(db: Database, clock: FrozenClock) -> None:
    await seed_population(db, 300, clock=clock, seed=1)
    await seed_population(db, 300, clock=clock, seed=1)  # same seed again: numbers must not collide
    assert await reg.count_persons(db, clock=clock) == 600


async def test_demo_seed_creates_well_known_persons_once(ctx: AppContext) -> None:
    ctx.services["demo_persons"] = 200
    await demo_seed(ctx)
    await demo_seed(ctx)  # idempotent
    assert await reg.count_persons(ctx.db, clock=ctx.clock) == 200 + len(DEMO_PERSONS)
    ivan = await reg.find_person(ctx.db, "8506258485", clock=ctx.clock)
    assert ivan.names.full == "Иван Петров Иванов"
    assert [d.doc_type for d in ivan.valid_documents()] == ["identity_card", "passport"]
    maria = await reg.find_person(ctx.db, "1144122470", clock=ctx.clock)
    assert maria.age_on(ctx.clock.now().date()) == 15
    reps = await reg.legal_representatives(ctx.db, maria.id, clock=ctx.clock)
    assert {r.adult.personal_number for r in reps} == {"8506258485", "8709304914"}
    kaloyan = await reg.legal_representatives(ctx.db, "1149036246", clock=ctx.clock)
    assert [(r.kind, r.adult.personal_number) for r in kaloyan] == [("guardian", "5501201558")]
    petar = await reg.find_person(ctx.db, "5502118026", clock=ctx.clock)
    assert not petar.alive
    georgi = await reg.find_person(ctx.db, "6007083008", clock=ctx.clock)
    assert [d.status for d in georgi.documents] == ["expired"]
    thomas = await reg.find_person(ctx.db, "7111042925", clock=ctx.clock)
    assert thomas.number_kind == "lnch"
    assert thomas.nationalities == ("DE",)
    assert all(is_valid_egn(p.personal_number) or is_valid_lnch(p.personal_number) for p in DEMO_PERSONS.values())


def test_egn_order_numbers_of_a_day_run_out_gracefully() -> None:
    gen = PopulationGenerator(1, NOW)
    day = date(1990, 5, 5)
    numbers = {gen._egn(day, 1) for _ in range(500)}
    assert len(numbers) == 500
    assert all(validate_egn(n).birth_date == day for n in numbers)
    try:
        gen._egn(day, 1)
    except OverflowError:
        pass
    else:
        raise AssertionError("a 501st male ЕГН for one day cannot exist")
    assert validate_egn(gen._egn(day, 2)).birth_date == day  # the female order numbers are separate


def test_large_generation_has_unique_valid_numbers() -> None:
    gen = PopulationGenerator(1, NOW)
    seen: set[str] = set()
    count = 0
    for chunk in gen.chunks(60_000, 20_000):
        for p in chunk.persons:
            seen.add(p[1])
            count += 1
    assert len(seen) == count == 60_000


async def test_bulk_load_restores_indexes_and_foreign_keys(db: Database, clock: FrozenClock) -> None:
    import sqlalchemy as sa

    from portfeil.db import Base

    def schema(conn: sa.Connection) -> dict[str, tuple[set[str | None], set[str | None]]]:
        insp = sa.inspect(conn)
        return {
            t: ({i["name"] for i in insp.get_indexes(t)}, {f["name"] for f in insp.get_foreign_keys(t)})
            for t in ("pop_persons", "pop_addresses", "pop_documents", "pop_relations")
        }

    async with db.engine.connect() as conn:
        before = await conn.run_sync(schema)
    result = await seed_population(db, 400, clock=clock, seed=2, bulk_load_min=100, chunk_size=150)
    async with db.engine.connect() as conn:
        after = await conn.run_sync(schema)
    assert after == before
    assert "fk_pop_relations_adult_id_pop_persons" in after["pop_relations"][1]
    assert {ix.name for ix in Base.metadata.tables["pop_persons"].indexes} <= after["pop_persons"][0]
    assert result.persons == 400


def test_random_ids_are_uuid4() -> None:
    import uuid

    from portfeil.sources.seed import random_ids

    ids = random_ids(2000)
    assert len(set(ids)) == 2000
    for i in ids:
        u = uuid.UUID(i)
        assert u.version == 4
        assert u.variant == uuid.RFC_4122
        assert str(u) == i
