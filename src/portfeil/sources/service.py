"""HTTP API of the population register (operators only): ``/population/api/v1/...``.

Every route needs ``Authorization: Bearer <PORTFEIL_OPERATOR_TOKEN>``.
Errors are JSON ``{"error", "error_description"}``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from portfeil.context import AppContext
from portfeil.sources import registry
from portfeil.sources.seed import register_size, seed_demo_persons, seed_population
from portfeil.web.deps import Ctx, Operator
from portfeil.web.service import Service

PREFIX = "/population/api/v1"


class DeathIn(BaseModel):
    date_of_death: date = Field(description="Date of death (ISO 8601)")
    legal_ground: str | None = Field(default=None, max_length=200, description="e.g. the death certificate number")


class InvalidateIn(BaseModel):
    status: Literal["invalidated", "lost"] = "invalidated"
    legal_ground: str | None = Field(default=None, max_length=200)


def _routers(_ctx: AppContext) -> list[APIRouter]:
    router = APIRouter(prefix=PREFIX, tags=["population register"], dependencies=[Operator])

    @router.get("/persons", summary="List persons (filters: alive, minimum age on today's date)")
    async def list_persons(
        ctx: Ctx,
        alive: bool | None = None,
        min_age: Annotated[int | None, Query(ge=0, le=150)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        persons = await registry.list_persons(
            ctx.db, clock=ctx.clock, alive=alive, min_age=min_age, limit=limit, offset=offset
        )
        total = await registry.count_persons(ctx.db, clock=ctx.clock, alive=alive, min_age=min_age)
        on = registry.today(ctx.clock)
        return {"total": total, "limit": limit, "offset": offset,
                "persons": [registry.person_summary(p, on) for p in persons]}

    @router.get("/persons/{ref}", summary="Show a person by internal id or personal number (ЕГН/ЛНЧ)")
    async def show_person(ctx: Ctx, ref: str) -> dict[str, Any]:
        person = await registry.find_person(ctx.db, ref, clock=ctx.clock)
        on = registry.today(ctx.clock)
        out = registry.person_summary(person, on)
        reps = await registry.legal_representatives(ctx.db, person.id, clock=ctx.clock)
        out["legal_representatives"] = [
            {"kind": r.kind, "person_id": r.adult.id, "personal_number": r.adult.personal_number,
             "start_date": r.start_date.isoformat()}
            for r in reps
        ]
        return out

    @router.post("/persons/{ref}/death", summary="Record a death (invalidates the person's documents)")
    async def record_death(ctx: Ctx, ref: str, body: DeathIn) -> dict[str, Any]:
        person = await registry.record_death(
            ctx.db, ref, body.date_of_death, clock=ctx.clock, actor="operator",
            legal_ground=body.legal_ground or "Civil Registration Act, death certificate",
        )
        return registry.person_summary(person, registry.today(ctx.clock))

    @router.post("/documents/{number}/invalidate", summary="Invalidate an identity document or declare it lost")
    async def invalidate_document(ctx: Ctx, number: str, body: InvalidateIn) -> dict[str, Any]:
        doc = await registry.invalidate_document(
            ctx.db, number, clock=ctx.clock, status=body.status, actor="operator",
            legal_ground=body.legal_ground or "Identity Documents Act",
        )
        return {"number": doc.number, "doc_type": doc.doc_type, "status": doc.status}

    return [router]


async def demo_seed(ctx: AppContext) -> None:
    """Seed the well-known demo persons and ``ctx.services["demo_persons"]`` (default 2000) synthetic ones, once."""
    if await register_size(ctx.db) > 0:
        return
    await seed_demo_persons(ctx.db, clock=ctx.clock)
    await seed_population(ctx.db, int(ctx.services.get("demo_persons", 2000)), clock=ctx.clock, seed=2026)


SERVICE = Service(
    name="population",
    title="Population register",
    routers=_routers,
    demo_seed=demo_seed,
    links=(("Population API", "/docs#/population%20register"),),
)
