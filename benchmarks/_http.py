"""Shared parts of the HTTP throughput benchmarks (issuance, presentation).

* a scratch PostgreSQL database (SQLite when PostgreSQL is unreachable),
* ``portfeil serve --workers N`` in a subprocess, waited for on ``/health``,
* an aiohttp client: httpx caps at ~500 requests/s on this machine and slows down as concurrency grows (measured
  2026-11-23: 180 requests/s at 32 connections against a hello-world endpoint that served 4,300/s to a raw
  asyncio client), so it measured the load generator instead of the server,
* CPU seconds of the server's process tree, of PostgreSQL and of this process, so that a run says where each
  flow's CPU went, which depends much less on the machine's load than latency does.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("PORTFEIL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def scratch_database(prefix: str, *, sqlite_dir: Path, want_pg: bool = True) -> tuple[str, str | None]:
    """(SQLAlchemy URL, PostgreSQL database name or None). A fresh PostgreSQL database when reachable."""
    if want_pg:
        try:
            import asyncpg

            conn = await asyncpg.connect(PG_ADMIN, timeout=3)
        except Exception:  # noqa: BLE001 - any failure means: no PostgreSQL here
            conn = None
        if conn is not None:
            name = f"{prefix}_{uuid.uuid4().hex[:8]}"
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()
            base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
            return f"{base}/{name}", name
    return f"sqlite+aiosqlite:///{sqlite_dir / 'bench.db'}", None


async def drop_database(name: str | None) -> None:
    if name is None:
        return
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN, timeout=3)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


class Server:
    """``portfeil serve`` with N worker processes on a free port, environment from ``env``."""

    def __init__(self, env: dict[str, str], port: int, workers: int, log: Path) -> None:
        self.port = port
        self.log = log
        command = [sys.executable, "-m", "portfeil.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                   "--workers", str(workers), "--no-worker"]
        if os.environ.get("BENCH_SERVER_SCRIPT"):  # e.g. a profiling wrapper: `python SCRIPT PORT` (one process)
            command = [sys.executable, os.environ["BENCH_SERVER_SCRIPT"], str(port)]
            env = {**env, "PORTFEIL_SERVE_OUTBOX": "0"}
        self.proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log.open("wb"))

    async def wait_ready(self, session: aiohttp.ClientSession, workers: int, wait_s: float = 180) -> None:
        """Until every worker has answered ``/health`` (new connections spread over the processes)."""
        seen: set[int] = set()
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                async with session.get(f"http://127.0.0.1:{self.port}/health",
                                       headers={"Connection": "close"}) as r:
                    if r.status == 200:
                        seen.add((await r.json())["pid"])
                        if len(seen) >= workers:
                            return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
        raise RuntimeError(f"server not ready after {wait_s:.0f} s: {self.log.read_text()[-2000:]}")

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _proc_table() -> tuple[dict[int, int], dict[int, float], dict[int, str]]:
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        name, rest = raw.split(" (", 1)[1].rsplit(")", 1)
        fields = rest.split()
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / tick
        names[pid] = name
    return parents, cpu, names


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of process ``root`` and its live descendants (Linux ``/proc``; 0 elsewhere)."""
    parents, cpu, _ = _proc_table()
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        tree.add(pid)
        todo.extend(c for c, pp in parents.items() if pp == pid and c not in tree)
    return sum(cpu.get(p, 0.0) for p in tree)


def postgres_cpu_seconds() -> float:
    """CPU seconds of every live ``postgres`` process (the local server's backends; 0 if none are visible).
    Backends that exit during the run take their CPU with them, so this is a lower bound."""
    _, cpu, names = _proc_table()
    return sum(cpu[p] for p, n in names.items() if n in ("postgres", "postmaster"))


@dataclass
class Cpu:
    """CPU seconds spent, between :meth:`start` and :meth:`stop`, by the server, PostgreSQL and this client."""

    server: Server
    s0: float = 0.0
    p0: float = 0.0
    c0: float = 0.0
    server_s: float = 0.0
    pg_s: float = 0.0
    client_s: float = 0.0

    def start(self) -> None:
        self.s0, self.p0, self.c0 = self.server.cpu_seconds(), postgres_cpu_seconds(), time.process_time()

    def stop(self) -> None:
        self.server_s = self.server.cpu_seconds() - self.s0
        self.pg_s = postgres_cpu_seconds() - self.p0
        self.client_s = time.process_time() - self.c0

    def per(self, n: int) -> dict[str, float]:
        """Milliseconds of CPU per unit of work."""
        n = max(n, 1)
        return {"server": 1000 * self.server_s / n, "postgres": 1000 * self.pg_s / n,
                "client": 1000 * self.client_s / n}


def latency_ms(latencies: list[float]) -> tuple[float, float]:
    lat = sorted(latencies)
    if not lat:
        return 0.0, 0.0
    return 1000 * statistics.median(lat), 1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))]


def session(concurrency: int, base: str) -> aiohttp.ClientSession:
    """A keep-alive client session with one connection per concurrent flow."""
    return aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency),
                                 timeout=aiohttp.ClientTimeout(total=120))


async def call(http: aiohttp.ClientSession, method: str, path: str, **kw: Any) -> tuple[int, Mapping[str, str], bytes]:
    """(status, headers with case-insensitive names, body)."""
    async with http.request(method, path, **kw) as r:
        return r.status, r.headers.copy(), await r.read()
