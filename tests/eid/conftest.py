"""Fixtures of the eID registry tests: a context with the demo persons seeded (docs/demo-persons.md: Иван 8506258485
adult, Мария 1144122470 minor with parents Иван and Елена, Калоян 1149036246 minor with guardian Радка, Петър
5502118026 deceased) and an in-memory keystore."""

from __future__ import annotations

from datetime import date

import pytest

from portfeil.bg.identifiers import Sex, generate_egn
from portfeil.context import AppContext
from portfeil.eid.demo import DemoSetup, IssuedToHolder, demo_desk, issue_to_person
from portfeil.eid.registry import EidRegistry
from portfeil.pki.keystore import MemoryKeyStore
from portfeil.sources import registry as population
from portfeil.sources.registry import NewDocument, NewPerson

IVAN = "8506258485"
ELENA = "8709304914"
MARIA = "1144122470"
KALOYAN = "1149036246"
RADKA = "5501201558"
PETAR = "5502118026"


@pytest.fixture
async def people(ctx: AppContext) -> dict[str, str]:
    from portfeil.sources.seed import seed_demo_persons

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
async def ivan(reg: EidRegistry, desk: DemoSetup) -> IssuedToHolder:
    return await issue_to_person(reg, IVAN, setup=desk)


async def make_person(ctx: AppContext, birth: date, *, doc: str = "700000001", valid_doc: bool = True) -> str:
    """A person born on ``birth`` with one identity card; returns the ЕГН."""
    egn = generate_egn(birth, Sex.FEMALE, serial=123)
    await population.create_person(ctx.db, NewPerson(
        egn, "Тест", "Тестова", birth_date=birth,
        documents=(NewDocument(doc, "identity_card", date(2025, 1, 1), date(2030, 1, 1), "МВР",
                               status="valid" if valid_doc else "invalidated"),),
    ), clock=ctx.clock)
    return egn
