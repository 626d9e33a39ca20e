"""The local web UI over HTTP (ASGI): unlock, accept a PID offer by pasted link with its transaction code, see the
cards, answer a verifier request on the consent screen, read the log and dashboard, delete, lock. Both languages."""

from __future__ import annotations

import re

import httpx

from portfeil.wallet.service import UiState
from tests.wallet.conftest import BASE, PASS, Env


async def _ui(env: Env) -> httpx.AsyncClient:
    env.ctx.services["wallet.ui"] = UiState(env.wallet_dir)
    env.ctx.services["wallet.http"] = env.client
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=env.app), base_url=BASE)


async def test_ui_journey(env: Env) -> None:
    ui = await _ui(env)
    r = await ui.get("/wallet/")
    assert "wallet/unlock" in r.text
    r = await ui.post("/wallet/unlock", data={"passphrase": "wrong"})
    assert r.status_code == 401
    assert 'id="unlock-failed"' in r.text
    r = await ui.post("/wallet/unlock", data={"passphrase": PASS})
    assert r.status_code == 303
    assert (await ui.get("/wallet/?lang=en")).text.count("You have no credentials yet") == 1
    uri, tx = await env.offer(["pid_sd_jwt", "pid_mdoc"])
    r = await ui.post("/wallet/offer", data={"link": uri})
    assert r.status_code == 200, r.text
    offer_id = re.search(r'name="offer_id" value="([^"]+)"', r.text)
    assert offer_id
    r = await ui.post("/wallet/offer/accept", data={"offer_id": offer_id.group(1), "tx_code": tx or ""})
    assert 'id="received"' in r.text, r.text
    cards = (await ui.get("/wallet/")).text
    assert cards.count('class="card"') == 2
    cid = re.search(r'/wallet/credentials/([0-9a-f]+)', cards)
    assert cid
    detail = await ui.get(f"/wallet/credentials/{cid.group(1)}")
    assert "Иван" in detail.text
    link = await env.request()
    r = await ui.post("/wallet/present", data={"link": link})
    assert 'id="within"' in r.text, r.text
    pid = re.search(r'action="/wallet/present/([^"]+)"', r.text)
    assert pid
    claims = re.findall(r'name="claim" value="([^"]+)"', r.text)
    assert "personal_administrative_number" in claims
    choice = re.search(r'name="(choice:[^"]+)" value="([^"]+)"', r.text)
    assert choice
    r = await ui.post(f"/wallet/present/{pid.group(1)}", data={"decision": "send", "claim": claims,
                                                               choice.group(1): choice.group(2)})
    assert 'id="sent"' in r.text, r.text
    log = (await ui.get("/wallet/log?lang=en")).text
    assert 'id="parties"' in log
    assert "presentation" in log
    assert "personal_administrative_number" in log
    r = await ui.post(f"/wallet/credentials/{cid.group(1)}/delete")
    assert r.status_code == 303
    assert (await ui.get("/wallet/")).text.count('class="card"') == 1
    await ui.post("/wallet/lock")
    assert "wallet/unlock" in (await ui.get("/wallet/")).text
    await ui.aclose()


async def test_ui_declines_and_logs(env: Env) -> None:
    ui = await _ui(env)
    await ui.post("/wallet/unlock", data={"passphrase": PASS})
    r = await ui.post("/wallet/present", data={"link": await env.request()})
    pid = re.search(r'action="/wallet/present/([^"]+)"', r.text)
    assert pid
    assert 'id="send"' not in r.text  # nothing to send: no matching credential
    r = await ui.post(f"/wallet/present/{pid.group(1)}", data={"decision": "decline"})
    assert r.status_code == 200
    assert env.wallet.log.entries()[-1]["outcome"] == "declined"
    await ui.aclose()


async def test_ui_requires_session_cookie(env: Env) -> None:
    ui = await _ui(env)
    await ui.post("/wallet/unlock", data={"passphrase": PASS})
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=env.app), base_url=BASE)
    r = await other.get("/wallet/log")
    assert r.status_code == 303  # another browser (no cookie) is sent to the unlock page
    await other.aclose()
    await ui.aclose()


async def test_ui_offer_from_qr_image(env: Env) -> None:
    import io

    import segno

    ui = await _ui(env)
    await ui.post("/wallet/unlock", data={"passphrase": PASS})
    uri, tx = await env.offer(["pid_sd_jwt"], by_reference=True)
    png = io.BytesIO()
    segno.make(uri, error="m").save(png, kind="png", scale=6)
    r = await ui.post("/wallet/offer", data={"link": ""}, files={"qr": ("offer.png", png.getvalue(), "image/png")})
    assert r.status_code == 200, r.text
    offer_id = re.search(r'name="offer_id" value="([^"]+)"', r.text)
    assert offer_id
    r = await ui.post("/wallet/offer/accept", data={"offer_id": offer_id.group(1), "tx_code": tx or ""})
    assert 'id="received"' in r.text
    r = await ui.post("/wallet/offer", data={"link": ""}, files={"qr": ("x.png", b"not an image", "image/png")})
    assert r.status_code == 400
    await ui.aclose()
