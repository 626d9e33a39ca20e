"""Population register use cases: validation, history, outbox events in the same transaction, queries."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from portfeil.bg.identifiers import Sex, generate_egn
from portfeil.clock import FrozenClock
from portfeil.db import Database
from portfeil.errors import Conflict, NotFound
from portfeil.outbox import OutboxEvent
from portfeil.sources import registry as reg
from portfeil.sources.models import Change, Person
from portfeil.sources.registry import AddressRecord, NewDocument, NewPerson, Place, PopulationError

HOME = AddressRecord(country="BG", region="Варна", municipality="Варна", locality="Варна", postal_code="9000",
                     street="ул. Шипка", number="5")


def adult(number: str = "8506258485", **kw: object) -> NewPerson:
    base = {
        "personal_number": number, "given_name": "Иван", "middle_name": "Петров", "family_name": "Иванов",
        "birth_place": Place("BG", "София (столица)", "Столична", "София"), "permanent_address": HOME,
        "documents": (NewDocument("645000001", "identity_card", date(2024, 1, 1), date(2034, 1, 1), "МВР Варна"),),
    }
    base.update(kw)
    return NewPerson(**base)  # type: ignore[arg-type]


def child_number(born: date, sex: Sex = Sex.FEMALE) -> str:
    return generate_egn(born, sex, serial=17)


async def events(db: Database, topic: str | None = None) -> list[dict[str, object]]:
    async with db.session() as s:
        stmt = select(OutboxEvent).order_by(OutboxEvent.seq)
        if topic:
            stmt = stmt.where(OutboxEvent.topic == topic)
        return [{"topic": e.topic, **e.payload} for e in (await s.execute(stmt)).scalars()]


async def test_create_decodes_egn_and_transliterates(db: Database, clock: FrozenClock) -> None:
    p = await reg.create_person(db, adult(), clock=clock)
    assert p.birth_date == date(1985, 6, 25)
    assert p.sex == 1
    assert p.names.full_latin == "Ivan Petrov Ivanov"
    assert p.number_kind == "egn"
    assert p.current_address == p.permanent_address == HOME
    assert [d.number for d in p.valid_documents()] == ["645000001"]
    assert dataclasses.is_dataclass(p)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.personal_number = "x"  # type: ignore[misc]
    [ev] = await events(db)
    assert ev["topic"] == reg.TOPIC_PERSON_CHANGED
    assert ev["person_id"] == p.id
    assert ev["personal_number"] == "8506258485"
    assert ev["change"] == "registered"


async def test_rejects_invalid_egn(db: Database, clock: FrozenClock) -> None:
    with pytest.raises(PopulationError) as e:
        await reg.create_person(db, adult("8506258483"), clock=clock)
    assert e.value.code == "invalid_personal_number"
    assert await reg.count_persons(db, clock=clock) == 0
    assert await events(db) == []


async def test_rejects_egn_disagreeing_with_birth_date(db: Database, clock: FrozenClock) -> None:
    with pytest.raises(PopulationError) as e:
        await reg.create_person(db, adult(birth_date=date(1985, 6, 26)), clock=clock)
    assert e.value.code == "egn_mismatch"
    with pytest.raises(PopulationError) as e:
        await reg.create_person(db, adult(sex=2), clock=clock)
    assert e.value.code == "egn_mismatch"


async def test_rejects_duplicate_personal_number(db: Database, clock: FrozenClock) -> None:
    await reg.create_person(db, adult(), clock=clock)
    with pytest.raises(Conflict) as e:
        await reg.create_person(db, adult(documents=()), clock=clock)
    assert e.value.code == "already_registered"
    assert len(await events(db)) == 1  # the refused registration emitted nothing


async def test_lnch_person_needs_birth_data(db: Database, clock: FrozenClock) -> None:
    foreigner = NewPerson("7111042925", "Томас", "Мюлер", nationalities=("DE",), birth_place=Place("DE"))
    with pytest.raises(PopulationError) as e:
        await reg.create_person(db, foreigner, clock=clock)
    assert e.value.code == "missing_birth_data"
    p = await reg.create_person(
        db, dataclasses.replace(foreigner, birth_date=date(1971, 11, 4), sex=1, given_name_latin="Thomas",
                                family_name_latin="Mueller"),
        clock=clock,
    )
    assert p.number_kind == "lnch"
    assert p.names.full_latin == "Thomas Mueller"


async def test_rejects_bad_nationality_and_future_birth(db: Database, clock: FrozenClock) -> None:
    with pytest.raises(PopulationError) as e:
        await reg.create_person(db, adult(nationalities=("BGR",)), clock=clock)
    assert e.value.code == "invalid_nationality"
    future = generate_egn(clock.now().date() + timedelta(days=3), Sex.MALE, serial=1)
    with pytest.raises(PopulationError) as e:
        await reg.create_person(db, adult(future, documents=()), clock=clock)
    assert e.value.code == "birth_in_future"


async def test_update_changes_names_logs_history_and_emits(db: Database, clock: FrozenClock) -> None:
    p = await reg.create_person(db, adult(), clock=clock)
    moved = dataclasses.replace(HOME, locality="Шумен", region="Шумен", municipality="Шумен", postal_code="9700")
    clock.advance(days=1)
    q = await reg.update_person(db, p.personal_number, {"family_name": "Щерев", "current_address": moved},
                                clock=clock, legal_ground="name change decision 12/2026")
    assert q.names.family == "Щерев"
    assert q.names.family_latin == "Shterev"
    assert q.current_address == moved
    assert q.permanent_address == HOME
    ev = (await events(db, reg.TOPIC_PERSON_CHANGED))[-1]
    assert ev["fields"] == ["current_address", "family_name", "family_name_latin"]
    assert "Щерев" not in str(ev)
    assert "Иванов" not in str(ev)
    hist = await reg.history(db, p.id)
    assert [h.change for h in hist] == ["registered", "updated"]
    assert hist[1].old_values is not None
    assert hist[1].old_values["family_name"] == "Иванов"
    assert hist[1].legal_ground == "name change decision 12/2026"


async def test_rejects_update_of_personal_number(db: Database, clock: FrozenClock) -> None:
    p = await reg.create_person(db, adult(), clock=clock)
    with pytest.raises(PopulationError) as e:
        await reg.update_person(db, p.id, {"personal_number": "0042096485"}, clock=clock)
    assert e.value.code == "field_not_updatable"


async def test_history_is_append_only_in_the_database(db: Database, clock: FrozenClock) -> None:
    await reg.create_person(db, adult(), clock=clock)
    with pytest.raises(sa.exc.DBAPIError):
        async with db.transaction() as s:
            await s.execute(sa.update(Change).values(change="tampered"))
    async with db.session() as s:
        assert (await s.execute(select(Change.change))).scalars().all() == ["registered"]


async def test_record_death_invalidates_documents_and_emits(db: Database, clock: FrozenClock) -> None:
    p = await reg.create_person(db, adult(), clock=clock)
    died = date(2026, 11, 20)
    q = await reg.record_death(db, "8506258485", died, clock=clock)
    assert not q.alive
    assert q.date_of_death == died
    assert [d.status for d in q.documents] == ["invalidated"]
    [death] = await events(db, reg.TOPIC_PERSON_DIED)
    assert death == {"topic": reg.TOPIC_PERSON_DIED, "person_id": p.id, "personal_number": "8506258485",
                     "date_of_death": "2026-11-20"}
    [inv] = await events(db, reg.TOPIC_DOCUMENT_INVALIDATED)
    assert inv["document_number"] == "645000001"
    assert inv["person_id"] == p.id


async def test_rejects_second_death(db: Database, clock: FrozenClock) -> None:
    await reg.create_person(db, adult(), clock=clock)
    await reg.record_death(db, "8506258485", date(2026, 11, 20), clock=clock)
    with pytest.raises(Conflict) as e:
        await reg.record_death(db, "8506258485", date(2026, 11, 21), clock=clock)
    assert e.value.code == "person_deceased"
    assert len(await events(db, reg.TOPIC_PERSON_DIED)) == 1
    with pytest.raises(Conflict):
        await reg.update_person(db, "8506258485", {"given_name": "Петър"}, clock=clock)


async def test_rejects_death_in_future_or_before_birth(db: Database, clock: FrozenClock) -> None:
    await reg.create_person(db, adult(), clock=clock)
    with pytest.raises(PopulationError) as e:
        await reg.record_death(db, "8506258485", clock.now().date() + timedelta(days=1), clock=clock)
    assert e.value.code == "death_in_future"
    with pytest.raises(PopulationError) as e:
        await reg.record_death(db, "8506258485", date(1985, 6, 24), clock=clock)
    assert e.value.code == "death_before_birth"
    assert (await reg.find_person(db, "8506258485", clock=clock)).alive


async def test_unknown_person_is_not_found(db: Database, clock: FrozenClock) -> None:
    with pytest.raises(NotFound):
        await reg.find_person(db, "8506258485", clock=clock)
    with pytest.raises(NotFound):
        await reg.get_person(db, "no-such-id", clock=clock)
    with pytest.raises(NotFound):
        await reg.record_death(db, "0042096485", date(2020, 1, 1), clock=clock)


async def test_invalidate_document_and_lost(db: Database, clock: FrozenClock) -> None:
    p = await reg.create_person(db, adult(), clock=clock)
    await reg.add_document(db, p.id, NewDocument("381234567", "passport", date(2023, 1, 1), date(2033, 1, 1),
                                                 "МВР Варна"), clock=clock)
    doc = await reg.invalidate_document(db, "381234567", clock=clock, status="lost")
    assert doc.status == "lost"
    with pytest.raises(Conflict) as e:
        await reg.invalidate_document(db, "381234567", clock=clock)
    assert e.value.code == "document_not_valid"
    with pytest.raises(NotFound):
        await reg.invalidate_document(db, "000000000", clock=clock)
    [ev] = await events(db, reg.TOPIC_DOCUMENT_INVALIDATED)
    assert ev == {"topic": reg.TOPIC_DOCUMENT_INVALIDATED, "person_id": p.id, "personal_number": p.personal_number,
                  "document_number": "381234567", "status": "lost"}
    q = await reg.find_person(db, p.id, clock=clock)
    assert {d.number: d.status for d in q.documents} == {"381234567": "lost", "645000001": "valid"}


async def test_document_reads_expired_after_its_expiry(db: Database, clock: FrozenClock) -> None:
    await reg.create_person(db, adult(), clock=clock)
    clock.set(clock.now().replace(year=2034, month=1, day=2))
    p = await reg.find_person(db, "8506258485", clock=clock)
    assert p.documents[0].status == "expired"
    assert p.valid_documents() == ()


async def test_guardian_of_minor_and_rules(db: Database, clock: FrozenClock) -> None:
    parent = await reg.create_person(db, adult(), clock=clock)
    kid_born = date(2011, 4, 12)
    kid = await reg.create_person(
        db, adult(child_number(kid_born), given_name="Мария", middle_name="Иванова", family_name="Иванова",
                  documents=()), clock=clock)
    teen = await reg.create_person(
        db, adult(child_number(date(2010, 1, 5), Sex.MALE), given_name="Калоян", documents=()), clock=clock)
    with pytest.raises(PopulationError) as e:
        await reg.add_guardian(db, kid.id, teen.id, clock=clock)
    assert e.value.code == "guardian_not_adult"
    with pytest.raises(PopulationError) as e:
        await reg.add_relation(db, parent.id, kid.id, clock=clock, kind="parent", start_date=kid_born)
    assert e.value.code == "parent_not_older"
    with pytest.raises(PopulationError) as e:
        await reg.add_guardian(db, kid.id, kid.id, clock=clock)
    assert e.value.code == "self_relation"
    await reg.add_relation(db, kid.id, parent.id, clock=clock, kind="parent", start_date=kid_born)
    reps = await reg.legal_representatives(db, kid.personal_number, clock=clock)
    assert [(r.kind, r.adult.id) for r in reps] == [("parent", parent.id)]
    assert await reg.legal_representatives(db, parent.id, clock=clock) == []  # an adult has none
    # the representative's death ends the relation
    await reg.record_death(db, parent.id, date(2026, 11, 1), clock=clock)
    assert await reg.legal_representatives(db, kid.id, clock=clock) == []


async def test_minor_representation_ends_at_majority(db: Database, clock: FrozenClock) -> None:
    parent = await reg.create_person(db, adult(), clock=clock)
    kid_born = date(2008, 11, 24)  # 18 on 2026-11-24, the day after the test clock's date
    kid = await reg.create_person(db, adult(child_number(kid_born), documents=()), clock=clock)
    await reg.add_relation(db, kid.id, parent.id, clock=clock, kind="parent", start_date=kid_born)
    assert len(await reg.legal_representatives(db, kid.id, clock=clock)) == 1
    clock.advance(days=1)
    assert await reg.legal_representatives(db, kid.id, clock=clock) == []


async def test_list_filters_alive_and_min_age(db: Database, clock: FrozenClock) -> None:
    a = await reg.create_person(db, adult(), clock=clock)
    kid = await reg.create_person(db, adult(child_number(date(2011, 4, 12)), documents=()), clock=clock)
    old = await reg.create_person(db, adult(generate_egn(date(1940, 3, 3), Sex.MALE, serial=5), documents=()),
                                  clock=clock)
    await reg.record_death(db, old.id, date(2025, 1, 1), clock=clock)
    def ids(ps: list[reg.PersonRecord]) -> set[str]:
        return {p.id for p in ps}

    assert ids(await reg.list_persons(db, clock=clock)) == {a.id, kid.id, old.id}
    assert ids(await reg.list_persons(db, clock=clock, alive=True)) == {a.id, kid.id}
    assert ids(await reg.list_persons(db, clock=clock, alive=False)) == {old.id}
    assert ids(await reg.list_persons(db, clock=clock, alive=True, min_age=18)) == {a.id}
    assert ids(await reg.list_persons(db, clock=clock, min_age=15)) == {a.id, kid.id, old.id}
    assert ids(await reg.list_persons(db, clock=clock, min_age=16)) == {a.id, old.id}
    assert await reg.count_persons(db, clock=clock, alive=True) == 2
    page1 = await reg.list_persons(db, clock=clock, limit=2)
    page2 = await reg.list_persons(db, clock=clock, limit=2, offset=2)
    assert len(page1) == 2
    assert len(page2) == 1
    assert ids(page1) | ids(page2) == {a.id, kid.id, old.id}
    with pytest.raises(PopulationError):
        await reg.list_persons(db, clock=clock, limit=-1)


def test_age_on_birthdays_and_leap_day() -> None:
    assert reg.age_on(date(2000, 2, 29), date(2018, 2, 28)) == 17
    assert reg.age_on(date(2000, 2, 29), date(2018, 3, 1)) == 18
    assert reg.age_on(date(2008, 11, 23), date(2026, 11, 23)) == 18
    assert reg.age_on(date(2008, 11, 24), date(2026, 11, 23)) == 17
    assert reg.latest_birth_date_for_age(18, date(2024, 2, 29)) == date(2006, 2, 28)


async def test_no_person_row_with_invalid_number_after_refusals(db: Database, clock: FrozenClock) -> None:
    for bad in ("8506258483", "0000000000", "12345", "85062584８5"):
        with pytest.raises(PopulationError):
            await reg.create_person(db, adult(bad, documents=()), clock=clock)
    async with db.session() as s:
        assert (await s.execute(select(func.count()).select_from(Person))).scalar_one() == 0


async def test_number_valid_as_egn_and_lnch_can_be_registered_as_lnch(db: Database, clock: FrozenClock) -> None:
    from portfeil.bg.identifiers import IdKind, classify, is_valid_lnch

    rng_serial = 0
    while not is_valid_lnch(number := generate_egn(date(1980, 3, 3), Sex.MALE, serial=rng_serial)):
        rng_serial += 1
    assert classify(number).kinds == (IdKind.EGN, IdKind.LNCH)
    foreigner = NewPerson(number, "Томас", "Мюлер", birth_date=date(1975, 1, 1), sex=1, nationalities=("DE",),
                          birth_place=Place("DE"), number_kind="lnch")
    p = await reg.create_person(db, foreigner, clock=clock)
    assert p.number_kind == "lnch"
    assert p.birth_date == date(1975, 1, 1)  # not the date the ЕГН reading would give
    with pytest.raises(PopulationError) as e:
        await reg.create_person(db, adult("8506258485", number_kind="lnch", documents=()), clock=clock)
    assert e.value.code == "invalid_personal_number"  # a valid ЕГН that is no valid ЛНЧ


async def test_get_person_reads_all_addresses_and_documents_in_one_statement(db: Database, clock: FrozenClock) -> None:
    """get_person (the issuer's hot read: one joined statement) gives the same record as find_person (per table),
    with two addresses and three documents (six joined rows), and with neither documents nor a current address."""
    work = dataclasses.replace(HOME, locality="Девня", postal_code="9160", street=None, number=None)
    p = await reg.create_person(db, adult(current_address=work), clock=clock)
    for number, kind in (("381234567", "passport"), ("381234568", "passport")):
        await reg.add_document(db, p.id, NewDocument(number, kind, date(2023, 1, 1), date(2033, 1, 1), "МВР Варна"),
                               clock=clock)
    got = await reg.get_person(db, p.id, clock=clock)
    assert got == await reg.find_person(db, p.personal_number, clock=clock)
    assert got.current_address == work
    assert got.permanent_address == HOME
    assert sorted(d.number for d in got.documents) == ["381234567", "381234568", "645000001"]
    bare = await reg.create_person(db, adult("0042096485", documents=()), clock=clock)
    got = await reg.get_person(db, bare.id, clock=clock)
    assert got == await reg.find_person(db, "0042096485", clock=clock)
    assert got.documents == ()
    assert got.current_address == got.permanent_address == HOME
