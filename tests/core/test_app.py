"""The composed application: health, readiness, bilingual home page, errors as JSON, request limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from portfeil.app import create_app, load_services
from portfeil.context import AppContext
from portfeil.db import Database
from portfeil.errors import PortfeilError
from portfeil.settings import Settings


@pytest.fixture
async def client(ctx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ctx)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_health_lists_services(client: httpx.AsyncClient) -> None:
    r = await client.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert "population" in r.json()["services"]


async def test_ready_when_migrated(client: httpx.AsyncClient, ctx: AppContext) -> None:
    r = await client.get("/ready")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ready", "database": ctx.db.dialect}


async def test_not_ready_when_migrations_pending(tmp_path: Path, settings: Settings) -> None:
    empty = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    app = create_app(AppContext(settings=settings, db=empty))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.get("/ready")
    await empty.dispose()
    assert r.status_code == 503
    assert r.json()["database"] == "migrations_pending"


async def test_home_page_in_both_languages(client: httpx.AsyncClient) -> None:
    bg = await client.get("/")
    en = await client.get("/?lang=en")
    assert '<html lang="bg">' in bg.text
    assert "Услуги" in bg.text
    assert '<html lang="en">' in en.text
    assert "Services" in en.text
    assert en.cookies.get("lang") == "en"
    en_by_header = await client.get("/", headers={"accept-language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in en_by_header.text


async def test_unknown_route_is_json_error(client: httpx.AsyncClient) -> None:
    r = await client.get("/no/such/thing")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


async def test_oversized_body_is_refused(client: httpx.AsyncClient) -> None:
    r = await client.post("/health", content=b"x" * 2_000_001)
    assert r.status_code == 413
    assert r.json()["error"] == "request_too_large"


async def test_openapi_is_served(client: httpx.AsyncClient) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/health" in paths
    # Requests are dispatched to per-service applications, but the document still lists every service's API.
    for path in ("/issuer/token", "/verifier/api/v1/transactions", "/trust/api/v1/lists", "/eid/register/centres.json"):
        assert path in paths, path


def test_unknown_service_is_refused() -> None:
    with pytest.raises(PortfeilError) as err:
        load_services("nope")
    assert err.value.code == "unknown_service"


async def test_error_headers_reach_the_response(ctx: AppContext) -> None:
    from fastapi import APIRouter

    from portfeil.protocols import ProtocolError

    app = create_app(ctx)
    router = APIRouter()

    @router.get("/_t/dpop")
    async def needs_nonce() -> None:
        raise ProtocolError("use_dpop_nonce", "nonce needed", status=400, headers={"DPoP-Nonce": "n-1"})

    app.include_router(router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.get("/_t/dpop")
    assert r.status_code == 400
    assert r.headers["DPoP-Nonce"] == "n-1"
    assert r.json()["error"] == "use_dpop_nonce"


def _dispatch(app: object, index: str = "by_segment") -> dict[str, object]:
    from portfeil.app import ServiceDispatch

    for m in app.user_middleware:  # type: ignore[attr-defined]
        if m.cls is ServiceDispatch:
            return dict(m.kwargs[index])
    raise AssertionError("no ServiceDispatch middleware")


def test_dispatch_indexes_fixed_protocol_paths(ctx: AppContext) -> None:
    by_path = _dispatch(create_app(ctx), "by_path")
    hot = ("/issuer/token", "/issuer/nonce", "/issuer/credential", "/verifier/api/v1/transactions")
    for path in hot:
        assert path in by_path, path
    assert len({id(by_path[p]) for p in hot}) == len(hot)  # one application per path
    # paths with parameters, and the combined application's own, keep the other routing
    for path in ("/health", "/docs", "/issuer/offers/{offer_id}", "/verifier/request/{transaction_id}"):
        assert path not in by_path, path


def test_a_fixed_path_that_a_parametric_route_also_matches_is_not_indexed(ctx: AppContext) -> None:
    from fastapi import APIRouter

    from portfeil.app import _path_apps

    a, b = APIRouter(), APIRouter()
    a.add_api_route("/items/{item}", lambda item: None)
    a.add_api_route("/items/new", lambda: None)  # shadowed by the route above: order decides, so not indexed
    a.add_api_route("/items", lambda: None)
    b.add_api_route("/other/{x}", lambda x: None)
    b.add_api_route("/other/x/y", lambda: None)  # no parametric route matches it
    b.add_api_route("/health/deep", lambda: None)  # first segment taken by the combined application
    index = _path_apps(create_app(ctx), [[a], [b]], taken={"health"})
    assert set(index) == {"/items", "/other/x/y"}


async def test_a_fixed_path_keeps_405_and_other_methods(client: httpx.AsyncClient) -> None:
    register = await client.get("/eid/register/administrators.json")
    assert register.status_code == 200
    assert register.headers["content-type"].startswith("application/json")
    wrong = await client.delete("/issuer/nonce")
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "method_not_allowed"


def test_dispatch_indexes_each_services_own_segments(ctx: AppContext) -> None:
    index = _dispatch(create_app(ctx))
    for segment in ("issuer", "verifier", "trust", "eid", "wallet", "demo"):
        assert segment in index, segment
    # The combined application's own paths are never taken away from it.
    for own in ("", "health", "ready", "static", "docs", "openapi.json", "redoc"):
        assert own not in index, own
    # One application per service: every issuer path goes to the same one.
    assert index["issuer"] is not index["verifier"]


def test_a_segment_two_services_share_stays_with_the_combined_app(ctx: AppContext) -> None:
    from fastapi import APIRouter

    from portfeil.app import _service_apps

    a, b = APIRouter(), APIRouter()
    a.add_api_route("/shared/a", lambda: None)
    a.add_api_route("/only-a/x", lambda: None)
    b.add_api_route("/shared/b", lambda: None)
    app = create_app(ctx)
    index = _service_apps(app, [[a], [b]], taken={"health"})
    assert set(index) == {"only-a"}


async def test_dispatched_paths_keep_body_limit_and_json_errors(client: httpx.AsyncClient) -> None:
    big = await client.post("/issuer/token", content=b"x" * 2_000_001)
    assert big.status_code == 413
    assert big.json()["error"] == "request_too_large"
    missing = await client.get("/issuer/no-such-endpoint")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    wrong_method = await client.get("/issuer/token")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"] == "method_not_allowed"


def test_server_processes_tune_the_garbage_collector() -> None:
    import gc

    from portfeil.app import SERVER_GC_THRESHOLDS, tune_gc_for_serving

    before = gc.get_threshold()
    try:
        tune_gc_for_serving()
        assert gc.get_threshold() == SERVER_GC_THRESHOLDS
        assert gc.get_freeze_count() > 0
        assert SERVER_GC_THRESHOLDS[0] > before[0]
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
