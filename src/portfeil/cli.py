"""The ``portfeil`` command: serve, demo, migrate, and each area's commands."""

from __future__ import annotations

import importlib
import logging
import signal
import sys

import typer

from portfeil.clitools import JsonOption, console, print_json, run, with_context
from portfeil.context import AppContext, make_context
from portfeil.logs import configure_logging
from portfeil.settings import get_settings

app = typer.Typer(
    name="portfeil",
    help="Bulgaria's EU Digital Identity Wallet ecosystem.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

#: Each module defines ``register(app: typer.Typer) -> None`` adding its commands or command groups.
CLI_MODULES: tuple[str, ...] = (
    "portfeil.bg.cli",
    "portfeil.sources.cli",
    "portfeil.eid.cli",
    "portfeil.trust.cli",
    "portfeil.issuer.cli",
    "portfeil.verifier.cli",
    "portfeil.wallet.cli",
)


@app.command()
def migrate(as_json: bool = JsonOption) -> None:
    """Apply every database migration (idempotent)."""
    from portfeil.db import migrate as do_migrate

    settings = get_settings()
    run(do_migrate(settings.effective_database_url), as_json)
    if as_json:
        print_json({"migrated": True})
    else:
        console.print("database migrated")


@app.command()
def serve(
    host: str = typer.Option(None, help="Interface to listen on (default PORTFEIL_HOST)."),
    port: int = typer.Option(None, help="Port (default PORTFEIL_PORT)."),
    service: str = typer.Option(None, help="Run only this service (default: all)."),
    worker: bool = typer.Option(True, help="Run the outbox worker (in every process; deliveries are idempotent)."),
    workers: int = typer.Option(1, min=1, max=64, help="Server processes sharing the port (one per core)."),
) -> None:
    """Run the HTTP services (all in one process, or one with --service)."""
    settings = get_settings()
    if host:
        settings.host = host
    if port:
        settings.port = port
    _serve(make_context(settings), service=service, worker=worker, workers=workers)


def _serve(ctx: AppContext, *, service: str | None, worker: bool, workers: int = 1) -> None:
    import os

    import uvicorn

    from portfeil.app import SERVE_OUTBOX_ENV, SERVE_SERVICE_ENV, create_app, set_up_services, tune_gc_for_serving
    from portfeil.db import migrate as do_migrate

    configure_logging(ctx.settings.log_level, ctx.settings.log_json)
    run(do_migrate(ctx.db.url))
    host, port = ctx.settings.host, ctx.settings.port
    if workers == 1:
        application = create_app(ctx, service=service, run_worker=worker)
        tune_gc_for_serving()
        uvicorn.run(application, host=host, port=port, log_config=None, access_log=False)
        return
    # Several processes: keys and CAs are created here once, then each process builds its own application from
    # the environment (uvicorn imports the factory).
    run(set_up_services(ctx, service))
    os.environ[SERVE_SERVICE_ENV] = service or ""
    os.environ[SERVE_OUTBOX_ENV] = "1" if worker else "0"
    os.environ["PORTFEIL_DATABASE_URL"] = ctx.db.url
    # A process still importing on a busy machine answers uvicorn's health check late: allow a minute, not 5 s.
    uvicorn.run("portfeil.app:app_from_environment", factory=True, workers=workers, host=host, port=port,
                log_config=None, access_log=False, timeout_worker_healthcheck=60)


@app.command()
def demo(
    port: int = typer.Option(8000, help="Port to serve on."),
    persons: int = typer.Option(2000, help="Synthetic persons to seed into an empty population register."),
) -> None:
    """Migrate and seed an embedded database if empty, start everything, print the URLs to open."""
    settings = get_settings()
    settings.port = port
    ctx = make_context(settings)
    ctx.services["demo_persons"] = persons

    async def prepare(c: AppContext) -> None:
        from portfeil.app import load_services

        for svc in load_services():
            if svc.demo_seed is not None:
                console.print(f"preparing {svc.title} …")
                await svc.demo_seed(c)

    run(with_context(prepare, settings))
    from portfeil.app import load_services

    base = settings.effective_public_url
    console.print(f"\n[bold]portfeil demo[/bold] — data in {settings.data_dir.resolve()}\n")
    console.print(f"  Home               {base}/")
    console.print(f"  API docs (OpenAPI) {base}/docs")
    for svc in load_services():
        for label, href in svc.links:
            console.print(f"  {label:<18} {base}{href}", soft_wrap=True)  # URLs must stay whole to be clickable
    console.print("\nPress Ctrl-C to stop.\n")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    _serve(make_context(settings), service=None, worker=True)


def _register_areas() -> None:
    for module in CLI_MODULES:
        importlib.import_module(module).register(app)


_register_areas()


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    app()


if __name__ == "__main__":
    main()
