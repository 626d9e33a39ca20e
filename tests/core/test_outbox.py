"""The transactional outbox: events exist only if their transaction committed; each consumer gets each event once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from portfeil.clock import FrozenClock
from portfeil.db import Database
from portfeil.outbox import Event, OutboxEvent, OutboxWorker, emit


async def test_event_of_rolled_back_transaction_is_never_seen(db: Database, clock: FrozenClock) -> None:
    async def failing_change() -> None:
        async with db.transaction() as s:
            await emit(s, "person.died", {"person_id": "p1"}, clock=clock)
            raise RuntimeError("change failed")

    with pytest.raises(RuntimeError):
        await failing_change()
    async with db.session() as s:
        assert (await s.execute(select(func.count()).select_from(OutboxEvent))).scalar_one() == 0


async def test_each_consumer_gets_each_event_once(db: Database, clock: FrozenClock) -> None:
    seen: dict[str, list[str]] = {"a": [], "b": []}

    def handler(name: str):  # type: ignore[no-untyped-def]
        async def handle(_s: AsyncSession, ev: Event) -> None:
            seen[name].append(ev.payload["n"])

        return handle

    worker = OutboxWorker(db, clock=clock)
    worker.subscribe("a", {"t1"}, handler("a"))
    worker.subscribe("b", {"t1", "t2"}, handler("b"))
    async with db.transaction() as s:
        await emit(s, "t1", {"n": "1"}, clock=clock)
        await emit(s, "t2", {"n": "2"}, clock=clock)
    assert await worker.drain() == 3
    assert await worker.drain() == 0
    async with db.transaction() as s:
        await emit(s, "t1", {"n": "3"}, clock=clock)
    assert await worker.drain() == 2
    assert seen == {"a": ["1", "3"], "b": ["1", "2", "3"]}


async def test_failed_consumer_is_retried_and_its_effects_rolled_back(db: Database, clock: FrozenClock) -> None:
    attempts: list[str] = []
    fail = {"on": True}

    async def flaky(s: AsyncSession, ev: Event) -> None:
        attempts.append(ev.id)
        await emit(s, "effect", {"of": ev.id}, clock=clock)  # an effect written in the delivery transaction
        if fail["on"]:
            raise ValueError("consumer down")

    worker = OutboxWorker(db, clock=clock)
    worker.subscribe("flaky", {"t"}, flaky)
    async with db.transaction() as s:
        await emit(s, "t", {}, clock=clock)
    assert await worker.drain() == 0
    async with db.session() as s:
        effects = (await s.execute(select(func.count()).where(OutboxEvent.topic == "effect"))).scalar_one()
    assert effects == 0  # the failed attempt left nothing half-written
    fail["on"] = False
    assert await worker.drain() == 1
    assert await worker.drain() == 0
    assert len(attempts) == 2


async def test_workers_of_several_processes_apply_each_event_once(db: Database, clock: FrozenClock) -> None:
    """`serve --workers N` runs an outbox worker in every process: racing workers must not apply an event twice.
    The consumer's effect (a row) is written in the delivery's transaction, so a loser's effect rolls back."""
    import asyncio

    from portfeil.outbox import OutboxDelivery

    applied: list[str] = []

    async def handle(s: AsyncSession, ev: Event) -> None:
        await asyncio.sleep(0)  # let the other worker interleave inside the transaction
        applied.append(ev.payload["n"])

    workers = [OutboxWorker(db, clock=clock, batch=7) for _ in range(3)]
    for w in workers:
        w.subscribe("c", {"t"}, handle)
    async with db.transaction() as s:
        for n in range(40):
            await emit(s, "t", {"n": str(n)}, clock=clock)
    await asyncio.gather(*(w.drain() for w in workers))
    async with db.session() as s:
        rows = (await s.execute(select(OutboxDelivery.event_id).where(OutboxDelivery.consumer == "c"))).all()
    assert len(rows) == 40 == len({r[0] for r in rows})
    # The delivery row is written before the handler runs, so a worker that lost the race never runs it.
    assert sorted(applied, key=int) == [str(n) for n in range(40)]
    assert [await w.drain() for w in workers] == [0, 0, 0]
