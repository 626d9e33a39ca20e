"""The application factory: composes every service's routers into one FastAPI app (or one service alone)."""

from __future__ import annotations

import gc
import importlib
import logging
import os
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute
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

#: How ``portfeil serve --workers N`` tells each server process what to run (see :func:`app_from_environment`).
SERVE_SERVICE_ENV = "PORTFEIL_SERVE_SERVICE"
SERVE_OUTBOX_ENV = "PORTFEIL_SERVE_OUTBOX"


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


class ServiceDispatch:
    """Sends a request whose first path segment belongs to exactly one service straight to that service's own
    application, so that routing scans only that service's routes instead of every route of the whole system.

    The combined application keeps every route (OpenAPI, docs, and any path this index does not claim); each
    per-service application has the same error handlers and shares the combined application's ``state``.
    """

    def __init__(self, app: ASGIApp, *, by_segment: dict[str, ASGIApp],
                 by_path: dict[str, ASGIApp] | None = None) -> None:
        self.app = app
        self.by_segment = by_segment
        self.by_path = by_path or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            exact = self.by_path.get(path)
            if exact is not None:
                await exact(scope, receive, send)
                return
            end = path.find("/", 1)
            target = self.by_segment.get(path[1:] if end < 0 else path[1:end])
            if target is not None:
                await target(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _first_segments(routes: Iterable[BaseRoute]) -> set[str]:
    """The first path segment of every route ("" for ``/``). Routes without a path (an included router) are not
    expected here: callers pass an application's own routes or a service router's routes."""
    segments = set()
    for route in routes:
        path = getattr(route, "path", None)
        if path is None:
            raise TypeError(f"cannot index a route without a path: {route!r}")
        end = path.find("/", 1)
        segments.add(path[1:] if end < 0 else path[1:end])
    return segments


def _install_error_handlers(app: FastAPI) -> None:
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


def _routing_app(app: FastAPI) -> FastAPI:
    """An application that only routes: no docs, the combined application's error handlers and ``state``. It has
    no OpenTelemetry instrumentation of its own: requests reach it through the combined application, whose
    instrumentation (when an OpenTelemetry provider is configured) already covers them."""
    sub = FastAPI(openapi_url=None, docs_url=None, redoc_url=None,
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    sub.state = app.state
    _install_error_handlers(sub)
    return sub


def _path_apps(app: FastAPI, routers: list[list[APIRouter]], taken: set[str]) -> dict[str, ASGIApp]:
    """One routing-only application per fixed path (no path parameters) of a service, for the paths where the
    choice of route cannot depend on the order of routes: no route with parameters (of any service, any method)
    also matches the path, and the path's first segment is not ``taken`` by the combined application. A request
    for such a path (every protocol endpoint: token, nonce, credential, request objects, responses) then reaches
    its route without scanning the others; any other request keeps the per-segment or combined routing."""
    service_routes: list[tuple[int, Any]] = [
        (i, route) for i, service_routers in enumerate(routers) for router in service_routers for route in router.routes
    ]
    parametric = [route for _, route in service_routes if "{" in route.path]
    parametric += [route for route in app.routes if "{" in getattr(route, "path", "")]
    fixed: dict[str, list[tuple[int, Any]]] = {}
    for i, route in service_routes:
        if "{" not in route.path:
            fixed.setdefault(route.path, []).append((i, route))
    out: dict[str, ASGIApp] = {}
    for path, entries in fixed.items():
        end = path.find("/", 1)
        if (path[1:] if end < 0 else path[1:end]) in taken or len({i for i, _ in entries}) != 1:
            continue
        if any(route.path_regex.match(path) for route in parametric):
            continue
        only = APIRouter()
        only.routes.extend(route for _, route in entries)
        sub = _routing_app(app)
        sub.include_router(only)
        out[path] = sub
    return out


def _service_apps(app: FastAPI, routers: list[list[APIRouter]], taken: set[str]) -> dict[str, ASGIApp]:
    """One routing-only application per service (the same router objects as the combined application), indexed by
    the first path segments that only that service uses (a segment two services share, or one ``taken`` by the
    combined application itself, stays with the combined application)."""
    owners: dict[str, list[FastAPI]] = {}
    for service_routers in routers:
        sub = _routing_app(app)
        segments: set[str] = set()
        for router in service_routers:
            segments |= _first_segments(router.routes)
            sub.include_router(router)
        for segment in segments:
            owners.setdefault(segment, []).append(sub)
    return {seg: subs[0] for seg, subs in owners.items() if len(subs) == 1 and seg not in taken}


def load_services(only: str | None = None) -> list[Service]:
    services = [importlib.import_module(m).SERVICE for m in SERVICE_MODULES]
    if only is not None:
        services = [s for s in services if s.name == only]
        if not services:
            raise PortfeilError("unknown_service", f"no service named {only!r}")
    return services


async def set_up_services(ctx: AppContext, service: str | None = None) -> None:
    """Run every service's start-up once (create keys and CAs on first start). ``serve --workers N`` calls this in
    the parent first, so that N processes starting together only load what exists instead of racing to create it."""
    for svc in load_services(service):
        if svc.setup is not None:
            await svc.setup(ctx)
    await ctx.db.dispose()


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

    _install_error_handlers(app)

    @app.get("/health", tags=["health"], summary="Liveness: the process answers")
    async def health() -> dict[str, Any]:
        # The process id tells an operator (and a test) which of `serve --workers N` processes answered.
        return {"status": "ok", "services": [s.name for s in services], "pid": os.getpid()}

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

    own = _first_segments(app.routes)
    routers = [svc.routers(ctx) for svc in services]
    for service_routers in routers:
        for router in service_routers:
            app.include_router(router)
    # Middleware added last runs first: the body limit, then the dispatch that lets most requests skip the
    # combined router.
    app.add_middleware(ServiceDispatch, by_segment=_service_apps(app, routers, own),
                       by_path=_path_apps(app, routers, own))
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    return app


#: Cyclic garbage collector thresholds of a server process: a young collection every 10,000 net allocations instead
#: of 700 (a request allocates thousands of short-lived objects, nearly all freed by reference counting), and the
#: older generations a little less often. Measured (benchmarks/README.md): the collector took ~5 % of the issuer's
#: CPU with the defaults, and the server's CPU per issuance fell by ~20 % with these.
SERVER_GC_THRESHOLDS: tuple[int, int, int] = (10_000, 20, 20)


def tune_gc_for_serving() -> None:
    """Collect once, then freeze what exists (modules, routes, schemas, keys: never garbage, and no longer traversed
    by the collections that follow) and set :data:`SERVER_GC_THRESHOLDS`. For ``portfeil serve`` processes only."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVER_GC_THRESHOLDS)


def app_from_environment() -> FastAPI:
    """uvicorn factory for ``portfeil serve --workers N``: settings from ``PORTFEIL_*``, the service and whether to
    run the outbox worker from :data:`SERVE_SERVICE_ENV` / :data:`SERVE_OUTBOX_ENV` (migrations already applied)."""
    from portfeil.context import make_context
    from portfeil.logs import configure_logging
    from portfeil.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    service = os.environ.get(SERVE_SERVICE_ENV) or None
    app = create_app(make_context(settings), service=service, run_worker=os.environ.get(SERVE_OUTBOX_ENV) == "1")
    tune_gc_for_serving()
    return app
