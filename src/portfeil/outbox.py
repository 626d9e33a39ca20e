"""Transactional outbox for cross-service events (deaths, data changes, terminated eID certificates, revocations).

A service writes its change and the event in ONE transaction (:func:`emit`). A worker drains the outbox and hands
each event to every subscribed consumer; delivery is at-least-once, and a consumer is idempotent because a delivery
row ``(event_id, consumer)`` is written in the same transaction as the consumer's own effects: an event that a
consumer has handled is never handled by it again, and one whose handling failed is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from portfeil.clock import SYSTEM_CLOCK, Clock
from portfeil.db import Base, Database, JSONType, UTCDateTime, new_id

log = logging.getLogger("portfeil.outbox")


class OutboxEvent(Base):
    __tablename__ = "outbox_events"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    topic: Mapped[str] = mapped_column(String(100), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxDelivery(Base):
    __tablename__ = "outbox_deliveries"

    event_id: Mapped[str] = mapped_column(ForeignKey("outbox_events.id"), primary_key=True)
    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime())


async def emit(session: AsyncSession, topic: str, payload: dict[str, Any], *, clock: Clock = SYSTEM_CLOCK) -> str:
    """Record an event inside the caller's transaction; it is visible to consumers only if that commits."""
    event = OutboxEvent(id=new_id(), topic=topic, payload=payload, created_at=clock.now())
    session.add(event)
    await session.flush()
    return event.id


@dataclass(frozen=True)
class Event:
    id: str
    seq: int
    topic: str
    payload: dict[str, Any]
    created_at: datetime


Handler = Callable[[AsyncSession, Event], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    consumer: str
    topics: frozenset[str]
    handler: Handler


class OutboxWorker:
    """Delivers outbox events to subscribed consumers, each event once per consumer (at-least-once, deduplicated)."""

    def __init__(self, db: Database, *, clock: Clock = SYSTEM_CLOCK, batch: int = 200) -> None:
        self.db = db
        self.clock = clock
        self.batch = batch
        self.subscriptions: list[Subscription] = []

    def subscribe(self, consumer: str, topics: set[str] | frozenset[str], handler: Handler) -> None:
        self.subscriptions.append(Subscription(consumer, frozenset(topics), handler))

    async def drain(self) -> int:
        """Deliver everything pending; return the number of deliveries made. Safe to run concurrently."""
        delivered = 0
        for sub in self.subscriptions:
            delivered += await self._drain_one(sub)
        return delivered

    async def _drain_one(self, sub: Subscription) -> int:
        # Pending = events of the consumer's topics without a delivery row for it. No read cursor: a cursor can
        # skip an event whose transaction committed after a later-numbered one (sequence gaps under concurrency).
        delivered = 0
        while True:
            async with self.db.session() as s:
                done = select(OutboxDelivery.event_id).where(OutboxDelivery.consumer == sub.consumer)
                rows = (
                    await s.execute(
                        select(OutboxEvent)
                        .where(OutboxEvent.topic.in_(sub.topics), OutboxEvent.id.not_in(done))
                        .order_by(OutboxEvent.seq)
                        .limit(self.batch)
                    )
                ).scalars().all()
                events = [Event(r.id, r.seq, r.topic, dict(r.payload), r.created_at) for r in rows]
            if not events:
                return delivered
            for ev in events:
                if not await self._deliver(sub, ev):
                    return delivered  # retried on the next drain; order within a consumer is kept
                delivered += 1

    async def _deliver(self, sub: Subscription, ev: Event) -> bool:
        try:
            async with self.db.transaction() as s:
                s.add(OutboxDelivery(event_id=ev.id, consumer=sub.consumer, delivered_at=self.clock.now()))
                await s.flush()
                await sub.handler(s, ev)
            return True
        except IntegrityError:
            return True  # another worker delivered it concurrently
        except Exception as exc:  # noqa: BLE001 - a failing consumer must not stop the others; retried later
            log.warning(
                "outbox consumer failed",
                extra={"event": "outbox_consumer_failed", "consumer": sub.consumer, "topic": ev.topic,
                       "error_type": type(exc).__name__},
            )
            return False

    async def run(self, *, interval: float = 1.0) -> None:
        """Drain forever (the worker of ``portfeil serve``); cancel the task to stop."""
        import asyncio

        while True:
            try:
                await self.drain()
            except Exception as exc:  # noqa: BLE001 - keep the worker alive across transient DB errors
                log.warning(
                    "outbox drain failed", extra={"event": "outbox_drain_failed", "error_type": type(exc).__name__}
                )
            await asyncio.sleep(interval)
