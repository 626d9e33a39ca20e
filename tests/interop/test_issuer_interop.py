"""The independent ``@openid4vc/openid4vci`` 0.4.6 wallet (TypeScript, SPECS.md §7) obtains BOTH PID formats from
portfeil's PID provider through the pre-authorized code flow (tx_code, DPoP with server nonces, fresh c_nonce per
request, JWT proofs) against a live server; we then verify what it received against the trust registry."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from portfeil.context import AppContext
from portfeil.db import Database, migrate_sync
from portfeil.formats.mdoc import MdocVerifier
from portfeil.formats.sdjwt import verify_sd_jwt_vc
from portfeil.issuer.flows import PidIssuer
from portfeil.pki.roles import Role
from portfeil.settings import Settings
from portfeil.sources.seed import seed_demo_persons
from portfeil.trust.registry import TrustRegistry
from tests.browser.conftest import LiveServer, _free_port

pytestmark = pytest.mark.interop

NODE_DIR = Path(__file__).resolve().parent / "node"
DRIVER = NODE_DIR / "issuer_preauth.mjs"
IVAN = "8506258485"


def _node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node runtime missing: install Node 20 to run the OpenID4VCI interop test")
    if not (NODE_DIR / "node_modules" / "@openid4vc" / "openid4vci").is_dir():
        pytest.skip("node_modules missing: run `npm install` in tests/interop/node (@openid4vc/openid4vci 0.4.6)")
    return node


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    port = _free_port()
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'live.db'}"
    migrate_sync(db_url)
    # localhost, not 127.0.0.1: OpenID4VCI allows http only on localhost
    settings = Settings(data_dir=tmp_path / "data", port=port, public_url=f"http://localhost:{port}")
    server = LiveServer(AppContext(settings=settings, db=Database(db_url)), port)
    server.start()
    yield server
    server.stop()


def _run_in_server_loop(live: LiveServer, coro_fn):  # type: ignore[no-untyped-def]
    """Run setup code against the live server's context from this thread (its own event loop and engine)."""
    ctx = AppContext(settings=live.ctx.settings, db=Database(live.ctx.db.url), clock=live.ctx.clock)

    async def go():  # type: ignore[no-untyped-def]
        try:
            return await coro_fn(ctx)
        finally:
            await ctx.db.dispose()

    return asyncio.run(go())


def test_openid4vci_client_obtains_both_formats(live: LiveServer) -> None:
    node = _node_or_skip()

    async def make_offer(ctx: AppContext) -> dict[str, object]:
        await seed_demo_persons(ctx.db, clock=ctx.clock)
        issuer = await PidIssuer.of(ctx)
        return (await issuer.create_offer(IVAN, ["pid_sd_jwt", "pid_mdoc"])).to_dict()

    offer = _run_in_server_loop(live, make_offer)
    proc = subprocess.run([node, str(DRIVER)], input=json.dumps({"offer_uri": offer["credential_offer_uri"],
                                                                  "tx_code": offer["tx_code"]}),
                          capture_output=True, text=True, timeout=120, cwd=NODE_DIR, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert out["version"] == "V1"  # classified as OpenID4VCI 1.0 (credential_metadata present)
    assert out["token_type"] == "DPoP"

    async def verify(ctx: AppContext) -> None:
        registry = await TrustRegistry.of(ctx)
        now = ctx.clock.now()
        (sd,) = out["credentials"]["pid_sd_jwt"]
        v = verify_sd_jwt_vc(sd, now=now, trust=await registry.validator(Role.PID_PROVIDER),
                             vct="urn:eudi:pid:1", require_key_binding=False)
        assert v.claims["personal_administrative_number"] == IVAN
        assert v.cnf is not None
        (md,) = out["credentials"]["pid_mdoc"]
        vm = MdocVerifier(await registry.validator(Role.IACA)).verify_issuer_signed(
            md, now=now, doctype="eu.europa.ec.eudi.pid.1")
        assert vm.namespaces["eu.europa.ec.eudi.pid.1"]["family_name"] == "Иванов"

    _run_in_server_loop(live, verify)
