"""The operators' HTTP API of the population register."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from portfeil.app import create_app
from portfeil.context import AppContext
from portfeil.sources import registry as reg
from portfeil.sources.seed import seed_demo_persons

AUTH = {"Authorization": "Bearer portfeil-demo-operator"}
API = "/population/api/v1"


@pytest.fixture
async def client(ctx: AppContext) -> AsyncIterator[httpx.AsyncClient]:
    await seed_demo_persons(ctx.db, clock=ctx.clock)
    app = create_app(ctx)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


async def test_rejects_unauthenticated_calls(client: httpx.AsyncClient) -> None:
    for method, path in [("GET", f"{API}/persons"), ("GET", f"{API}/persons/8506258485"),
                         ("POST", f"{API}/persons/8506258485/death"),
                         ("POST", f"{API}/documents/645123450/invalidate")]:
        r = await client.request(method, path, json={"date_of_death": "2026-11-01"})
        assert r.status_code == 401, path
        assert r.json()["error"] == "operator_token_required"
    r = await client.get(f"{API}/persons", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401


async def test_openapi_lists_the_endpoints(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {f"{API}/persons", f"{API}/persons/{{ref}}", f"{API}/persons/{{ref}}/death",
            f"{API}/documents/{{number}}/invalidate"} <= set(paths)


async def test_list_and_show(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{API}/persons", params={"alive": "true", "min_age": 18}, headers=AUTH)
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 5  # ivan, elena, radka, georgi, thomas
    assert all(p["alive"] and p["age"] >= 18 for p in body["persons"])
    r = await client.get(f"{API}/persons/1144122470", headers=AUTH)
    maria = r.json()
    assert maria["names"]["given_latin"] == "Maria"
    assert maria["age"] == 15
    assert {x["personal_number"] for x in maria["legal_representatives"]} == {"8506258485", "8709304914"}
    by_id = (await client.get(f"{API}/persons/{maria['id']}", headers=AUTH)).json()
    assert by_id["personal_number"] == "1144122470"


async def test_unknown_person_is_404_json(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{API}/persons/0042096485", headers=AUTH)
    assert r.status_code == 404
    assert r.json()["error"] == "person_not_found"


async def test_record_death_and_refusals(client: httpx.AsyncClient, ctx: AppContext) -> None:
    r = await client.post(f"{API}/persons/6007083008/death", json={"date_of_death": "2026-11-20"}, headers=AUTH)
    assert r.status_code == 200
    assert r.json()["date_of_death"] == "2026-11-20"
    again = await client.post(f"{API}/persons/6007083008/death", json={"date_of_death": "2026-11-20"}, headers=AUTH)
    assert again.status_code == 409
    assert again.json()["error"] == "person_deceased"
    future = await client.post(f"{API}/persons/8506258485/death", json={"date_of_death": "2030-01-01"}, headers=AUTH)
    assert future.status_code == 400
    assert future.json()["error"] == "death_in_future"
    malformed = await client.post(f"{API}/persons/8506258485/death", json={"date_of_death": "soon"}, headers=AUTH)
    assert malformed.status_code == 422
    assert (await reg.find_person(ctx.db, "8506258485", clock=ctx.clock)).alive


async def test_invalidate_document(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{API}/documents/381234567/invalidate", json={"status": "lost"}, headers=AUTH)
    assert r.status_code == 200
    assert r.json() == {"number": "381234567", "doc_type": "passport", "status": "lost"}
    again = await client.post(f"{API}/documents/381234567/invalidate", json={}, headers=AUTH)
    assert again.status_code == 409
    bad = await client.post(f"{API}/documents/381234567/invalidate", json={"status": "valid"}, headers=AUTH)
    assert bad.status_code == 422
