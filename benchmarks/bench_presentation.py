"""Complete OpenID4VP presentations per second over HTTP against a running verifier (uvicorn subprocess).

One complete presentation = create a transaction with the REST API (API key, template ``pid-basic``), fetch the
signed request object by reference, post an SD-JWT VC + KB-JWT presentation to ``response_uri`` (the server
verifies the issuer signature through the trust registry chain, the KB-JWT, the status list entry (cached),
DCQL and minimisation), read the result. Reported: presentations/s, p50/p99 latency of the whole sequence, and
the raw ES256 verify rate of ``cryptography`` measured in the same run (the server does 2 ES256 verifies + 1
ES256 sign per presentation, plus ECDH/AES-GCM in ``direct_post.jwt`` mode).

Usage: ``.venv/bin/python benchmarks/bench_presentation.py [seconds=20] [concurrency=32] [workers=2]
[mode=direct_post] [qr|noqr]`` (``noqr``: transactions are created with ``"qr": false``, as a same-device
integration would). Uses PostgreSQL at ``postgresql+asyncpg://postgres@127.0.0.1:5432/bench_presentation`` when
reachable (the database is created), else SQLite. The load generator runs in this process and competes with
the server for the machine's cores; it does not verify the request object's signature (a real wallet would).
"""

from __future__ import annotations

import asyncio
import base64
import http.server
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_presentation"


def make_app() -> Any:
    """uvicorn factory for the server subprocess (settings from PORTFEIL_* variables)."""
    from portfeil.app import create_app
    from portfeil.context import make_context
    from portfeil.settings import get_settings

    return create_app(make_context(get_settings()), service=None, run_worker=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _database() -> str:
    try:
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN, timeout=3)
        try:
            await conn.execute("DROP DATABASE IF EXISTS bench_presentation")
            await conn.execute("CREATE DATABASE bench_presentation")
        finally:
            await conn.close()
        return PG_URL
    except Exception:  # noqa: BLE001 - no PostgreSQL: fall back to SQLite
        return ""


def raw_es256_verify_rate(seconds: float = 1.0) -> float:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    data = b"x" * 200
    sig = key.sign(data, ec.ECDSA(hashes.SHA256()))
    pub = key.public_key()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(200):
            pub.verify(sig, data, ec.ECDSA(hashes.SHA256()))
        n += 200
    return n / (time.perf_counter() - t0)


def _tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of process ``root`` and its descendants (Linux ``/proc``; 0 elsewhere): the
    server's CPU per presentation does not depend on how loaded the machine is, unlike latency."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        tree.add(pid)
        todo.extend(c for c, pp in parents.items() if pp == pid and c not in tree)
    return sum(cpu.get(p, 0.0) for p in tree)


def _b64json(part: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return out


async def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    mode = sys.argv[4] if len(sys.argv) > 4 else "direct_post"
    with_qr = (sys.argv[5] if len(sys.argv) > 5 else "qr") != "noqr"
    import httpx

    from portfeil.context import AppContext
    from portfeil.db import Database, migrate
    from portfeil.formats.sdjwt import StatusReference, issue_sd_jwt_vc, present
    from portfeil.formats.status_list import StatusList, issue_status_list_jwt
    from portfeil.pki.keys import generate_private_key, public_jwk
    from portfeil.protocols.jwe import encrypt
    from portfeil.settings import Settings
    from portfeil.trust.registry import TrustRegistry
    from portfeil.verifier.transactions import Verifier

    tmp = Path(tempfile.mkdtemp(prefix="bench-presentation-"))
    db_url = await _database() or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    port, status_port = _free_port(), _free_port()
    public = f"http://localhost:{port}"
    settings = Settings(data_dir=tmp / "data", port=port, public_url=public, database_url=db_url)
    await migrate(db_url)
    ctx = AppContext(settings=settings, db=Database(db_url))
    registry = await TrustRegistry.of(ctx)
    pid_key = generate_private_key("ES256")
    chain = await registry.issue_pid_provider_certificate(pid_key.public_key(), uri=f"{public}/issuer")
    _party, api_key = await (await Verifier.of(ctx)).register_party(name="Бенчмарк ЕООД", eik="175074752")
    await ctx.db.dispose()
    status_uri = f"http://127.0.0.1:{status_port}/status"
    now = datetime.now(UTC)
    sl_token = issue_status_list_jwt(StatusList(1024, 2), uri=status_uri, key=pid_key, now=now, ttl=3600,
                                     x5c=chain).encode()

    class StatusHandler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/statuslist+jwt")
            self.send_header("Content-Length", str(len(sl_token)))
            self.end_headers()
            self.wfile.write(sl_token)

        def log_message(self, *args: Any) -> None:
            return

    status_server = http.server.ThreadingHTTPServer(("127.0.0.1", status_port), StatusHandler)
    threading.Thread(target=status_server.serve_forever, daemon=True).start()
    holder = generate_private_key("ES256")
    claims = {"family_name": "Иванова", "given_name": "Мария", "birthdate": "1985-06-25",
              "personal_administrative_number": "8506258485", "nationalities": ["BG"]}
    credential = issue_sd_jwt_vc(claims, issuer_key=pid_key, issuer_chain=chain, vct="urn:eudi:pid:1",
                                 iss=f"{public}/issuer", now=now - timedelta(minutes=1),
                                 expires_in=timedelta(days=1), holder_jwk=public_jwk(holder.public_key()),
                                 status=StatusReference(3, status_uri))
    paths = [("family_name",), ("given_name",), ("birthdate",), ("personal_administrative_number",)]

    env = dict(os.environ, PORTFEIL_DATA_DIR=str(settings.data_dir), PORTFEIL_DATABASE_URL=db_url,
               PORTFEIL_PUBLIC_URL=public, PORTFEIL_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before the measurement
        [sys.executable, "-m", "uvicorn", "benchmarks.bench_presentation:make_app", "--factory", "--host",
         "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"],
        cwd=ROOT, env=env, stderr=open(tmp / "server.log", "wb"))  # noqa: SIM115, ASYNC230
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30,
                                     limits=httpx.Limits(max_connections=concurrency * 2)) as client:
            for _ in range(900):
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"server did not start: {(tmp / 'server.log').read_text()[-2000:]}")
            headers = {"Authorization": f"Bearer {api_key}"}
            latencies: list[float] = []
            failures: list[str] = []

            async def one() -> None:
                t0 = time.perf_counter()
                r = await client.post("/verifier/api/v1/transactions", headers=headers,
                                      json={"template": "pid-basic", "response_mode": mode, "qr": with_qr})
                tx = r.json()
                t1 = time.perf_counter()
                path = tx["request_uri"].split(str(port), 1)[1]
                ro = (await client.get(path)).text
                t1b = time.perf_counter()
                req = _b64json(ro.split(".")[1])
                vp = present(credential, paths, holder_key=holder, aud=req["client_id"], nonce=req["nonce"],
                             now=datetime.now(UTC))
                params = {"vp_token": json.dumps({"pid": [vp]}), "state": req["state"]}
                if mode == "direct_post.jwt":
                    jwk = req["client_metadata"]["jwks"]["keys"][0]
                    plain = json.dumps({"vp_token": {"pid": [vp]}, "state": req["state"]}).encode()
                    params = {"response": encrypt(plain, jwk, enc="A128GCM")}
                resp_path = req["response_uri"].split(str(port), 1)[1]
                t2 = time.perf_counter()
                r = await client.post(resp_path, data=params)
                t3 = time.perf_counter()
                if os.environ.get("BENCH_TRACE"):
                    print(f"create {1000*(t1-t0):.0f} ms, fetch {1000*(t1b-t1):.0f} ms, "
                          f"present {1000*(t2-t1b):.0f} ms, "
                          f"response {1000*(t3-t2):.0f} ms", file=sys.stderr)
                res = (await client.get(f"/verifier/api/v1/transactions/{tx['id']}", headers=headers)).json()
                if r.status_code != 200 or res["status"] != "verified":
                    failures.append(res.get("status", str(r.status_code)))
                latencies.append(time.perf_counter() - t0)

            for _ in range(3):  # warm up (status list fetch, caches, connection pools)
                await one()
            latencies.clear()
            failures.clear()
            deadline = time.perf_counter() + seconds
            started = time.perf_counter()
            cpu0 = _tree_cpu_seconds(server.pid)

            async def worker() -> None:
                while time.perf_counter() < deadline:
                    await one()

            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
            server_cpu = _tree_cpu_seconds(server.pid) - cpu0
    finally:
        server.terminate()
        server.wait(timeout=20)
        status_server.shutdown()
    baseline = raw_es256_verify_rate()
    lat = sorted(latencies)
    rate = len(lat) / elapsed
    print(f"database: {'PostgreSQL' if db_url.startswith('postgresql') else 'SQLite'}; mode {mode}; "
          f"{workers} server workers; concurrency {concurrency}; {seconds:.0f} s; "
          f"{'with' if with_qr else 'without'} QR code")
    print(f"complete presentations: {len(lat)} in {elapsed:.1f} s = {rate:.0f}/s (failed: {len(failures)})")
    print(f"latency p50 {1000 * statistics.median(lat):.0f} ms, p99 {1000 * lat[int(0.99 * (len(lat) - 1))]:.0f} ms")
    per = 1000 * server_cpu / max(len(lat), 1)
    print(f"server CPU per presentation: {per:.1f} ms (= {1000 / per if per else 0:.0f} presentations/s per "
          f"core if the server had the core to itself; database server not counted)")
    print(f"raw ES256 verify (cryptography, one core, same run): {baseline:.0f}/s; "
          f"presentations/s = {rate / baseline:.4f} x raw verify")


if __name__ == "__main__":
    asyncio.run(main())
