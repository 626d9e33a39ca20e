"""``portfeil serve --workers N``: several server processes on one port, keys created once before they start."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import _free_port

pytestmark = pytest.mark.slow


def test_serve_with_two_workers_answers_from_both(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PORTFEIL_DATA_DIR": str(tmp_path / "var"), "PORTFEIL_LOG_LEVEL": "WARNING"}
    env.pop("PORTFEIL_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "portfeil.cli", "serve", "--port", str(port), "--workers", "2", "--no-worker"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        pids: set[int] = set()
        metadata = None
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    r = client.get("/health", headers={"connection": "close"})
                except httpx.TransportError:
                    time.sleep(0.5)
                    continue
                assert r.status_code == 200
                pids.add(r.json()["pid"])
                if metadata is None:
                    metadata = client.get("/issuer/.well-known/openid-credential-issuer")
                if len(pids) == 2:
                    break
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert metadata is not None
        assert metadata.status_code == 200
        assert metadata.json()["credential_issuer"].endswith("/issuer")
        assert len(pids) == 2, f"answers came from {pids}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
