"""A live server and a real headless Chromium (Debian's) driven by Playwright, plus an axe-core scan helper.

Browser tests skip with a visible reason when Chromium or axe-core is not installed (``make test`` installs both
where it can).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from portfeil.app import create_app
from portfeil.context import AppContext
from portfeil.db import Database, migrate_sync
from portfeil.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "tests" / "interop" / "node" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LiveServer:
    def __init__(self, ctx: AppContext, port: int) -> None:
        self.ctx = ctx
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_config=None, access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("live server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    port = _free_port()
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'live.db'}"
    migrate_sync(db_url)
    settings = Settings(data_dir=tmp_path / "data", port=port, public_url=f"http://127.0.0.1:{port}")
    server = LiveServer(AppContext(settings=settings, db=Database(db_url)), port)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def browser_page() -> AsyncIterator[Any]:
    exe = chromium_path()
    if exe is None:
        pytest.skip("Chromium not installed (Debian package 'chromium'): browser test skipped")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS)
        context = await browser.new_context()
        page = await context.new_page()
        try:
            yield page
        finally:
            await browser.close()


async def axe_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict[str, Any]]:
    """Run axe-core in the page; return the violations of the given impacts (id, impact, help, targets)."""
    if not AXE_JS.exists():
        pytest.skip(f"axe-core not installed ({AXE_JS.relative_to(ROOT)} missing: run `make peers`)")
    await page.add_script_tag(content=AXE_JS.read_text())
    result = await page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "targets": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in impacts
    ]

