"""The web UI's authorization code flow over HTTP (ASGI): "Request your PID" makes a wallet-initiated offer, Accept
sends the browser to the PID provider's authorization page (PAR handle only), the eID signature and the consent
bring it back to /wallet/callback, which finishes the issuance. Denial and a stray callback are handled."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import httpx

from portfeil.eid.demo import issue_to_person
from portfeil.eid.registry import EidRegistry
from portfeil.wallet.service import UiState
from tests.wallet.conftest import BASE, IVAN, PASS, Env


async def _unlocked(env: Env) -> httpx.AsyncClient:
    env.ctx.services["wallet.ui"] = UiState(env.wallet_dir)
    env.ctx.services["wallet.http"] = env.client
    ui = httpx.AsyncClient(transport=httpx.ASGITransport(app=env.app), base_url=BASE)
    assert (await ui.post("/wallet/unlock", data={"passphrase": PASS})).status_code == 303
    return ui


async def _to_issuer(ui: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    r = await ui.post("/wallet/offer/pid")
    assert r.status_code == 200, r.text
    offer_id = re.search(r'name="offer_id" value="([^"]+)"', r.text)
    assert offer_id
    assert 'id="tx_code"' not in r.text
    r = await ui.post("/wallet/offer/accept", data={"offer_id": offer_id.group(1)})
    assert r.status_code == 303, r.text
    target = urlsplit(r.headers["location"])
    assert target.path == "/issuer/authorize"
    page = await ui.get(r.headers["location"])
    m = re.search(r'id="challenge">([^<]+)<', page.text)
    assert m
    q = dict(re.findall(r'name="(client_id|request_uri)" value="([^"]+)"', page.text))
    return q, m.group(1)


async def _consent(env: Env, ui: httpx.AsyncClient, decision: str) -> httpx.Response:
    q, challenge = await _to_issuer(ui)
    issued = await issue_to_person(EidRegistry.for_context(env.ctx), IVAN)
    r = await ui.post("/issuer/authorize/eid", data={**q, "challenge": challenge,
                                                     "eid_response": json.dumps(issued.auth_body(challenge))})
    assert r.status_code == 200, r.text
    r = await ui.post("/issuer/authorize/consent", data={**q, "decision": decision})
    assert r.status_code == 303
    assert r.headers["location"].startswith(BASE + "/wallet/callback?")
    return await ui.get(r.headers["location"])


async def test_ui_authorization_code_flow(env: Env) -> None:
    ui = await _unlocked(env)
    r = await _consent(env, ui, "accept")
    assert 'id="received"' in r.text, r.text
    assert (await ui.get("/wallet/")).text.count('class="card"') == 2


async def test_ui_authorization_denied(env: Env) -> None:
    ui = await _unlocked(env)
    r = await _consent(env, ui, "deny")
    assert r.status_code == 400
    assert "authorization_denied" in r.text
    assert (await ui.get("/wallet/")).text.count('class="card"') == 0


async def test_ui_callback_without_pending_flow(env: Env) -> None:
    ui = await _unlocked(env)
    r = await ui.get("/wallet/callback?code=abc&state=forged")
    assert r.status_code == 303
    assert r.headers["location"] == "/wallet/offer"


async def test_ui_lock_abandons_authorization(env: Env) -> None:
    ui = await _unlocked(env)
    await _to_issuer(ui)
    assert (await ui.post("/wallet/lock")).status_code == 303
    assert (await ui.post("/wallet/unlock", data={"passphrase": PASS})).status_code == 303
    r = await ui.get("/wallet/callback?code=abc&state=whatever")
    assert r.status_code == 303
    assert r.headers["location"] == "/wallet/offer"
