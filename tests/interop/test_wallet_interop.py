"""Proof by others: portfeil's wallet presents to the independent @openid4vc/openid4vp 0.4.6 VERIFIER side
(tests/interop/node/wallet_verifier.mjs): signed request objects with x509_san_dns and x509_hash, request_uri by
GET and POST (wallet_nonce), direct_post and direct_post.jwt (encrypted), SD-JWT VC with KB-JWT verified by
@sd-jwt/sd-jwt-vc. The credentials come from portfeil's PID provider (in-process)."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from portfeil.pki.ca import create_root_ca, issue_leaf
from portfeil.pki.certs import cert_to_pem
from portfeil.pki.keys import generate_private_key, private_jwk
from portfeil.pki.roles import Role
from portfeil.wallet.errors import WalletError
from portfeil.wallet.present import load_request, respond
from portfeil.wallet.receive import accept_offer
from tests.wallet.conftest import Env, env, keystores, settings  # noqa: F401

NODE_DIR = Path(__file__).parent / "node"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node runtime missing: wallet interop skipped")
    if not (NODE_DIR / "node_modules" / "@openid4vc" / "openid4vp").is_dir():
        pytest.skip("node runtime missing: tests/interop/node/node_modules not installed")
    return node


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _verifier_pki() -> tuple[dict[str, Any], list[str], bytes]:
    now = datetime.now(UTC) - timedelta(minutes=5)
    root = create_root_ca("Interop RP Access CA", Role.RP_ACCESS, now=now)
    key = generate_private_key("ES256")
    leaf = issue_leaf(root, "Interop verifier", key.public_key(), Role.RP_ACCESS, now=now, san_dns=["localhost"])
    x5c = [base64.b64encode(leaf.public_bytes(Encoding.DER)).decode()]
    return private_jwk(key), x5c, cert_to_pem(root.certificate)


@pytest.mark.parametrize(("prefix", "mode", "method"), [
    ("x509_san_dns", "direct_post.jwt", "get"),
    ("x509_hash", "direct_post.jwt", "post"),
    ("x509_san_dns", "direct_post", "post"),
    ("x509_hash", "direct_post", "get"),
])
async def test_wallet_presents_sd_jwt_to_node_verifier(env: Env, prefix: str, mode: str,  # noqa: F811
                                                        method: str) -> None:
    node = _node()
    env.ctx.clock.set(datetime.now(UTC))  # type: ignore[attr-defined]  # the node peer uses the real time
    uri, tx = await env.offer(["pid_sd_jwt"])
    await accept_offer(env.wallet, uri, tx_code=tx)
    jwk, x5c, root_pem = _verifier_pki()
    raw = env.wallet.credentials()[0]["instances"][0]["credential"]
    body = json.loads(base64.urlsafe_b64decode(raw.split(".")[1] + "=="))
    status_uri = body["status"]["status_list"]["uri"]
    status_lists = {status_uri: (await env.client.get(status_uri)).text}
    env.wallet.anchors.add("rp-access", root_pem)
    port = _port()
    proc = await asyncio.create_subprocess_exec(
        node, str(NODE_DIR / "wallet_verifier.mjs"), cwd=NODE_DIR, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write(json.dumps({"port": port, "prefix": prefix, "responseMode": mode, "format": "dc+sd-jwt",
                                 "leafPrivateJwk": jwk, "x5c": x5c, "method": method,
                                 "statusLists": status_lists}).encode())
    proc.stdin.close()
    first = await asyncio.wait_for(proc.stdout.readline(), 30)
    if not first:
        err = await proc.stderr.read() if proc.stderr else b""
        pytest.fail(f"node verifier did not start: {err.decode()[-2000:]}")
    link = json.loads(first)["link"]
    env.wallet._http = httpx.AsyncClient()
    try:
        pending = await load_request(env.wallet, link)
        assert pending.request.client_id_prefix == prefix
        assert pending.request.verified
        assert not pending.registration["present"]  # an unregistered peer: flagged, answered only by override
        try:
            await respond(env.wallet, pending, allow_beyond_registration=True)
        except WalletError as exc:
            peer = await asyncio.wait_for(proc.stdout.readline(), 30)
            pytest.fail(f"{exc.code}: node verifier said {peer.decode()}")
    finally:
        await env.wallet._http.aclose()
    last = await asyncio.wait_for(proc.stdout.readline(), 30)
    await proc.wait()
    result = json.loads(last)
    assert result["ok"], result
    assert result["claims"]["family_name"]
    assert "personal_administrative_number" not in result["claims"]  # minimal disclosure
    assert result["encrypted"] == (mode == "direct_post.jwt")


@pytest.mark.parametrize(("prefix", "mode"), [("x509_san_dns", "direct_post.jwt"), ("x509_hash", "direct_post")])
async def test_wallet_presents_mdoc_to_node_verifier(env: Env, prefix: str, mode: str) -> None:  # noqa: F811
    node = _node()
    env.ctx.clock.set(datetime.now(UTC))  # type: ignore[attr-defined]
    uri, tx = await env.offer(["pid_mdoc"])
    await accept_offer(env.wallet, uri, tx_code=tx)
    jwk, x5c, root_pem = _verifier_pki()
    env.wallet.anchors.add("rp-access", root_pem)
    iaca = [base64.b64encode(c.public_bytes(Encoding.DER)).decode() for c in env.wallet.anchors.certificates("iaca")]
    result = await _present(env, node, {"port": _port(), "prefix": prefix, "responseMode": mode,
                                        "format": "mso_mdoc", "leafPrivateJwk": jwk, "x5c": x5c, "method": "get",
                                        "statusLists": {}, "iacaRoots": iaca})
    assert result["ok"], result
    ns = result["claims"]["eu.europa.ec.eudi.pid.1"]
    assert set(ns) == {"family_name", "given_name"}  # minimal disclosure


async def _present(env: Env, node: str, spec: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    proc = await asyncio.create_subprocess_exec(
        node, str(NODE_DIR / "wallet_verifier.mjs"), cwd=NODE_DIR, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write(json.dumps(spec).encode())
    proc.stdin.close()
    first = await asyncio.wait_for(proc.stdout.readline(), 30)
    if not first:
        err = await proc.stderr.read() if proc.stderr else b""
        pytest.fail(f"node verifier did not start: {err.decode()[-2000:]}")
    env.wallet._http = httpx.AsyncClient()
    try:
        pending = await load_request(env.wallet, json.loads(first)["link"])
        assert pending.request.client_id_prefix == spec["prefix"]
        try:
            await respond(env.wallet, pending, allow_beyond_registration=True)
        except WalletError as exc:
            peer = await asyncio.wait_for(proc.stdout.readline(), 30)
            pytest.fail(f"{exc.code}: node verifier said {peer.decode()}")
    finally:
        await env.wallet._http.aclose()
    last = await asyncio.wait_for(proc.stdout.readline(), 30)
    await proc.wait()
    out: dict[str, Any] = json.loads(last)
    return out
