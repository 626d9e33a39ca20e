"""Complete OpenID4VP presentations per second over HTTP against a running verifier (uvicorn subprocess).

One complete presentation = create a transaction with the REST API (API key, template ``pid-basic``), fetch the
signed request object by reference, post an SD-JWT VC + KB-JWT presentation to ``response_uri`` (the server
verifies the issuer signature through the trust registry chain, the KB-JWT, the status list entry (cached),
DCQL and minimisation), read the result. Reported: presentations/s, p50/p99 latency of the whole sequence, and
the raw ES256 verify rate of ``cryptography`` measured in the same run (the server does 2 ES256 verifies + 1
ES256 sign per presentation, plus ECDH/AES-GCM in ``direct_post.jwt`` mode).

Usage: ``.venv/bin/python benchmarks/bench_presentation.py [seconds=20] [concurrency=32] [workers=2]
[mode=direct_post] [qr|noqr]`` (``noqr``: transactions are created with ``"qr": false``, as a same-device
integration would). The server is ``portfeil serve --workers N`` on a scratch PostgreSQL database when reachable
(created and dropped), else SQLite. The load generator (aiohttp) runs in this process and competes with the server
for the machine's cores; it does not verify the request object's signature (a real wallet would). The run also
reports the CPU milliseconds per presentation of the server processes, of PostgreSQL and of this client.
"""

from __future__ import annotations

import asyncio
import base64
import http.server
import json
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _http import Cpu, Server, call, drop_database, free_port, latency_ms, scratch_database, session


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


def _b64json(part: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return out


async def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 32
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    mode = sys.argv[4] if len(sys.argv) > 4 else "direct_post"
    with_qr = (sys.argv[5] if len(sys.argv) > 5 else "qr") != "noqr"
    from urllib.parse import urlencode

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
    db_url, pg_name = await scratch_database("bench_presentation", sqlite_dir=tmp)
    port, status_port = free_port(), free_port()
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
               PORTFEIL_PUBLIC_URL=public, PORTFEIL_LOG_LEVEL="WARNING")
    server = Server(env, port, workers, tmp / "server.log")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    try:
        async with session(concurrency, f"http://127.0.0.1:{port}") as client:
            await server.wait_ready(client, workers)
            headers = {"Authorization": f"Bearer {api_key}"}
            latencies: list[float] = []
            failures: list[str] = []

            async def one() -> None:
                t0 = time.perf_counter()
                _, _, body = await call(client, "POST", "/verifier/api/v1/transactions", headers=headers,
                                        json={"template": "pid-basic", "response_mode": mode, "qr": with_qr})
                tx = json.loads(body)
                path = tx["request_uri"].split(str(port), 1)[1]
                _, _, ro = await call(client, "GET", path)
                req = _b64json(ro.decode().split(".")[1])
                vp = present(credential, paths, holder_key=holder, aud=req["client_id"], nonce=req["nonce"],
                             now=datetime.now(UTC))
                params = {"vp_token": json.dumps({"pid": [vp]}), "state": req["state"]}
                if mode == "direct_post.jwt":
                    jwk = req["client_metadata"]["jwks"]["keys"][0]
                    plain = json.dumps({"vp_token": {"pid": [vp]}, "state": req["state"]}).encode()
                    params = {"response": encrypt(plain, jwk, enc="A128GCM")}
                resp_path = req["response_uri"].split(str(port), 1)[1]
                status, _, _ = await call(client, "POST", resp_path, data=urlencode(params), headers=form)
                _, _, body = await call(client, "GET", f"/verifier/api/v1/transactions/{tx['id']}", headers=headers)
                res = json.loads(body)
                if status != 200 or res["status"] != "verified":
                    failures.append(res.get("status", str(status)))
                latencies.append(time.perf_counter() - t0)

            for _ in range(3):  # warm up (status list fetch, caches, connection pools)
                await one()
            latencies.clear()
            failures.clear()
            deadline = time.perf_counter() + seconds
            cpu = Cpu(server)
            cpu.start()
            started = time.perf_counter()

            async def worker() -> None:
                while time.perf_counter() < deadline:
                    await one()

            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
            cpu.stop()
    finally:
        server.stop()
        status_server.shutdown()
        await drop_database(pg_name)
    baseline = raw_es256_verify_rate()
    n = len(latencies)
    rate = n / elapsed
    p50, p99 = latency_ms(latencies)
    per = cpu.per(n)
    print(f"database: {'PostgreSQL' if pg_name else 'SQLite'}; mode {mode}; "
          f"{workers} server processes; concurrency {concurrency}; {seconds:.0f} s; "
          f"{'with' if with_qr else 'without'} QR code")
    print(f"complete presentations: {n} in {elapsed:.1f} s = {rate:.0f}/s (failed: {len(failures)})")
    print(f"latency p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    print(f"CPU per presentation: server {per['server']:.2f} ms, PostgreSQL {per['postgres']:.2f} ms, "
          f"client {per['client']:.2f} ms (machine: {os.cpu_count()} cores)")
    print(f"raw ES256 verify (cryptography, one core, same run): {baseline:.0f}/s; "
          f"presentations/s = {rate / baseline:.4f} x raw verify")


if __name__ == "__main__":
    asyncio.run(main())
