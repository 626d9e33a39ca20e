"""The ``portfeil demo`` journey in a real headless Chromium (Debian's, through Playwright), as a person would walk
it by hand (docs/journey.md): the live server is prepared like ``portfeil demo`` (migrations, every service's
``demo_seed``, the outbox worker running).

Ivan (ЕГН 8506258485, the demo person with an eID certificate) creates his wallet, asks the PID provider for a PID
(authorization code flow: the issuer's eID authentication page with the demo signing button, then consent), signs
in to the e-Government portal demo through the wallet's consent screen and is greeted by name. Then his death is
recorded through the population register's operator API; the outbox worker tells the PID provider, which revokes
the PIDs; the next sign-in fails with a clear message and the code ``credential_revoked``.

Every page visited is scanned with axe-core (no serious or critical violations). With ``PORTFEIL_SCREENSHOTS=1``
the key steps are written to docs/screenshots/ (1000x700, optimised PNG) for the README and docs/journey.md.
"""

from __future__ import annotations

import asyncio
import io
import os
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn

from portfeil.app import create_app, load_services
from portfeil.context import AppContext
from portfeil.db import Database, migrate_sync
from portfeil.issuer.flows import DEMO_STATUS_LIST_TTL
from portfeil.issuer.lifecycle import credentials_of
from portfeil.settings import Settings
from tests.browser.conftest import CHROMIUM_FLAGS, ROOT, _free_port, axe_violations, chromium_path

pytestmark = pytest.mark.browser
IVAN = "8506258485"
SHOTS = ROOT / "docs" / "screenshots"
VIEWPORT: Any = {"width": 1000, "height": 700}


class DemoServer:
    """``portfeil demo`` in a thread: the whole application with the outbox worker."""

    def __init__(self, settings: Settings, db_url: str) -> None:
        self.settings = settings
        self.db_url = db_url
        self.url = settings.effective_public_url
        ctx = AppContext(settings=settings, db=Database(db_url))
        config = uvicorn.Config(create_app(ctx, run_worker=True), host="127.0.0.1", port=settings.port,
                                log_config=None, access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("demo server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
async def demo_server(tmp_path: Path) -> AsyncIterator[DemoServer]:
    port = _free_port()
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    await asyncio.to_thread(migrate_sync, db_url)
    settings = Settings(data_dir=tmp_path / "data", port=port, public_url=f"http://127.0.0.1:{port}")
    prep = AppContext(settings=settings, db=Database(db_url))
    prep.services["demo_persons"] = 20  # `portfeil demo --persons 20`
    for svc in load_services():  # as `portfeil demo` prepares its data directory
        if svc.demo_seed is not None:
            await svc.demo_seed(prep)
    await prep.db.dispose()
    server = DemoServer(settings, db_url)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Walk:
    """The browser page, with an axe scan of every page and optional screenshots."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.scanned: list[str] = []
        self.shots = os.environ.get("PORTFEIL_SCREENSHOTS") == "1"

    async def check(self, shot: str | None = None) -> None:
        violations = await axe_violations(self.page)
        assert violations == [], (self.page.url, violations)
        self.scanned.append(urlsplit(self.page.url).path)
        if shot and self.shots:
            png = await self.page.screenshot(full_page=False)
            _save_png(SHOTS / f"{shot}.png", png)


def _save_png(path: Path, png: bytes) -> None:
    """Write a screenshot as an optimised palette PNG (well under 150 KB)."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    img.save(path, format="PNG", optimize=True)
    assert path.stat().st_size < 150_000, path


async def _sign_in(w: Walk, *, shots: bool) -> None:
    """The e-Gov demo login, answered in the wallet UI (the same-device link pasted into the wallet)."""
    page = w.page
    await page.goto(f"{w.base}/demo/egov/?lang=bg")
    await w.check("05-egov-start" if shots else None)
    await page.click("main button[type=submit]")
    await page.wait_for_selector("#same-device")
    await w.check("06-egov-qr" if shots else None)
    link = await page.get_attribute("#same-device", "href")
    assert link.startswith("openid4vp://")
    await page.goto(f"{w.base}/wallet/present?lang=bg")
    await w.check()
    await page.fill("#link", link)
    await page.click("form[action='/wallet/present'] button")
    await page.wait_for_selector("#within")
    await w.check("07-wallet-consent" if shots else None)
    await page.click("#send")
    if not await page.locator("#sent").count():
        pytest.fail(await page.inner_text("main"))
    await w.check()
    await page.click("#continue")
    await page.wait_for_selector("#greeting, #failed", timeout=20000)


async def test_demo_journey_in_browser(demo_server: DemoServer) -> None:
    exe = chromium_path()
    if exe is None:
        pytest.skip("Chromium not installed (Debian package 'chromium'): browser test skipped")
    from playwright.async_api import async_playwright

    base = demo_server.url
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS)
        try:
            page = await (await browser.new_context(viewport=VIEWPORT, locale="bg-BG")).new_page()
            w = Walk(page, base)

            # the wallet: create it (it registers with the wallet provider of the trust registry)
            await page.goto(f"{base}/wallet/?lang=bg")
            await w.check()
            await page.fill("#passphrase", "a long passphrase 1")
            await page.fill("#passphrase2", "a long passphrase 1")
            await page.click("form[action='/wallet/create'] button")
            await page.wait_for_selector("main h1")
            await w.check()

            # a PID through the authorization code flow, with the demo eID
            await page.goto(f"{base}/wallet/offer?lang=bg")
            await w.check("01-wallet-get-pid")
            await page.click("#get-pid")
            await page.wait_for_selector("form[action='/wallet/offer/accept']")
            await w.check()
            await page.click("form[action='/wallet/offer/accept'] button")
            await page.wait_for_selector("#challenge", timeout=30000)
            assert urlsplit(page.url).path == "/issuer/authorize"
            await w.check("02-issuer-eid")
            await page.click("form:has(input[name=demo]) button")
            await page.wait_for_selector("button[value=accept]")
            assert "Иван" in await page.inner_text("main")
            await w.check("03-issuer-consent")
            await page.click("button[value=accept]")
            await page.wait_for_selector("#received", timeout=30000)
            assert urlsplit(page.url).path == "/wallet/callback"
            await w.check()
            await page.goto(f"{base}/wallet/?lang=bg")
            assert await page.locator(".card").count() == 2  # SD-JWT VC and mdoc
            await w.check("04-wallet-cards")

            # sign in to the e-Government portal demo
            await _sign_in(w, shots=True)
            assert "Иван" in await page.inner_text("#greeting")
            assert await page.inner_text("#egn") == IVAN
            await w.check("08-egov-greeting")
            signed_in_at = time.monotonic()

            # Ivan dies: the population register records it (operator API); the outbox worker revokes his PIDs
            today = datetime.now(UTC).date().isoformat()
            async with httpx.AsyncClient(base_url=base) as http:
                r = await http.post(f"/population/api/v1/persons/{IVAN}/death", json={"date_of_death": today},
                                    headers={"Authorization": "Bearer portfeil-demo-operator"})
            assert r.status_code == 200, r.text
            await _wait_revoked(demo_server)
            # the verifier keeps a status list at most its ttl (short in a demo data directory)
            await asyncio.sleep(max(0.0, DEMO_STATUS_LIST_TTL + 1 - (time.monotonic() - signed_in_at)))

            # the next sign-in fails: the PID was revoked
            await _sign_in(w, shots=False)
            assert await page.locator("#greeting").count() == 0
            text = await page.inner_text("main")
            assert "credential_revoked" in text
            assert "отнети от издателя" in text  # the reason in words: the PID was revoked by its issuer
            await w.check("09-egov-revoked")
            assert {"/wallet/", "/wallet/offer", "/issuer/authorize", "/issuer/authorize/eid", "/wallet/callback",
                    "/wallet/present", "/demo/egov/"} <= set(w.scanned)
        finally:
            await browser.close()


async def _wait_revoked(server: DemoServer) -> None:
    ctx = AppContext(settings=server.settings, db=Database(server.db_url))
    try:
        deadline = time.monotonic() + 20
        while True:
            creds = await credentials_of(ctx, IVAN)
            if creds and {c["status"] for c in creds} == {"revoked"}:
                return
            if time.monotonic() > deadline:
                pytest.fail(f"the PIDs were not revoked: {creds}")
            await asyncio.sleep(0.3)
    finally:
        await ctx.db.dispose()
