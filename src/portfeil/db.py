"""Storage: SQLAlchemy 2 (async) on an embedded SQLite file by default, PostgreSQL in production.

Each service owns its tables (Art. 5a(14): logically separate personal data) and its own Alembic branch under
``portfeil/migrations/versions/<service>/``; ``migrate()`` applies every branch (``upgrade heads``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, TypeDecorator, event, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table; one metadata so Alembic sees them all."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def new_id() -> str:
    """A random identifier (UUID4 text): reveals no order and no content."""
    return str(uuid.uuid4())


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, pg_schema: str | None = None, **kwargs: Any) -> AsyncEngine:
    """An async engine; ``pg_schema`` puts a PostgreSQL connection in that schema (used by tests for isolation)."""
    if is_sqlite(url):
        engine = create_async_engine(url, poolclass=NullPool, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    if pg_schema:
        kwargs.setdefault("connect_args", {}).setdefault("server_settings", {})["search_path"] = pg_schema
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    # No pool_pre_ping: it costs a round trip per checkout; asyncpg errors on dead connections surface anyway
    # and the pool discards them (pool_recycle bounds their age).
    kwargs.setdefault("pool_recycle", 1800)
    return create_async_engine(url, **kwargs)


class Database:
    """An engine plus a session factory. ``async with db.transaction() as s:`` commits or rolls back as a whole."""

    def __init__(self, url: str, *, pg_schema: str | None = None, **engine_kwargs: Any) -> None:
        self.url = url
        self.pg_schema = pg_schema
        self.engine = make_engine(url, pg_schema=pg_schema, **engine_kwargs)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Same pool, no BEGIN/COMMIT around statements: see session().
        self._autocommit = async_sessionmaker(self.engine.execution_options(isolation_level="AUTOCOMMIT"),
                                              expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in which every statement commits on its own: one round trip per statement instead of
        BEGIN + statement + COMMIT/ROLLBACK. For reads (PostgreSQL's default READ COMMITTED gives each statement
        its own snapshot inside a transaction too) and for writes that are one statement. Never for several
        writes that must stand or fall together: :meth:`transaction` is for those."""
        async with self._autocommit() as session:
            yield session

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection in autocommit: for hot paths that run single statements built with Core (no ORM unit of
        work, identity map or session: less than half the CPU per statement)."""
        async with self.engine.connect() as conn:
            yield await conn.execution_options(isolation_level="AUTOCOMMIT")

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection whose statements commit (or roll back) together: :meth:`transaction` without the ORM."""
        async with self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose statements commit (or roll back) together when the block ends."""
        async with self.sessions() as session, session.begin():
            yield session

    async def ping(self) -> bool:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()


def import_all_models() -> None:
    """Import every ``portfeil.<area>.models`` module (and the core outbox) so the metadata knows all tables."""
    import importlib
    import pkgutil

    import portfeil

    importlib.import_module("portfeil.outbox")
    for info in pkgutil.walk_packages(portfeil.__path__, "portfeil."):
        if info.name.endswith(".models"):
            importlib.import_module(info.name)


def alembic_config(url: str, pg_schema: str | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.attributes["pg_schema"] = pg_schema
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    versions = sorted(str(p) for p in (MIGRATIONS_DIR / "versions").iterdir() if p.is_dir() and p.name != "__pycache__")
    cfg.set_main_option("version_locations", " ".join(versions))
    cfg.set_main_option("path_separator", "space")
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate_sync(url: str, pg_schema: str | None = None) -> None:
    """Apply every service's migrations (``alembic upgrade heads``)."""
    from alembic import command

    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url, pg_schema), "heads")


async def migrate(url: str, pg_schema: str | None = None) -> None:
    await asyncio.to_thread(migrate_sync, url, pg_schema)


def expected_heads(url: str) -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config(url)).get_heads())


async def applied_revisions(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        try:
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
        except Exception:  # noqa: BLE001 - table missing means nothing applied
            return set()
        return {r[0] for r in rows}


async def is_migrated(db: Database) -> bool:
    return expected_heads(db.url) <= await applied_revisions(db)
