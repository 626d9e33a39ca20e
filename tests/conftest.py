"""Shared fixtures: a clock that tests move, and a migrated database on SQLite and (when configured) PostgreSQL.

Every storage test takes the ``db`` fixture and so runs on SQLite, and again on PostgreSQL when
``PORTFEIL_TEST_DATABASE_URL`` is set (CI sets it to the local server).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings as hypothesis_settings

from portfeil.clock import FrozenClock
from portfeil.context import AppContext
from portfeil.db import Base, Database, import_all_models, migrate_sync
from portfeil.settings import Settings

import_all_models()

# Fuzz tests (hypothesis): locally every run explores new random inputs (and the local example database replays
# what once failed); CI uses the "ci" profile, whose inputs are derived from each test's name, so that a CI run
# is reproducible and a new finding shows up on a developer's machine rather than at landing.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

PG_URL = os.environ.get("PORTFEIL_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.db"
    migrate_sync(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str | None]:
    if not PG_URL:
        yield None
        return
    yield f"t_{uuid.uuid4().hex[:12]}"


async def _pg_database(schema: str) -> Database:
    assert PG_URL
    admin = Database(PG_URL)
    async with admin.engine.begin() as conn:
        exists = (
            await conn.execute(sa.text("SELECT 1 FROM information_schema.schemata WHERE schema_name=:s"), {"s": schema})
        ).first()
        if not exists:
            await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    await admin.dispose()
    return Database(PG_URL, pg_schema=schema)


_PG_MIGRATED: set[str] = set()


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "portfeil.db"
        shutil.copyfile(sqlite_template, path)
        database = Database(f"sqlite+aiosqlite:///{path}")
    else:
        schema = request.getfixturevalue("pg_schema")
        database = await _pg_database(schema)
        if schema not in _PG_MIGRATED:
            import asyncio

            await asyncio.to_thread(migrate_sync, PG_URL or "", schema)
            _PG_MIGRATED.add(schema)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with database.engine.begin() as conn:
            if tables:
                await conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture(scope="session", autouse=True)
def _drop_pg_schemas() -> Iterator[None]:
    yield
    if PG_URL and _PG_MIGRATED:
        import asyncio

        async def drop() -> None:
            admin = Database(PG_URL or "")
            async with admin.engine.begin() as conn:
                for schema in _PG_MIGRATED:
                    await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await admin.dispose()

        asyncio.run(drop())


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", public_url="http://testserver")


@pytest.fixture
def ctx(db: Database, settings: Settings, clock: FrozenClock) -> AppContext:
    return AppContext(settings=settings, db=db, clock=clock)


# --- the command line, in-process ------------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A scratch folder for CLI tests; the CLI's data directory (embedded SQLite, keystore) is ``data_dir/"data"``."""
    from portfeil.settings import get_settings

    monkeypatch.setenv("PORTFEIL_DATA_DIR", str(tmp_path / "data"))
    for name in ("PORTFEIL_DATABASE_URL", "PORTFEIL_PUBLIC_URL", "PORTFEIL_EID_P12_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def invoke(*args: str) -> tuple[int, str]:
    """``portfeil ARGS`` in-process: (exit code, standard output)."""
    from typer.testing import CliRunner

    from portfeil.cli import app

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout
