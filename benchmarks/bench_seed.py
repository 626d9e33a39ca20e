"""Population seed throughput: persons per second and bytes per person on disk, SQLite and PostgreSQL.

    .venv/bin/python benchmarks/bench_seed.py                      # 100k persons on SQLite and PostgreSQL
    .venv/bin/python benchmarks/bench_seed.py --persons 1000000 --only postgresql

Baselines measured in the same run, so the ratios survive a noisy shared machine:
- "generate": the generator alone (no database), persons/s;
- "raw rows": the same driver path writing narrow rows (uuid text, ten digits) into a scratch table: rows/s
  (asyncpg COPY on PostgreSQL, executemany on SQLite). One person is about four rows (person, addresses,
  documents, relations), so persons/s x 4 / raw rows/s says how close the seed is to the bare driver.
PostgreSQL runs in a scratch schema that is dropped afterwards; set PORTFEIL_BENCH_PG_URL to choose the server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from portfeil.clock import FrozenClock
from portfeil.db import Database, alembic_config
from portfeil.sources.seed import PopulationGenerator, random_ids, seed_population

CLK_TCK = os.sysconf("SC_CLK_TCK")


def backend_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by PostgreSQL backends on this machine (0 if not local)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


PG_URL = os.environ.get("PORTFEIL_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
SCHEMA = "bench_seed"


def migrate(url: str, schema: str | None = None) -> None:
    for branch in ("core@head", "population@head"):
        command.upgrade(alembic_config(url, schema), branch)


def bench_generate(n: int) -> float:
    gen = PopulationGenerator(1, FrozenClock().now())
    start = time.perf_counter()
    for _ in gen.chunks(n, 10_000):
        pass
    return n / (time.perf_counter() - start)


async def raw_rows_per_second(db: Database, n: int) -> float:
    rows = [(i, f"{k:010d}") for k, i in enumerate(random_ids(n))]
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql("CREATE TABLE bench_raw (id VARCHAR(36) PRIMARY KEY, n VARCHAR(10) UNIQUE)")
    start = time.perf_counter()
    for i in range(0, n, 10_000):
        async with db.engine.begin() as conn:
            if db.dialect == "sqlite":
                await conn.exec_driver_sql("INSERT INTO bench_raw (id, n) VALUES (?, ?)", rows[i : i + 10_000])
            else:
                raw = await conn.get_raw_connection()
                assert raw.driver_connection is not None
                await raw.driver_connection.copy_records_to_table("bench_raw", records=rows[i : i + 10_000])
    elapsed = time.perf_counter() - start
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql("DROP TABLE bench_raw")
    return n / elapsed


async def run_sqlite(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        url = f"sqlite+aiosqlite:///{path}"
        await asyncio.to_thread(migrate, url)
        db = Database(url)
        raw = await raw_rows_per_second(db, min(n, 200_000))
        cpu = time.process_time()
        result = await seed_population(db, n, clock=FrozenClock(), seed=1)
        cpu = time.process_time() - cpu
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        await db.dispose()
        size = path.stat().st_size
    return {"persons_per_s": result.persons_per_second, "seconds": result.seconds, "raw_rows_per_s": raw,
            "bytes_per_person": size / n, "rows": result.persons + result.addresses + result.documents
            + result.relations, "client_cpu": cpu, "server_cpu": 0.0}


async def run_postgres(n: int) -> dict[str, float] | None:
    admin = Database(PG_URL)
    try:
        async with admin.engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
            await conn.execute(sa.text(f'CREATE SCHEMA "{SCHEMA}"'))
    except Exception as exc:  # noqa: BLE001 - no server: report and skip
        print(f"PostgreSQL not reachable ({type(exc).__name__}): skipped")
        await admin.dispose()
        return None
    try:
        await asyncio.to_thread(migrate, PG_URL, SCHEMA)
        db = Database(
            PG_URL, pg_schema=SCHEMA, connect_args={"server_settings": {"application_name": "bench_seed"}}
        )
        raw = await raw_rows_per_second(db, min(n, 200_000))
        pids_sql = sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = 'bench_seed'")
        async with db.engine.connect() as conn:
            before = backend_cpu(list((await conn.execute(pids_sql)).scalars()))
        cpu = time.process_time()
        result = await seed_population(db, n, clock=FrozenClock(), seed=1)
        cpu = time.process_time() - cpu
        async with db.engine.connect() as conn:
            server_cpu = backend_cpu(list((await conn.execute(pids_sql)).scalars())) - before
        async with db.engine.connect() as conn:
            size = (
                await conn.execute(
                    sa.text(
                        "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace s "
                        "ON s.oid = c.relnamespace WHERE s.nspname = :s AND c.relkind = 'r' "
                        "AND c.relname LIKE 'pop\\_%'"
                    ),
                    {"s": SCHEMA},
                )
            ).scalar_one()
        await db.dispose()
        return {"persons_per_s": result.persons_per_second, "seconds": result.seconds, "raw_rows_per_s": raw,
                "bytes_per_person": int(size) / n, "rows": result.persons + result.addresses + result.documents
                + result.relations, "client_cpu": cpu, "server_cpu": server_cpu}
    finally:
        async with admin.engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        await admin.dispose()


def report(name: str, r: dict[str, float], n: int, generate: float) -> None:
    rows_per_person = r["rows"] / n
    rows_per_s = r["persons_per_s"] * rows_per_person
    print(
        f"{name:<10} {n:>9,} persons in {r['seconds']:7.1f} s = {r['persons_per_s']:9,.0f} persons/s "
        f"({r['persons_per_s'] / generate:4.2f}x the generator alone); "
        f"{rows_per_s:9,.0f} rows/s = {rows_per_s / r['raw_rows_per_s']:4.2f}x "
        f"raw narrow rows ({r['raw_rows_per_s']:,.0f}/s); {r['bytes_per_person']:,.0f} bytes/person on disk"
    )
    print(
        f"{'':<10} CPU: client {r['client_cpu']:.1f} s ({r['client_cpu'] / n * 1e6:.0f} µs/person)"
        + (f", PostgreSQL backends {r['server_cpu']:.1f} s ({r['server_cpu'] / n * 1e6:.0f} µs/person)"
           if r["server_cpu"] else "")
        + f"; wall {r['seconds']:.1f} s"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    n = args.persons
    generate = bench_generate(min(n, 100_000))
    print(f"generator alone: {generate:,.0f} persons/s (load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cpus)")
    if args.only in (None, "sqlite"):
        report("SQLite", await run_sqlite(n), n, generate)
    if args.only in (None, "postgresql"):
        pg = await run_postgres(n)
        if pg is not None:
            report("PostgreSQL", pg, n, generate)


if __name__ == "__main__":
    asyncio.run(main())
