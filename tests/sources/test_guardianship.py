"""Adults under judicial disability (Persons and Family Act, Art. 5): legal capacity on the person, the guardian or
trustee appointed by a court as legal representative, history rows and outbox events in the same transaction."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from portfeil.bg.identifiers import Sex, generate_egn
from portfeil.clock import FrozenClock
from portfeil.db import Database
from portfeil.errors import Conflict
from portfeil.sources import registry as reg
from portfeil.sources.models import Relation
from portfeil.sources.registry import PopulationError
from tests.sources.test_registry import adult, child_number, events

DECISION = "СРС, гр. д. 1234/2026, 21 с-в"


async def _ward_and_guardian(db: Database, clock: FrozenClock) -> tuple[reg.PersonRecord, reg.PersonRecord]:
    ward = await reg.create_person(db, adult(generate_egn(date(1990, 5, 5), Sex.MALE, serial=3), documents=()),
                                   clock=clock)
    guardian = await reg.create_person(db, adult(), clock=clock)
    return ward, guardian


async def test_new_person_has_full_capacity(db: Database, clock: FrozenClock) -> None:
    p = await reg.create_person(db, adult(), clock=clock)
    assert p.legal_capacity == "full"
    assert p.under_guardianship is False
    assert p.legal_capacity_since is None
    assert reg.person_summary(p, date(2026, 11, 23))["legal_capacity"] == "full"


async def test_place_under_full_disability_guardian_represents(db: Database, clock: FrozenClock) -> None:
    ward, guardian = await _ward_and_guardian(db, clock)
    assert await reg.legal_representatives(db, ward.id, clock=clock) == []
    p = await reg.place_under_guardianship(db, ward.personal_number, guardian.personal_number, capacity="none",
                                           since=date(2026, 10, 1), court_decision=DECISION, clock=clock)
    assert (p.legal_capacity, p.legal_capacity_since, p.legal_capacity_decision) == (
        "none", date(2026, 10, 1), DECISION)
    assert p.under_guardianship
    [r] = await reg.legal_representatives(db, ward.id, clock=clock)
    assert (r.kind, r.adult.id, r.start_date, r.end_date, r.court_decision) == (
        "guardian", guardian.id, date(2026, 10, 1), None, DECISION)
    # before the decision took effect nobody represented the adult
    assert await reg.legal_representatives(db, ward.id, clock=clock, on=date(2026, 9, 30)) == []
    # the guardian is of full capacity and has no representative
    assert await reg.legal_representatives(db, guardian.id, clock=clock) == []


async def test_limited_disability_appoints_a_trustee(db: Database, clock: FrozenClock) -> None:
    ward, guardian = await _ward_and_guardian(db, clock)
    p = await reg.place_under_guardianship(db, ward.id, guardian.id, capacity="limited", since=date(2026, 10, 1),
                                           court_decision=DECISION, clock=clock)
    assert p.legal_capacity == "limited"
    [r] = await reg.legal_representatives(db, ward.id, clock=clock)
    assert r.kind == "trustee"


async def test_placement_writes_history_and_event_in_one_transaction(db: Database, clock: FrozenClock) -> None:
    ward, guardian = await _ward_and_guardian(db, clock)
    before = len(await events(db))
    await reg.place_under_guardianship(db, ward.id, guardian.id, capacity="none", since=date(2026, 10, 1),
                                       court_decision=DECISION, clock=clock, actor="officer:7")
    evs = await events(db)
    assert len(evs) == before + 1
    assert evs[-1] == {"topic": reg.TOPIC_PERSON_CHANGED, "person_id": ward.id,
                       "personal_number": ward.personal_number, "change": "guardianship_placed",
                       "fields": ["legal_capacity", "relations"]}
    h = (await reg.history(db, ward.id))[-1]
    assert h.change == "guardianship_placed"
    assert h.actor == "officer:7"
    assert h.old_values == {"legal_capacity": "full", "since": None, "court_decision": None}
    assert h.new_values == {"legal_capacity": "none", "since": "2026-10-01", "court_decision": DECISION,
                            "kind": "guardian", "adult_id": guardian.id}
    # a refused request leaves neither a history row nor an event
    with pytest.raises(PopulationError):
        await reg.place_under_guardianship(db, ward.id, guardian.id, capacity="none", since=date(2026, 9, 1),
                                           court_decision=DECISION, clock=clock)
    assert len(await events(db)) == before + 1
    assert len(await reg.history(db, ward.id)) == 2


async def test_lift_restores_full_capacity_and_ends_representation(db: Database, clock: FrozenClock) -> None:
    ward, guardian = await _ward_and_guardian(db, clock)
    await reg.place_under_guardianship(db, ward.id, guardian.id, capacity="none", since=date(2026, 10, 1),
                                       court_decision=DECISION, clock=clock)
    p = await reg.lift_guardianship(db, ward.id, on=date(2026, 11, 20), court_decision="СРС 99/2026", clock=clock)
    assert (p.legal_capacity, p.legal_capacity_since, p.legal_capacity_decision) == (
        "full", date(2026, 11, 20), "СРС 99/2026")
    assert await reg.legal_representatives(db, ward.id, clock=clock) == []
    # the history of representation stays answerable by date
    [r] = await reg.legal_representatives(db, ward.id, clock=clock, on=date(2026, 11, 19))
    assert (r.kind, r.end_date) == ("guardian", date(2026, 11, 19))
    ev = (await events(db, reg.TOPIC_PERSON_CHANGED))[-1]
    assert (ev["change"], ev["fields"]) == ("guardianship_lifted", ["legal_capacity", "relations"])
    h = (await reg.history(db, ward.id))[-1]
    assert h.change == "guardianship_lifted"
    assert h.new_values is not None
    assert h.new_values["ended_adult_ids"] == [guardian.id]
    with pytest.raises(Conflict) as e:
        await reg.lift_guardianship(db, ward.id, on=date(2026, 11, 21), court_decision="x", clock=clock)
    assert e.value.code == "not_under_guardianship"


async def test_later_decision_replaces_the_representative(db: Database, clock: FrozenClock) -> None:
    ward, guardian = await _ward_and_guardian(db, clock)
    other = await reg.create_person(db, adult(generate_egn(date(1970, 2, 2), Sex.FEMALE, serial=9), documents=()),
                                    clock=clock)
    await reg.place_under_guardianship(db, ward.id, guardian.id, capacity="limited", since=date(2026, 6, 1),
                                       court_decision=DECISION, clock=clock)
    p = await reg.place_under_guardianship(db, ward.id, other.id, capacity="none", since=date(2026, 11, 1),
                                           court_decision="СГС 5/2026", clock=clock)
    assert p.legal_capacity == "none"
    [r] = await reg.legal_representatives(db, ward.id, clock=clock)
    assert (r.kind, r.adult.id) == ("guardian", other.id)
    [old] = await reg.legal_representatives(db, ward.id, clock=clock, on=date(2026, 10, 31))
    assert (old.kind, old.adult.id, old.end_date) == ("trustee", guardian.id, date(2026, 10, 31))


async def test_minor_guardian_does_not_outlast_majority(db: Database, clock: FrozenClock) -> None:
    guardian = await reg.create_person(db, adult(), clock=clock)
    kid_born = date(2008, 11, 24)  # 18 on the day after the clock's date
    kid = await reg.create_person(db, adult(child_number(kid_born), documents=()), clock=clock)
    await reg.add_guardian(db, kid.id, guardian.id, clock=clock, start_date=date(2015, 1, 1))
    assert [r.kind for r in await reg.legal_representatives(db, kid.id, clock=clock)] == ["guardian"]
    clock.advance(days=1)
    assert await reg.legal_representatives(db, kid.id, clock=clock) == []


async def test_death_of_guardian_leaves_ward_restricted_without_representative(
    db: Database, clock: FrozenClock
) -> None:
    ward, guardian = await _ward_and_guardian(db, clock)
    await reg.place_under_guardianship(db, ward.id, guardian.id, capacity="none", since=date(2026, 10, 1),
                                       court_decision=DECISION, clock=clock)
    await reg.record_death(db, guardian.id, date(2026, 11, 2), clock=clock)
    assert (await reg.find_person(db, ward.id, clock=clock)).legal_capacity == "none"
    assert await reg.legal_representatives(db, ward.id, clock=clock) == []


async def test_rejects_minor_ward(db: Database, clock: FrozenClock) -> None:
    guardian = await reg.create_person(db, adult(), clock=clock)
    kid = await reg.create_person(db, adult(child_number(date(2011, 4, 12)), documents=()), clock=clock)
    with pytest.raises(PopulationError) as e:
        await reg.place_under_guardianship(db, kid.id, guardian.id, capacity="none", since=date(2026, 10, 1),
                                           court_decision=DECISION, clock=clock)
    assert e.value.code == "ward_not_adult"


async def test_rejects_invalid_placements(db: Database, clock: FrozenClock) -> None:
    ward, guardian = await _ward_and_guardian(db, clock)
    teen = await reg.create_person(db, adult(child_number(date(2010, 1, 5), Sex.MALE), documents=()), clock=clock)

    async def refused(rep: str, code: str, **kw: object) -> None:
        args: dict[str, object] = {"capacity": "none", "since": date(2026, 10, 1), "court_decision": DECISION}
        args.update(kw)
        with pytest.raises(PopulationError) as e:
            await reg.place_under_guardianship(db, ward.id, rep, clock=clock, **args)  # type: ignore[arg-type]
        assert e.value.code == code

    await refused(guardian.id, "invalid_legal_capacity", capacity="full")
    await refused(guardian.id, "missing_court_decision", court_decision="  ")
    await refused(guardian.id, "guardianship_in_future", since=date(2026, 11, 24))
    await refused(ward.id, "self_relation")
    await refused(teen.id, "guardian_not_adult")
    await reg.place_under_guardianship(db, guardian.id, ward.id, capacity="limited", since=date(2026, 10, 1),
                                       court_decision=DECISION, clock=clock)
    await refused(guardian.id, "guardian_lacks_capacity")
    assert (await reg.find_person(db, ward.id, clock=clock)).legal_capacity == "full"


async def test_rejects_lift_before_placement(db: Database, clock: FrozenClock) -> None:
    ward, guardian = await _ward_and_guardian(db, clock)
    await reg.place_under_guardianship(db, ward.id, guardian.id, capacity="none", since=date(2026, 10, 1),
                                       court_decision=DECISION, clock=clock)
    with pytest.raises(PopulationError) as e:
        await reg.lift_guardianship(db, ward.id, on=date(2026, 10, 1), court_decision="x", clock=clock)
    assert e.value.code == "invalid_guardianship_dates"
    with pytest.raises(PopulationError) as e:
        await reg.lift_guardianship(db, ward.id, on=date(2026, 12, 1), court_decision="x", clock=clock)
    assert e.value.code == "guardianship_in_future"
    async with db.session() as s:
        rel = (await s.execute(select(Relation).where(Relation.person_id == ward.id))).scalar_one()
    assert rel.end_date is None
