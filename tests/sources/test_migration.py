"""The population_0002 migration (legal capacity, court decision) on a register that already holds data: upgrade
keeps every row and gives full capacity; downgrade keeps every row too (no table is recreated, so the ON DELETE
CASCADE foreign keys never fire). Runs on SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from portfeil.db import Database, alembic_config
from tests.conftest import BACKENDS, PG_URL

PERSON = ("INSERT INTO pop_persons (id, personal_number, number_kind, given_name, family_name, given_name_latin, "
          "family_name_latin, birth_date, birth_country, sex, nationalities, created_at, updated_at) VALUES "
          "(:id, :n, 'egn', 'А', 'Б', 'A', 'B', :b, 'BG', 1, '[\"BG\"]', :t, :t)")


@pytest.fixture(params=BACKENDS)
async def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[str, str | None]]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'm.db'}", None
        return
    assert PG_URL
    schema = f"m_{uuid.uuid4().hex[:12]}"
    admin = Database(PG_URL)
    async with admin.engine.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield PG_URL, schema
    finally:
        async with admin.engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


async def _alembic(action: str, url: str, schema: str | None, rev: str) -> None:
    from alembic import command

    await asyncio.to_thread(getattr(command, action), alembic_config(url, schema), rev)


async def _count(db: Database, table: str) -> int:
    async with db.session() as s:
        return int((await s.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def test_guardianship_migration_keeps_rows_both_ways(fresh: tuple[str, str | None]) -> None:
    url, schema = fresh
    await _alembic("upgrade", url, schema, "population_0001")
    db = Database(url, pg_schema=schema)
    try:
        async with db.transaction() as s:
            for pid, number, born in (("p1", "8506258485", date(1985, 6, 25)), ("p2", "5501201558", date(1955, 1, 20))):
                await s.execute(sa.text(PERSON), {"id": pid, "n": number, "b": born,
                                                  "t": datetime(2026, 1, 1, tzinfo=UTC)})
            await s.execute(sa.text("INSERT INTO pop_relations (id, person_id, adult_id, kind, start_date) "
                                    "VALUES ('r1', 'p1', 'p2', 'guardian', :d)"), {"d": date(2026, 1, 1)})
        await _alembic("upgrade", url, schema, "population_0002")
        async with db.session() as s:
            rows = (await s.execute(sa.text("SELECT legal_capacity, legal_capacity_since FROM pop_persons"))).all()
            assert sorted(tuple(r) for r in rows) == [("full", None), ("full", None)]
            rel = (await s.execute(sa.text("SELECT court_decision FROM pop_relations"))).scalar_one()
            assert rel is None
        await _alembic("downgrade", url, schema, "population_0001")
        assert await _count(db, "pop_persons") == 2
        assert await _count(db, "pop_relations") == 1
        async with db.session() as s:
            cols = (await s.execute(sa.text("SELECT * FROM pop_persons"))).keys()
            assert "legal_capacity" not in cols
    finally:
        await db.dispose()
