"""Fixtures of the eID registry tests: a context with the demo persons seeded and an in-memory keystore."""

from __future__ import annotations

import pytest

from portfeil.clock import FrozenClock
from portfeil.context import AppContext
from portfeil.eid.demo import DemoSetup, demo_desk
from portfeil.eid.registry import EidRegistry
from portfeil.pki.keystore import MemoryKeyStore
from portfeil.sources.seed import seed_demo_persons


@pytest.fixture
async def people(ctx: AppContext) -> dict[str, str]:
    return await seed_demo_persons(ctx.db, clock=ctx.clock)


@pytest.fixture
def keystore() -> MemoryKeyStore:
    return MemoryKeyStore()


@pytest.fixture
def reg(ctx: AppContext, keystore: MemoryKeyStore) -> EidRegistry:
    ctx.services["eid.keystore"] = keystore
    return EidRegistry.for_context(ctx)


@pytest.fixture
async def desk(reg: EidRegistry, people: dict[str, str]) -> DemoSetup:
    return await demo_desk(reg)


@pytest.fixture
def clock_(clock: FrozenClock) -> FrozenClock:
    return clock
