"""Proof by others: the independent ``@openid4vc/openid4vp`` 0.4.6 wallet (SPECS.md §7) resolves our request
objects by reference from a live server, and presents SD-JWT VC (``@sd-jwt/sd-jwt-vc`` 0.19.0) and mdoc
(``@owf/mdoc`` 0.6.0) credentials to this verifier, with both client id prefixes and encrypted responses.

The credentials are issued under the trust registry's PID-provider and IACA anchors (SD-JWT VC by
portfeil.formats, mdoc by @owf/mdoc itself); the server checks them completely (trust, holder binding, status
list through the pluggable fetcher, minimisation) and the result is read back from the database."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from portfeil.context import AppContext
from portfeil.db import Database, migrate_sync
from portfeil.formats.sdjwt import StatusReference, issue_sd_jwt_vc
from portfeil.formats.status_list import StatusList, issue_status_list_jwt
from portfeil.pki.certs import cert_to_der
from portfeil.pki.keys import generate_private_key, private_jwk, public_jwk
from portfeil.settings import Settings
from portfeil.trust.registry import TrustRegistry
from portfeil.verifier.transactions import Verifier
from tests.browser.conftest import LiveServer, _free_port

pytestmark = pytest.mark.interop

NODE_DIR = Path(__file__).resolve().parent / "node"
NS = "eu.europa.ec.eudi.pid.1"
CLAIMS = {"family_name": "Петров", "given_name": "Георги", "birthdate": "2000-02-09",
          "personal_administrative_number": "0042096485", "nationalities": ["BG"]}
FRAME = {"family_name": True, "given_name": True, "birthdate": True, "personal_administrative_number": True}


def _need_node() -> None:
    if shutil.which("node") is None:
        pytest.skip("node runtime missing: install Node 20 to run the verifier interop tests")
    if not (NODE_DIR / "node_modules" / "@openid4vc" / "openid4vp").is_dir():
        pytest.skip("node runtime missing: tests/interop/node/node_modules not installed (npm install)")


@dataclass
class Setup:
    server: LiveServer
    db_url: str
    settings: Settings
    party_id: str
    holder_jwk: dict[str, str]
    sd_jwt: str
    ds_jwk: dict[str, str]
    ds_cert: str


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    _need_node()
    tmp = tmp_path_factory.mktemp("verifier-interop")
    port = _free_port()
    db_url = f"sqlite+aiosqlite:///{tmp / 'live.db'}"
    migrate_sync(db_url)
    settings = Settings(data_dir=tmp / "data", port=port, public_url=f"http://localhost:{port}")
    holder = generate_private_key("ES256")
    status_uri = f"http://localhost:{port}/issuer/status/interop"
    holder_jwk = private_jwk(holder)

    async def prepare() -> tuple[str, str, dict[str, str], str, str]:
        ctx = AppContext(settings=settings, db=Database(db_url))
        try:
            registry = await TrustRegistry.of(ctx)
            pid_key = generate_private_key("ES256")
            issuer = f"http://localhost:{port}/issuer"
            chain = await registry.issue_pid_provider_certificate(pid_key.public_key(), uri=issuer)
            ds_key = generate_private_key("ES256")
            ds_chain = await registry.issue_document_signer(ds_key.public_key())
            now = datetime.now(UTC)
            sd = issue_sd_jwt_vc(CLAIMS, issuer_key=pid_key, issuer_chain=chain, vct="urn:eudi:pid:1", iss=issuer,
                                 now=now - timedelta(minutes=1), expires_in=timedelta(days=30),
                                 holder_jwk=public_jwk(holder.public_key()), status=StatusReference(5, status_uri))
            token = issue_status_list_jwt(StatusList(64, 2), uri=status_uri, key=pid_key, now=now, ttl=600,
                                          x5c=chain)
            party, _key = await (await Verifier.of(ctx)).register_party(name="Интероп ЕООД", eik="175074752")
            return party["id"], sd, private_jwk(ds_key), base64.b64encode(cert_to_der(ds_chain[0])).decode(), token
        finally:
            await ctx.db.dispose()

    party_id, sd, ds_jwk, ds_cert, sl_token = asyncio.run(prepare())
    server_ctx = AppContext(settings=settings, db=Database(db_url))

    async def fetch(uri: str) -> tuple[bytes, str]:
        if uri != status_uri:
            raise ValueError("unknown status list")
        return sl_token.encode(), "application/statuslist+jwt"

    server_ctx.services["verifier.status_fetcher"] = fetch
    server = LiveServer(server_ctx, port)
    server.start()
    try:
        yield Setup(server, db_url, settings, party_id, holder_jwk, sd, ds_jwk, ds_cert)
    finally:
        server.stop()


def _run(s: Setup, coro_fn: Any) -> Any:
    async def go() -> Any:
        ctx = AppContext(settings=s.settings, db=Database(s.db_url))
        try:
            return await coro_fn(await Verifier.of(ctx))
        finally:
            await ctx.db.dispose()

    return asyncio.run(go())


def _peer(payload: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(["node", str(NODE_DIR / "verifier_wallet.mjs")], cwd=NODE_DIR, input=json.dumps(payload),
                          capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0 or not proc.stdout:
        raise AssertionError(f"peer failed: {proc.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(proc.stdout)
    return out


def _present(s: Setup, *, prefix: str, mode: str, method: str, fmt: str) -> tuple[dict[str, Any], dict[str, Any]]:
    created = _run(s, lambda v: v.create(s.party_id, template="pid-basic", client_id_prefix=prefix,
                                         response_mode=mode, request_uri_method=method))
    payload: dict[str, Any] = {"link": created.link, "method": method, "holderPrivateJwk": s.holder_jwk,
                               "now": int(time.time())}
    if fmt == "sd-jwt":
        payload["sdjwt"] = {"credential": s.sd_jwt, "frame": FRAME}
    else:
        now = datetime.now(UTC)
        payload["mdoc"] = {
            "dsPrivateJwk": s.ds_jwk, "dsCertificate": s.ds_cert, "docType": NS,
            "namespaces": {NS: {"family_name": "Петров", "given_name": "Георги", "birth_date": "2000-02-09",
                                "personal_administrative_number": "0042096485"}},
            "dates": [[NS, "birth_date"]],
            "disclose": {NS: ["family_name", "given_name", "birth_date", "personal_administrative_number"]},
            "signed": now.isoformat(), "validFrom": now.isoformat(),
            "validUntil": (now + timedelta(days=30)).isoformat(),
        }
    out = _peer(payload)
    assert out["ok"], out
    result = _run(s, lambda v: v.any_result(created.id))
    return out, result


@pytest.mark.parametrize("prefix", ["x509_san_dns", "x509_hash"])
@pytest.mark.parametrize("mode", ["direct_post.jwt", "direct_post"])
def test_peer_wallet_presents_sd_jwt_vc(setup: Setup, prefix: str, mode: str) -> None:
    out, result = _present(setup, prefix=prefix, mode=mode, method="get", fmt="sd-jwt")
    assert out["prefix"] == prefix
    assert out["responseMode"] == mode
    assert out["status"] == 200, out
    assert result["status"] == "verified", result.get("result")
    claims = result["result"]["credentials"][0]["claims"]
    assert claims["personal_administrative_number"] == "0042096485"
    assert "nationalities" not in claims


@pytest.mark.parametrize("prefix", ["x509_san_dns", "x509_hash"])
def test_peer_wallet_presents_mdoc_encrypted(setup: Setup, prefix: str) -> None:
    out, result = _present(setup, prefix=prefix, mode="direct_post.jwt", method="get", fmt="mdoc")
    assert out["status"] == 200, out
    assert result["status"] == "verified", result.get("result")
    assert result["result"]["credentials"][0]["claims"][NS]["personal_administrative_number"] == "0042096485"


def test_peer_wallet_fetches_request_by_post(setup: Setup) -> None:
    out, result = _present(setup, prefix="x509_san_dns", mode="direct_post.jwt", method="post", fmt="sd-jwt")
    assert out["status"] == 200, out
    assert result["status"] == "verified", result.get("result")


def test_peer_wallet_replay_refused(setup: Setup) -> None:
    """The peer's response posted twice: the second is refused (replay)."""
    created = _run(setup, lambda v: v.create(setup.party_id, template="pid-basic", response_mode="direct_post"))
    out = _peer({"link": created.link, "method": "get", "holderPrivateJwk": setup.holder_jwk,
                 "now": int(time.time()), "sdjwt": {"credential": setup.sd_jwt, "frame": FRAME}})
    assert out["status"] == 200, out
    again = _peer({"link": created.link, "method": "get", "holderPrivateJwk": setup.holder_jwk,
                   "now": int(time.time()), "sdjwt": {"credential": setup.sd_jwt, "frame": FRAME}})
    assert not again["ok"] or again["status"] == 400  # request no longer available, or response refused
