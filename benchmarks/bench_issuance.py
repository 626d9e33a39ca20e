"""Complete pre-authorized PID issuances per second over HTTP against a running server (issue 6, "Speed").

One issuance = token request (pre-authorized code + tx_code, DPoP with server nonce) + nonce request + credential
request (one JWT proof, DPoP, SD-JWT VC PID with ~30 disclosures, status-list index), i.e. three HTTP round trips
(plus one DPoP nonce challenge per client connection), as a wallet does it. The server is ``portfeil serve
--workers N`` in a subprocess on a scratch PostgreSQL database when reachable (created and dropped), else SQLite
(said so). Client and server share this machine (2 cores): the client's own signing (two DPoP proofs and one key
proof per issuance) is part of the load. The run also reports the CPU milliseconds per issuance of the server
processes, of PostgreSQL and of this client.

Baseline in the same run: raw ES256 signatures per second with ``cryptography`` on one core.

    .venv/bin/python benchmarks/bench_issuance.py [--issuances 3000] [--concurrency 32] [--workers 2]
                                                  [--config pid_sd_jwt] [--sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _http import Cpu, Server, call, drop_database, free_port, latency_ms, scratch_database, session

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
    """One wallet connection's worth of state: the server's latest DPoP nonce."""

    def __init__(self, http: Any, base: str) -> None:
        from portfeil.pki.keys import generate_private_key

        self.http = http
        self.base = base
        self.issuer = base + "/issuer"
        self.dpop_nonce: str | None = None
        self.gen = generate_private_key

    async def _post(self, path: str, *, key: Any, token: str | None = None, **kw: Any) -> tuple[int, bytes]:
        from portfeil.clock import SYSTEM_CLOCK
        from portfeil.protocols.dpop import create_dpop_proof

        for _ in range(3):
            headers = dict(kw.get("headers") or {})
            headers["DPoP"] = create_dpop_proof(key, htm="POST", htu=self.base + path, now=SYSTEM_CLOCK.now(),
                                                access_token=token, nonce=self.dpop_nonce)
            if token:
                headers["Authorization"] = f"DPoP {token}"
            status, resp_headers, body = await call(self.http, "POST", path, **{**kw, "headers": headers})
            self.dpop_nonce = resp_headers.get("DPoP-Nonce", self.dpop_nonce)
            if status in (400, 401) and b"use_dpop_nonce" in body:
                continue
            return status, body
        return status, body

    async def issue(self, offer: dict[str, Any], config: str) -> None:
        from portfeil.clock import SYSTEM_CLOCK
        from portfeil.protocols.oid4vci import create_proof_jwt

        offer_obj = json.loads(parse_qs(urlsplit(offer["credential_offer_uri"]).query)["credential_offer"][0])
        code = offer_obj["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
        dpop_key = self.gen()
        form = urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
                          "pre-authorized_code": code, "tx_code": offer["tx_code"]})
        status, body = await self._post("/issuer/token", key=dpop_key, data=form,
                                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        if status != 200:
            raise RuntimeError(f"token request failed: {status} {body[:200]!r}")
        token = json.loads(body)["access_token"]
        status, _, body = await call(self.http, "POST", "/issuer/nonce")
        if status != 200:
            raise RuntimeError(f"nonce request failed: {status} {body[:200]!r}")
        nonce = json.loads(body)["c_nonce"]
        holder = self.gen()
        proof = create_proof_jwt(holder, audience=self.issuer, now=SYSTEM_CLOCK.now(), nonce=nonce)
        status, body = await self._post("/issuer/credential", key=dpop_key, token=token,
                                        json={"credential_configuration_id": config, "proofs": {"jwt": [proof]}})
        if status != 200:
            raise RuntimeError(f"credential request failed: {status} {body[:200]!r}")


async def run(args: argparse.Namespace) -> None:
    baseline = es256_signs_per_second()
    tmp = Path(tempfile.mkdtemp(prefix="bench-issuance-"))
    url, pg_name = await scratch_database("bench_issuance", sqlite_dir=tmp, want_pg=not args.sqlite)
    backend = "PostgreSQL" if pg_name else ("SQLite (asked)" if args.sqlite else "SQLite (PostgreSQL not reachable)")
    port = free_port()
    base = f"http://localhost:{port}"
    env = {**os.environ, "PORTFEIL_DATA_DIR": str(tmp / "data"), "PORTFEIL_DATABASE_URL": url,
           "PORTFEIL_PUBLIC_URL": base, "PORTFEIL_LOG_LEVEL": "WARNING", "PORTFEIL_PORT": str(port)}
    total = args.issuances + args.warmup
    t0 = time.perf_counter()
    offers = await prepare(env, total, args.config)
    print(f"prepared {total} offers in {time.perf_counter() - t0:.1f}s on {backend}")
    server = Server(env, port, args.workers, tmp / "server.log")
    try:
        async with session(args.concurrency, f"http://127.0.0.1:{port}") as http:
            await server.wait_ready(http, args.workers)
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
            cpu = Cpu(server)
            cpu.start()
            start = time.perf_counter()
            await asyncio.gather(*(worker(None) for _ in range(args.concurrency)))
            elapsed = time.perf_counter() - start
            cpu.stop()
    finally:
        server.stop()
        await drop_database(pg_name)
    n = len(latencies)
    rate = n / elapsed
    p50, p99 = latency_ms(latencies)
    per = cpu.per(n)
    print(f"backend            {backend}, {args.workers} server processes")
    print(f"configuration      {args.config}, concurrency {args.concurrency}, {n} issuances in {elapsed:.1f} s")
    print(f"issuances/s        {rate:,.0f}   (target {TARGET:.0f}: {'met' if rate >= TARGET else 'NOT met'})")
    print(f"latency p50 / p99  {p50:.1f} ms / {p99:.1f} ms (token + nonce + credential)")
    print(f"CPU per issuance   server {per['server']:.2f} ms, PostgreSQL {per['postgres']:.2f} ms, "
          f"client {per['client']:.2f} ms (machine: {os.cpu_count()} cores)")
    print(f"ES256 signs/s      {baseline:,.0f}   (raw cryptography, one core, same run)")
    print(f"ratio              {rate / baseline:.4f} issuances per raw signature-second "
          f"(each issuance costs 4 ES256 signatures: 2 DPoP + 1 proof on the client, 1 credential on the server)")


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--issuances", type=int, default=3000)
    p.add_argument("--warmup", type=int, default=64)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--workers", type=int, default=2, help="server processes (portfeil serve --workers)")
    p.add_argument("--config", default="pid_sd_jwt")
    p.add_argument("--sqlite", action="store_true", help="use SQLite even if PostgreSQL is reachable")
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
