"""The application factory: composes every service's routers into one FastAPI app (or one service alone)."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from portfeil.context import AppContext
from portfeil.db import is_migrated
from portfeil.errors import PortfeilError
from portfeil.web.pages import render
from portfeil.web.service import Service

log = logging.getLogger("portfeil.app")

#: Every service, by module. A service module defines ``SERVICE: Service``. Order is the order on the home page.
SERVICE_MODULES: tuple[str, ...] = (
    "portfeil.sources.service",
    "portfeil.eid.service",
    "portfeil.trust.service",
    "portfeil.issuer.service",
    "portfeil.verifier.service",
    "portfeil.wallet.service",
)

MAX_BODY_BYTES = 1_000_000


class BodyLimit:
    """Refuses (413) a request whose ``Content-Length`` is not a number or exceeds ``max_bytes``.

    A pure ASGI middleware: Starlette's ``BaseHTTPMiddleware`` (``@app.middleware("http")``) runs every request
    through an extra task and memory streams, which cost more than the check itself."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"content-length":
                    if not value.isdigit() or int(value) > self.max_bytes:
                        response = JSONResponse(
                            {"error": "request_too_large", "error_description": "request body too large"},
                            status_code=413,
                        )
                        await response(scope, receive, send)
                        return
                    break
        await self.app(scope, receive, send)


def load_services(only: str | None = None) -> list[Service]:
    services = [importlib.import_module(m).SERVICE for m in SERVICE_MODULES]
    if only is not None:
        services = [s for s in services if s.name == only]
        if not services:
            raise PortfeilError("unknown_service", f"no service named {only!r}")
    return services


def create_app(ctx: AppContext, *, service: str | None = None, run_worker: bool = False) -> FastAPI:
    services = load_services(service)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import asyncio

        for svc in services:
            if svc.setup is not None:
                await svc.setup(ctx)
        worker = asyncio.create_task(ctx.outbox.run()) if run_worker else None
        try:
            yield
        finally:
            if worker is not None:
                worker.cancel()
            await ctx.db.dispose()

    app = FastAPI(
        title="portfeil" if service is None else f"portfeil — {service}",
        version="0.1.0",
        description="Bulgaria's EU Digital Identity Wallet ecosystem. Errors are JSON "
        '`{"error": <stable code>, "error_description": <text>}`.',
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.services = services
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "web" / "static"), name="static")

    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)

    @app.exception_handler(PortfeilError)
    async def portfeil_error(_request: Request, exc: PortfeilError) -> JSONResponse:
        # Some errors carry response headers the protocol asks for (DPoP-Nonce, WWW-Authenticate).
        headers = getattr(exc, "headers", None)
        return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers or None)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()]
        return JSONResponse(
            {
                "error": "invalid_request",
                "error_description": "the request is malformed",
                "details": {"fields": fields},
            },
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse({"error": code, "error_description": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc, extra={"event": "unhandled_error"})
        return JSONResponse({"error": "server_error", "error_description": "internal error"}, status_code=500)

    @app.get("/health", tags=["health"], summary="Liveness: the process answers")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "services": [s.name for s in services]}

    @app.get("/ready", tags=["health"], summary="Readiness: database reachable and migrations applied")
    async def ready() -> JSONResponse:
        try:
            await ctx.db.ping()
            migrated = await is_migrated(ctx.db)
        except Exception:  # noqa: BLE001 - any database failure means not ready
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        if not migrated:
            return JSONResponse({"status": "unavailable", "database": "migrations_pending"}, status_code=503)
        return JSONResponse({"status": "ready", "database": ctx.db.dialect})

    @app.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        return render(request, "home.html", services=services)

    for svc in services:
        for router in svc.routers(ctx):
            app.include_router(router)
    return app
