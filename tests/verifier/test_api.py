"""The REST API for services, signed webhooks, templates and the CLI."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from portfeil.outbox import OutboxWorker
from portfeil.verifier.errors import VerifierError
from portfeil.verifier.transactions import SIGNATURE_HEADER, verify_webhook_signature
from tests.verifier.conftest import Env

OPERATOR = {"Authorization": "Bearer portfeil-demo-operator"}


async def test_api_create_with_template_and_dcql(env: Env) -> None:
    h = {"Authorization": f"Bearer {env.api_key}"}
    r = await env.client.post("/verifier/api/v1/transactions", json={"template": "age-over-18"}, headers=h)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["link"].startswith("openid4vp://")
    assert body["qr_svg"].startswith("<svg")
    dcql = {"credentials": [{"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:eudi:pid:1"]},
                             "claims": [{"path": ["given_name"]}]}]}
    r = await env.client.post("/verifier/api/v1/transactions", json={"dcql": dcql, "client_id_prefix": "x509_hash"},
                              headers={"X-API-Key": env.api_key})
    assert r.status_code == 201
    assert r.json()["client_id"].startswith("x509_hash:")
    r = await env.client.post("/verifier/api/v1/transactions", json={"dcql": {"credentials": []}}, headers=h)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_dcql"


async def test_api_requires_api_key(env: Env) -> None:
    r = await env.client.post("/verifier/api/v1/transactions", json={"template": "pid-basic"})
    assert r.status_code == 401


async def test_api_create_without_qr_code(env: Env) -> None:
    r = await env.client.post("/verifier/api/v1/transactions", json={"template": "pid-basic", "qr": False},
                              headers={"Authorization": f"Bearer {env.api_key}"})
    assert r.status_code == 201, r.text
    assert "qr_svg" not in r.json()


async def test_rejects_unknown_api_key_after_a_valid_one_was_cached(env: Env) -> None:
    h = {"Authorization": f"Bearer {env.api_key}"}
    assert (await env.client.post("/verifier/api/v1/transactions", json={"template": "pid-basic"},
                                  headers=h)).status_code == 201
    assert (await env.client.post("/verifier/api/v1/transactions", json={"template": "pid-basic"},
                                  headers=h)).status_code == 201
    r = await env.client.post("/verifier/api/v1/transactions", json={"template": "pid-basic"},
                              headers={"Authorization": f"Bearer {env.api_key}x"})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_api_key"


async def test_operator_registers_party(env: Env) -> None:
    r = await env.client.post("/verifier/api/v1/parties", json={"name": "Друг", "eik": "177480148"})
    assert r.status_code == 401
    r = await env.client.post("/verifier/api/v1/parties", json={"name": "Друг", "eik": "177480148"}, headers=OPERATOR)
    assert r.status_code == 201, r.text
    key = r.json()["api_key"]
    r = await env.client.post("/verifier/api/v1/transactions", json={"template": "pid-basic"},
                              headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 201


async def test_signed_webhook_delivered_and_verifiable(env: Env) -> None:
    received: list[tuple[bytes, str]] = []

    class Receiver:
        status = 500

        async def post(self, url: str, *, content: bytes, headers: dict[str, str]) -> Any:
            received.append((content, headers[SIGNATURE_HEADER]))
            return type("R", (), {"status_code": self.status})()

    receiver = Receiver()
    env.verifier.http = receiver
    await env.verifier.set_webhook(env.party.id, "https://service.example/hook")
    created = await env.create()
    req = await env.wallet_request(created)
    await env.respond(req, {"pid": [env.present_sd_jwt(req)]})
    worker = OutboxWorker(env.ctx.db, clock=env.ctx.clock)
    worker.subscribe("verifier.webhooks", {"verifier.webhook"}, env.verifier.on_webhook_event)
    assert await worker.drain() == 0  # the receiver failed: retried later
    receiver.status = 204
    assert await worker.drain() == 1
    assert await worker.drain() == 0
    assert len(received) == 2
    body, sig = received[-1]
    jwks = (await env.client.get("/verifier/api/v1/webhook-jwks")).json()
    header = verify_webhook_signature(body, sig, jwks, now=env.now)
    assert header["typ"] == "portfeil-webhook+jws"
    payload = json.loads(body)
    assert payload["id"] == created.id
    assert payload["status"] == "verified"
    hooks = await env.verifier.webhooks(created.id)
    assert hooks[0]["delivered"]
    assert hooks[0]["attempts"] == 2


async def test_rejects_tampered_webhook_body(env: Env) -> None:
    from portfeil.verifier.transactions import sign_webhook

    key, kid = env.verifier.webhook_key()
    sig = sign_webhook(b'{"status":"verified"}', key, kid=kid, now=env.now)
    jwks = env.verifier.webhook_jwks()
    verify_webhook_signature(b'{"status":"verified"}', sig, jwks, now=env.now)
    for body in (b'{"status":"failed"}', b""):
        with pytest.raises(VerifierError) as exc:
            verify_webhook_signature(body, sig, jwks, now=env.now)
        assert exc.value.code == "invalid_webhook_signature"
    with pytest.raises(VerifierError):
        verify_webhook_signature(b'{"status":"verified"}', sig, jwks, now=env.now + timedelta(minutes=10))


async def test_templates_endpoint(env: Env) -> None:
    r = await env.client.get("/verifier/api/v1/templates")
    assert set(r.json()["templates"]) == {"pid-basic", "age-over-18", "pid-full"}


def test_cli_request_and_result(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from portfeil.cli import app

    env = {"PORTFEIL_DATA_DIR": str(tmp_path), "PORTFEIL_PUBLIC_URL": "http://localhost"}
    from portfeil.settings import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    import os

    old = dict(os.environ)
    os.environ.update(env)
    try:
        out = runner.invoke(app, ["verifier", "request", "--template", "pid-basic", "--json"])
        assert out.exit_code == 0, out.output
        data = json.loads(out.stdout)
        assert data["link"].startswith("openid4vp://")
        res = runner.invoke(app, ["verifier", "result", data["id"], "--json"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["status"] == "created"
        bad = runner.invoke(app, ["verifier", "result", "nope", "--json"])
        assert bad.exit_code == 1
        assert json.loads(bad.stdout)["error"] == "transaction_not_found"
    finally:
        os.environ.clear()
        os.environ.update(old)
        get_settings.cache_clear()
