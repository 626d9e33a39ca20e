"""The authorization and consent pages in a real headless Chromium, in Bulgarian and English, with no serious or
critical axe-core violations (these pages need a pushed authorization request, so they cannot be in the static
PAGES list of tests/browser)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from portfeil.context import AppContext
from portfeil.db import Database
from portfeil.protocols.pkce import code_challenge, generate_code_verifier
from portfeil.sources.seed import seed_demo_persons
from tests.browser.conftest import LiveServer, axe_violations, browser_page, live_server  # noqa: F401 - fixtures
from tests.issuer.test_authorization_code import REDIRECT, register_unit

pytestmark = pytest.mark.browser
IVAN = "8506258485"


def _in_server_db(live: LiveServer, fn: Any) -> Any:
    ctx = AppContext(settings=live.ctx.settings, db=Database(live.ctx.db.url), clock=live.ctx.clock)

    async def go() -> Any:
        try:
            return await fn(ctx)
        finally:
            await ctx.db.dispose()

    return asyncio.run(go())


@pytest.mark.parametrize("lang", ["bg", "en"])
async def test_authorization_and_consent_pages_are_accessible(
    live_server: LiveServer, browser_page: Any, lang: str,  # noqa: F811 - the imported fixtures
) -> None:
    async def setup(ctx: AppContext) -> Any:
        await seed_demo_persons(ctx.db, clock=ctx.clock)
        return await register_unit(ctx)

    unit = await asyncio.to_thread(_in_server_db, live_server, setup)
    verifier = generate_code_verifier()
    from portfeil.protocols.client_attestation import create_client_attestation_pop

    pop = create_client_attestation_pop(unit.instance_key, client_id=unit.client_id,
                                        audience=live_server.url + "/issuer", now=live_server.ctx.clock.now())
    pop_headers = {"OAuth-Client-Attestation": unit.attestation, "OAuth-Client-Attestation-PoP": pop}
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        r = await http.post("/issuer/par", headers=pop_headers, data={
            "client_id": unit.client_id, "response_type": "code", "redirect_uri": REDIRECT,
            "code_challenge": code_challenge(verifier), "code_challenge_method": "S256",
            "scope": "eu.europa.ec.eudi.pid_vc_sd_jwt"})
    assert r.status_code == 201, r.text
    request_uri = r.json()["request_uri"]
    page = browser_page
    await page.goto(f"{live_server.url}/issuer/authorize?client_id={unit.client_id}"
                    f"&request_uri={request_uri}&lang={lang}")
    assert await page.get_attribute("html", "lang") == lang
    body = await page.inner_text("body")
    assert ("Удостоверяване с електронна идентичност" if lang == "bg" else "Authenticate with your eID") in body
    assert await axe_violations(page) == []
    challenge = (await page.inner_text("#challenge")).strip()

    async def sign(ctx: AppContext) -> Any:
        from portfeil.eid.demo import issue_to_person
        from portfeil.eid.registry import EidRegistry

        issued = await issue_to_person(EidRegistry.for_context(ctx), IVAN)
        return issued.auth_body(challenge)

    auth = await asyncio.to_thread(_in_server_db, live_server, sign)
    await page.fill("#eid_response", json.dumps(auth))
    await page.click("form[action='/issuer/authorize/eid'] button[type=submit]")
    await page.wait_for_load_state()
    body = await page.inner_text("body")
    assert "Иванов" in body
    assert ("Съгласие за издаване" if lang == "bg" else "Consent to issuance") in body
    assert await axe_violations(page) == []
