"""One whole journey in a real headless Chromium (Debian's, through Playwright) against a live server: create the
wallet in its web UI, accept a PID offer (pasted link + transaction code), start the verifier's e-Gov login demo,
answer its request on the wallet's consent screen, and land signed in on the demo's page. Every wallet page is
scanned with axe-core (no serious or critical violations), in Bulgarian and English."""

from __future__ import annotations

from typing import Any

import pytest

from portfeil.issuer.flows import PidIssuer
from portfeil.pki.certs import cert_to_pem
from portfeil.sources.seed import seed_demo_persons
from portfeil.trust.registry import TrustRegistry
from portfeil.wallet.service import UiState
from tests.browser.conftest import LiveServer, axe_violations, browser_page, live_server  # noqa: F401

pytestmark = pytest.mark.browser
IVAN = "8506258485"


async def _expect(page: Any, selector: str) -> None:
    """Wait for ``selector``; on timeout fail with the page's text (an error page says why)."""
    try:
        await page.wait_for_selector(selector, timeout=60000)
    except Exception:  # noqa: BLE001 - Playwright's TimeoutError
        pytest.fail(await page.inner_text("main"))


async def _scan(page: Any) -> None:
    assert await axe_violations(page) == []


@pytest.mark.parametrize("lang", ["bg", "en"])
async def test_wallet_journey_in_browser(live_server: LiveServer, browser_page: Any, lang: str,  # noqa: F811
                                         tmp_path: Any) -> None:
    page = browser_page
    base = live_server.url
    ctx = live_server.ctx
    ctx.services["wallet.ui"] = UiState(tmp_path / "wallet")
    ctx.services["wallet.scheme_operator"] = cert_to_pem((await TrustRegistry.of(ctx)).scheme_operator_certificate())
    await page.goto(f"{base}/wallet/?lang={lang}")
    assert await page.get_attribute("html", "lang") == lang
    await _scan(page)
    await page.fill("#passphrase", "a long passphrase 1")
    await page.fill("#passphrase2", "a long passphrase 1")
    await page.click("form[action='/wallet/create'] button")
    try:
        await page.wait_for_url("**/wallet/", timeout=60000)
    except Exception:  # noqa: BLE001 - Playwright's TimeoutError; an error page says why
        pytest.fail(await page.inner_text("main"))
    await page.wait_for_selector("main h1")
    await _scan(page)
    # the PID provider makes an offer for Ivan (as at an eID desk)
    await seed_demo_persons(ctx.db, clock=ctx.clock)
    offer = await (await PidIssuer.of(ctx)).create_offer(IVAN)
    await page.goto(f"{base}/wallet/offer")
    await _scan(page)
    await page.fill("#link", offer.uri)
    await page.click("form[action='/wallet/offer'] button")
    await _expect(page, "#tx_code")
    await _scan(page)
    await page.fill("#tx_code", offer.tx_code or "")
    await page.click("form[action='/wallet/offer/accept'] button")
    await _expect(page, "#received")
    await page.goto(f"{base}/wallet/")
    assert await page.locator(".card").count() == 2
    await _scan(page)
    # the verifier's demo e-Gov login
    await page.goto(f"{base}/demo/egov/?lang={lang}")
    await page.click("main button[type=submit]")
    await page.wait_for_selector("#same-device")
    link = await page.get_attribute("#same-device", "href")
    assert link.startswith("openid4vp://")
    await page.goto(f"{base}/wallet/present")
    await page.fill("#link", link)
    await page.click("form[action='/wallet/present'] button")
    await _expect(page, "#within")
    await _scan(page)
    await page.click("#send")
    await _expect(page, "#sent")
    await _scan(page)
    await page.click("#continue")
    await page.wait_for_selector("#greeting", timeout=15000)
    assert "Иван" in await page.inner_text("#greeting")
    await page.goto(f"{base}/wallet/log")
    assert "personal_administrative_number" in await page.inner_text("#log")
    await _scan(page)
