"""Operators' commands of the population register (placeholder until the register lands)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    return None
