"""End-to-end fixtures: the application's public URL is ``http://localhost`` (the in-process clients use it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from portfeil.settings import Settings

BASE = "http://localhost"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", public_url=BASE)
