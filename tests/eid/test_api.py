"""HTTP interfaces: who may call what (each role refused elsewhere), the public register (JSON, CSV, HTML in bg/en),
the desk, misuse reports, renewal, holder pages, and OpenAPI descriptions."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from portfeil.app import create_app
from portfeil.context import AppContext
from portfeil.eid.demo import DemoSetup, IssuedToHolder
from portfeil.eid.holder import generate_key, make_csr
from portfeil.eid.registry import EidRegistry
from tests.eid.conftest import IVAN

OPERATOR = {"authorization": "Bearer portfeil-demo-operator"}
Route = tuple[str, str, dict[str, Any] | None]


@pytest.fixture
async def client(ctx: AppContext, reg: EidRegistry) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ctx)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def keys(reg: EidRegistry, desk: DemoSetup) -> dict[str, Any]:
    prov, pkey = await reg.register_provider("Банка", "131063188", is_state_body=False)
    svc = await reg.add_service(prov.id, "Откриване на сметка", "B-1", ["given_name", "family_name"])
    assert desk.administrator_key is not None
    return {"desk": {"authorization": f"Bearer {desk.administrator_key}"},
            "provider": {"authorization": f"Bearer {pkey}"}, "service_id": svc["id"]}


async def _issue_http(client: httpx.AsyncClient, keys: dict[str, Any], desk: DemoSetup) -> httpx.Response:
    return await client.post("/eid/api/v1/desk/certificates", headers=keys["desk"], json={
        "personal_number": IVAN, "csr_pem": make_csr(generate_key()).decode(), "officer": "служител 7",
        "document_number": "645123450", "centre_id": desk.centre.id})


async def test_desk_issues_with_its_key(client: httpx.AsyncClient, keys: dict[str, Any], desk: DemoSetup) -> None:
    r = await _issue_http(client, keys, desk)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["certificate_pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert len(body["ca_chain_pem"]) == 2
    assert body["administrator_id"] == desk.administrator.id


async def test_role_matrix_refuses_others(
    client: httpx.AsyncClient, keys: dict[str, Any], desk: DemoSetup, ivan: IssuedToHolder
) -> None:
    serial = ivan.certificate.serial
    desk_routes: list[Route] = [
        ("POST", "/eid/api/v1/desk/certificates",
         {"personal_number": IVAN, "csr_pem": "x", "officer": "o", "document_number": "1"}),
        ("GET", f"/eid/api/v1/desk/certificates/{serial}", None),
        ("POST", f"/eid/api/v1/desk/certificates/{serial}/suspend", {"officer": "o"}),
    ]
    provider_routes: list[Route] = [
        ("POST", "/eid/api/v1/verifications",
         {"service_id": keys["service_id"], "challenge": "c", "signature": "s", "chain": ["x"]}),
    ]
    holder_routes: list[Route] = [
        ("GET", "/eid/api/v1/holder/certificates", None),
        ("GET", "/eid/api/v1/holder/log", None),
        ("GET", "/eid/api/v1/holder/notifications", None),
    ]
    authority_routes: list[Route] = [
        ("GET", "/eid/api/v1/certificates", None),
        ("GET", f"/eid/api/v1/certificates/{serial}", None),
        ("POST", f"/eid/api/v1/certificates/{serial}/terminate", {"reason": "compromise"}),
        ("POST", "/eid/api/v1/sectors", {"code": "tax", "name_bg": "Д", "name_en": "T"}),
        ("POST", "/eid/api/v1/providers", {"name": "x", "eik": "131063188", "is_state_body": True}),
        ("GET", "/eid/api/v1/billing", None),
        ("POST", "/eid/api/v1/jobs/purge-log", None),
        ("GET", "/eid/api/v1/register/entries", None),
    ]
    anonymous: dict[str, str] = {}
    cases: list[tuple[list[Route], list[dict[str, str]]]] = [
        (desk_routes, [anonymous, OPERATOR, keys["provider"]]),
        (provider_routes, [anonymous, OPERATOR, keys["desk"]]),
        (holder_routes, [anonymous, OPERATOR, keys["desk"], keys["provider"]]),
        (authority_routes, [anonymous, keys["desk"], keys["provider"]]),
    ]
    for routes, callers in cases:
        for method, path, body in routes:
            for headers in callers:
                r = await client.request(method, path, headers=headers, json=body)
                assert r.status_code in (401, 403), (method, path, headers, r.status_code, r.text)
    assert (await client.get(f"/eid/api/v1/certificates/{serial}", headers=OPERATOR)).status_code == 200


async def test_suspended_administrator_key_refused(client: httpx.AsyncClient, keys: dict[str, Any],
                                                   desk: DemoSetup, reg: EidRegistry) -> None:
    await reg.register.measure(desk.administrator.id, "suspension", reason="inspection", actor="authority")
    r = await _issue_http(client, keys, desk)
    assert r.status_code == 403
    assert r.json()["error"] == "administrator_not_active"


async def test_desk_sees_only_its_certificates(client: httpx.AsyncClient, keys: dict[str, Any], desk: DemoSetup,
                                               reg: EidRegistry, ivan: IssuedToHolder) -> None:
    from portfeil.eid.demo import _docs

    other = await reg.register.apply("administrator", name="Друг администратор", eik="131063188", address="Варна",
                                     documents=_docs("administrator"))
    _, key = await reg.register.register(other.id, actor="authority")
    r = await client.get(f"/eid/api/v1/desk/certificates/{ivan.certificate.serial}",
                         headers={"authorization": f"Bearer {key}"})
    assert r.status_code == 404


async def test_desk_lifecycle_and_invalid_transition_code(client: httpx.AsyncClient, keys: dict[str, Any],
                                                          ivan: IssuedToHolder) -> None:
    base = f"/eid/api/v1/desk/certificates/{ivan.certificate.serial}"
    assert (await client.post(f"{base}/suspend", headers=keys["desk"], json={"officer": "o"})).status_code == 200
    r = await client.post(f"{base}/suspend", headers=keys["desk"], json={"officer": "o"})
    assert r.status_code == 409
    assert r.json()["error"] == "invalid_transition"
    assert (await client.post(f"{base}/resume", headers=keys["desk"], json={"officer": "o"})).json()["status"] == \
        "active"
    r = await client.post(f"{base}/terminate", headers=keys["desk"], json={"officer": "o", "reason": "death"})
    assert r.status_code == 422, "a desk cannot terminate for death"


async def test_provider_verifies_over_http(client: httpx.AsyncClient, keys: dict[str, Any],
                                           ivan: IssuedToHolder) -> None:
    ch = (await client.post("/eid/api/v1/challenges")).json()["challenge"]
    r = await client.post("/eid/api/v1/verifications", headers=keys["provider"],
                          json={"service_id": keys["service_id"], **ivan.auth_body(ch)})
    assert r.status_code == 200, r.text
    assert r.json()["attributes"] == {"given_name": "Иван", "family_name": "Иванов"}
    assert r.json()["loa"] == "high"


async def test_misuse_report_public(client: httpx.AsyncClient, ivan: IssuedToHolder, reg: EidRegistry) -> None:
    r = await client.post("/eid/api/v1/misuse-reports", json={"serial": ivan.certificate.serial,
                                                              "reporter": "bank", "evidence": "phishing"})
    assert r.status_code == 200
    assert r.json()["status"] == "suspended"
    await reg.resume(ivan.certificate.serial, actor="desk", identity_checked=True)
    ch = (await client.post("/eid/api/v1/challenges")).json()["challenge"]
    assert (await client.post("/eid/api/v1/holder/login", json=ivan.auth_body(ch))).status_code == 200
    notes = (await client.get("/eid/api/v1/holder/notifications")).json()["notifications"]
    assert [n["kind"] for n in notes] == ["suspended_misuse_report"]
    page = await client.get("/eid/my?lang=en")
    assert "suspended after a misuse report" in page.text


async def test_renewal_over_http(client: httpx.AsyncClient, ivan: IssuedToHolder, ctx: AppContext) -> None:
    from portfeil.eid.holder import sign_challenge

    ctx.clock.advance(days=5 * 365 - 10)  # type: ignore[attr-defined]
    ch = (await client.post("/eid/api/v1/challenges")).json()["challenge"]
    r = await client.post("/eid/api/v1/renewals", json={
        "serial": ivan.certificate.serial, "csr_pem": make_csr(generate_key()).decode(), "challenge": ch,
        "signature": sign_challenge(ivan.holder.key, ch)})
    assert r.status_code == 200, r.text
    assert r.json()["renewed_from"] == ivan.certificate.serial


async def test_public_register_json_csv_html(client: httpx.AsyncClient, desk: DemoSetup, reg: EidRegistry) -> None:
    from portfeil.eid.demo import _docs

    pending = await reg.register.apply("centre", name="Чакащ център", eik="131063188", address="Русе",
                                       documents=_docs("centre"))
    await reg.register.measure(desk.centre.id, "warning", reason="late report", actor="authority")
    r = await client.get("/eid/register/administrators.json")
    assert r.status_code == 200
    assert r.json()["entries"][0]["name"] == desk.administrator.name
    r = await client.get("/eid/register/centres.json")
    data = r.json()
    assert [e["id"] for e in data["entries"]] == [desk.centre.id], "applications are not published"
    assert pending.id not in r.text
    assert any(h["action"] == "measure_warning" and h["reason"] == "late report" for h in data["entries"][0]["history"])
    r = await client.get("/eid/register/centres.csv")
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows[0]["name"] == desk.centre.name
    assert "measure_warning" in rows[0]["measures"]
    bg = await client.get("/eid/register?lang=bg")
    en = await client.get("/eid/register?lang=en")
    assert "Регистър на администраторите" in bg.text
    assert "Register of eID administrators" in en.text
    assert desk.centre.name in en.text


async def test_register_management_over_http(client: httpx.AsyncClient, reg: EidRegistry) -> None:
    docs = [{"name": n, "sha256": "a" * 64} for n in ("application", "security_policy", "conformity_assessment",
                                                       "insurance")]
    r = await client.post("/eid/api/v1/register/applications", headers=OPERATOR, json={
        "kind": "administrator", "name": "Нов", "eik": "131063188", "address": "Плевен", "documents": docs[:2]})
    assert r.status_code == 400
    assert r.json()["error"] == "missing_documents"
    r = await client.post("/eid/api/v1/register/applications", headers=OPERATOR, json={
        "kind": "administrator", "name": "Нов", "eik": "131063188", "address": "Плевен", "documents": docs})
    entry = r.json()["id"]
    r = await client.post(f"/eid/api/v1/register/{entry}/actions", headers=OPERATOR, json={"action": "register"})
    assert r.json()["api_key"].startswith("adm_")
    r = await client.post(f"/eid/api/v1/register/{entry}/actions", headers=OPERATOR,
                          json={"action": "terminate", "reason": "ceased activity"})
    assert r.json()["status"] == "terminated"
    r = await client.post(f"/eid/api/v1/register/{entry}/actions", headers=OPERATOR,
                          json={"action": "reinstate", "reason": "x"})
    assert r.status_code == 409


async def test_holder_pages_login_flow_bg_en(client: httpx.AsyncClient, ivan: IssuedToHolder) -> None:
    page = await client.get("/eid/my?lang=en")
    assert page.status_code == 200
    assert "Log in with your eID" in page.text
    bg = await client.get("/eid/my/log?lang=bg")
    assert "Вход с електронна идентичност" in bg.text
    challenge = page.text.split('<code id="challenge">')[1].split("</code>")[0]
    r = await client.post("/eid/my/login?next=log", data={"auth": json.dumps(ivan.auth_body(challenge))})
    assert r.status_code == 303
    assert r.headers["location"] == "/eid/my/log"
    my = await client.get("/eid/my?lang=en")
    assert ivan.certificate.serial in my.text
    assert ivan.certificate.electronic_id in my.text
    log = await client.get("/eid/my/log?lang=bg")
    assert "Моят дневник на проверките" in log.text
    bad = await client.post("/eid/my/login", data={"auth": "{not json"})
    assert bad.status_code == 400
    assert "invalid_request" in bad.text


async def test_openapi_states_who_may_call(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    eid_ops = [op for path, item in spec["paths"].items() if path.startswith("/eid/") for op in item.values()]
    assert len(eid_ops) > 25
    missing = [op.get("summary") for op in eid_ops if "Who may call" not in op.get("description", "")]
    assert missing == []
