"""What every CLI command shares: ``--json`` output, clean errors with exit codes, running async code.

Exit status: 0 success, 1 a refused or failed operation (a :class:`PortfeilError`), 2 usage errors (typer's own).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console

from portfeil.context import AppContext, make_context
from portfeil.errors import PortfeilError
from portfeil.settings import Settings, get_settings

T = TypeVar("T")
console = Console(stderr=True)
JsonOption = typer.Option(False, "--json", help="Machine-readable JSON on standard output.")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def output(data: Any, as_json: bool, text: str) -> None:
    """The one way a command answers: ``data`` as JSON with ``--json``, otherwise ``text`` for a person."""
    if as_json:
        print_json(data)
    else:
        console.print(text)


def fail(error: PortfeilError, as_json: bool, exit_code: int = 1) -> NoReturn:
    if as_json:
        print_json(error.to_dict())
    else:
        console.print(f"[red]error[/red] {error.code}: {error.message}")
    raise typer.Exit(exit_code)


def run(coro: Coroutine[Any, Any, T], as_json: bool = False) -> T:
    """Run a coroutine; a PortfeilError becomes a clean message (or JSON) and exit status 1."""
    try:
        return asyncio.run(coro)
    except PortfeilError as exc:
        fail(exc, as_json)


async def with_context(fn: Callable[[AppContext], Awaitable[T]], settings: Settings | None = None) -> T:
    """Open the configured database (migrating it if needed), run ``fn``, close."""
    from portfeil.db import migrate

    settings = settings or get_settings()
    ctx = make_context(settings)
    try:
        await migrate(ctx.db.url)
        return await fn(ctx)
    finally:
        await ctx.db.dispose()
