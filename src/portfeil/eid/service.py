"""The eID registry as a service of the application (``/eid/``)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from portfeil.context import AppContext
from portfeil.eid.api import routers
from portfeil.eid.demo import demo_seed
from portfeil.eid.pages import build_pages
from portfeil.eid.registry import EidRegistry
from portfeil.sources.registry import TOPIC_DOCUMENT_INVALIDATED, TOPIC_PERSON_CHANGED, TOPIC_PERSON_DIED
from portfeil.web.service import Service

CONSUMER = "eid.population"


def _routers(_ctx: AppContext) -> list[APIRouter]:
    return [*routers(), build_pages()]


async def setup(ctx: AppContext) -> None:
    """Create (or load) the eID CA and subscribe to the population register's events."""
    reg = EidRegistry.for_context(ctx)
    await reg.issuing_ca()
    if not any(s.consumer == CONSUMER for s in ctx.outbox.subscriptions):
        ctx.outbox.subscribe(CONSUMER, {TOPIC_PERSON_DIED, TOPIC_PERSON_CHANGED, TOPIC_DOCUMENT_INVALIDATED},
                             reg.on_population_event)
    await asyncio.sleep(0)


async def _demo_seed(ctx: AppContext) -> None:
    await setup(ctx)
    await demo_seed(ctx)


SERVICE = Service(
    name="eid",
    title="eID registry",
    routers=_routers,
    setup=setup,
    demo_seed=_demo_seed,
    links=(("eID register", "/eid/register"), ("My eID", "/eid/my"), ("eID API", "/docs#/eid%3A%20public")),
)
