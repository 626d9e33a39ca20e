"""Complete pre-authorized PID issuances per second over HTTP against a running server (issue 6, "Speed").

One issuance = token request (pre-authorized code + tx_code, DPoP with server nonce) + nonce request + credential
request (one JWT proof, SD-JWT VC PID with ~30 disclosures, status-list index), i.e. three HTTP round trips, as a
wallet does it. The server is ``portfeil serve`` (uvicorn, one process) in a subprocess on PostgreSQL when
reachable (a scratch database is created and dropped), else on SQLite (said so). Client and server share this
machine (2 cores): the client's own signing (two DPoP proofs and one key proof per issuance) is part of the load.

Baseline in the same run: raw ES256 signatures per second with ``cryptography`` on one core.

    .venv/bin/python benchmarks/bench_issuance.py [--issuances 1000] [--concurrency 32] [--config pid_sd_jwt]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("PORTFEIL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
IVAN = "8506258485"
TARGET = 300.0


def es256_signs_per_second(seconds: float = 1.0) -> float:
    key = ec.generate_private_key(ec.SECP256R1())
    data = b"x" * 200
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            key.sign(data, ec.ECDSA(hashes.SHA256()))
        n += 100
    return n / (time.perf_counter() - start)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def pg_database() -> tuple[str | None, str | None]:
    """Create a scratch database; returns (SQLAlchemy URL, name) or (None, None) when PostgreSQL is unreachable."""
    try:
        import asyncpg
    except ImportError:
        return None, None
    name = f"bench_issuance_{uuid.uuid4().hex[:8]}"
    try:
        conn = await asyncpg.connect(PG_ADMIN, timeout=3)
    except Exception:  # noqa: BLE001 - any failure means: no PostgreSQL here
        return None, None
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN.rsplit("/", 1)[0]
    return base.replace("postgresql://", "postgresql+asyncpg://") + f"/{name}", name


async def drop_pg(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN, timeout=3)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def prepare(env: dict[str, str], n: int, config: str) -> list[dict[str, Any]]:
    """Migrate, seed the demo persons, create the issuer's keys and ``n`` offers (as the desk would)."""
    from portfeil.context import make_context
    from portfeil.db import migrate
    from portfeil.issuer.flows import PidIssuer
    from portfeil.settings import Settings
    from portfeil.sources.seed import seed_demo_persons

    settings = Settings(data_dir=Path(env["PORTFEIL_DATA_DIR"]), database_url=env["PORTFEIL_DATABASE_URL"],
                        public_url=env["PORTFEIL_PUBLIC_URL"])
    await migrate(settings.effective_database_url)
    ctx = make_context(settings)
    try:
        await seed_demo_persons(ctx.db, clock=ctx.clock)
        issuer = await PidIssuer.of(ctx)
        return [(await issuer.create_offer(IVAN, [config])).to_dict() for _ in range(n)]
    finally:
        await ctx.db.dispose()


class Client:
    def __init__(self, http: httpx.AsyncClient, base: str) -> None:
        from portfeil.pki.keys import generate_private_key

        self.http = http
        self.base = base
        self.issuer = base + "/issuer"
        self.dpop_nonce: str | None = None
        self.gen = generate_private_key

    async def _post(self, path: str, *, key: Any, token: str | None = None, **kw: Any) -> httpx.Response:
        from portfeil.clock import SYSTEM_CLOCK
        from portfeil.protocols.dpop import create_dpop_proof

        for _ in range(3):
            headers = dict(kw.pop("headers", {}) or {})
            headers["DPoP"] = create_dpop_proof(key, htm="POST", htu=self.base + path, now=SYSTEM_CLOCK.now(),
                                                access_token=token, nonce=self.dpop_nonce)
            if token:
                headers["Authorization"] = f"DPoP {token}"
            r = await self.http.post(path, headers=headers, **kw)
            self.dpop_nonce = r.headers.get("DPoP-Nonce", self.dpop_nonce)
            if r.status_code in (400, 401) and "use_dpop_nonce" in r.text:
                kw["headers"] = {}
                continue
            return r
        return r

    async def issue(self, offer: dict[str, Any], config: str) -> None:
        import json
        from urllib.parse import parse_qs, urlsplit

        from portfeil.clock import SYSTEM_CLOCK
        from portfeil.protocols.oid4vci import create_proof_jwt

        offer_obj = json.loads(parse_qs(urlsplit(offer["credential_offer_uri"]).query)["credential_offer"][0])
        code = offer_obj["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
        dpop_key = self.gen()
        r = await self._post("/issuer/token", key=dpop_key, data={
            "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code", "pre-authorized_code": code,
            "tx_code": offer["tx_code"]})
        r.raise_for_status()
        token = r.json()["access_token"]
        r = await self.http.post("/issuer/nonce")
        r.raise_for_status()
        nonce = r.json()["c_nonce"]
        holder = self.gen()
        proof = create_proof_jwt(holder, audience=self.issuer, now=SYSTEM_CLOCK.now(), nonce=nonce)
        r = await self._post("/issuer/credential", key=dpop_key, token=token,
                             json={"credential_configuration_id": config, "proofs": {"jwt": [proof]}})
        if r.status_code != 200:
            raise RuntimeError(f"credential request failed: {r.status_code} {r.text[:200]}")


async def run(args: argparse.Namespace) -> None:
    baseline = es256_signs_per_second()
    url, pg_name = (None, None) if args.sqlite else await pg_database()
    tmp = Path(tempfile.mkdtemp(prefix="bench-issuance-"))
    if url is None:
        url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        backend = "SQLite (PostgreSQL not reachable)" if not args.sqlite else "SQLite (asked)"
    else:
        backend = "PostgreSQL"
    port = free_port()
    base = f"http://localhost:{port}"
    env = {**os.environ, "PORTFEIL_DATA_DIR": str(tmp / "data"), "PORTFEIL_DATABASE_URL": url,
           "PORTFEIL_PUBLIC_URL": base, "PORTFEIL_LOG_LEVEL": "WARNING", "PORTFEIL_PORT": str(port)}
    total = args.issuances + args.warmup
    t0 = time.perf_counter()
    offers = await prepare(env, total, args.config)
    print(f"prepared {total} offers in {time.perf_counter() - t0:.1f}s on {backend}")
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before the measured part
        [sys.executable, "-m", "portfeil.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--no-worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
            for _ in range(200):
                try:
                    if (await http.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
            for o in offers:
                queue.put_nowait(o)
            latencies: list[float] = []

            async def worker(count: int | None) -> None:
                c = Client(http, base)
                while not queue.empty() and (count is None or count > 0):
                    o = queue.get_nowait()
                    s = time.perf_counter()
                    await c.issue(o, args.config)
                    latencies.append(time.perf_counter() - s)
                    if count is not None:
                        count -= 1

            await asyncio.gather(*(worker(max(1, args.warmup // args.concurrency)) for _ in range(args.concurrency)))
            latencies.clear()
            start = time.perf_counter()
            await asyncio.gather(*(worker(None) for _ in range(args.concurrency)))
            elapsed = time.perf_counter() - start
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        if pg_name:
            await drop_pg(pg_name)
    n = len(latencies)
    rate = n / elapsed
    lat = sorted(latencies)
    p50 = statistics.median(lat) * 1000
    p99 = lat[min(n - 1, int(n * 0.99))] * 1000
    print(f"backend            {backend}")
    print(f"configuration      {args.config}, concurrency {args.concurrency}, {n} issuances")
    print(f"issuances/s        {rate:,.0f}   (target {TARGET:.0f}: {'met' if rate >= TARGET else 'NOT met'})")
    print(f"latency p50 / p99  {p50:.1f} ms / {p99:.1f} ms (token + nonce + credential)")
    print(f"ES256 signs/s      {baseline:,.0f}   (raw cryptography, one core, same run)")
    print(f"ratio              {rate / baseline:.4f} issuances per raw signature-second "
          f"(each issuance costs 4 ES256 signatures: 2 DPoP + 1 proof on the client, 1 credential on the server)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--issuances", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=64)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--config", default="pid_sd_jwt")
    p.add_argument("--sqlite", action="store_true", help="use SQLite even if PostgreSQL is reachable")
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
