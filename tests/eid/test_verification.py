"""Identity verification by eID centres: challenge, chain, validity, status, attribute minimisation, sector
identifier, billing, the verification log (10-year retention, no location or device data) and holder access."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from portfeil.app import create_app
from portfeil.context import AppContext
from portfeil.db import Base
from portfeil.eid.demo import DemoSetup, IssuedToHolder, issue_to_person
from portfeil.eid.errors import EidError
from portfeil.eid.holder import HolderKey, authentication, generate_key
from portfeil.eid.registry import EidRegistry
from portfeil.pki.ca import create_intermediate_ca, create_root_ca
from portfeil.pki.roles import Role
from tests.eid.conftest import IVAN


@pytest.fixture
async def service(reg: EidRegistry, desk: DemoSetup) -> dict[str, Any]:
    await reg.add_sector("health", "Здравеопазване", "Health")
    prov, key = await reg.register_provider("Болница", "175074752", is_state_body=False)
    svc = await reg.add_service(prov.id, "Направления", "2077", ["given_name", "family_name", "birth_date"],
                                sector_code="health")
    return {"provider": prov, "key": key, "service": svc}


async def _auth(reg: EidRegistry, holder: IssuedToHolder) -> dict[str, Any]:
    ch = await reg.new_challenge()
    return holder.auth_body(ch.challenge)


async def test_returns_only_registered_attributes_and_sector_id(
    reg: EidRegistry, ivan: IssuedToHolder, service: dict[str, Any]
) -> None:
    body = await _auth(reg, ivan)
    vid = await reg.verify_authentication(service["service"]["id"], **body)
    assert vid.attributes == {"given_name": "Иван", "family_name": "Иванов", "birth_date": "1985-06-25"}
    assert vid.personal_number is None, "the ЕГН is not registered for this service"
    assert vid.sector_id == await reg.sector_id(ivan.certificate.electronic_id, "health")
    assert vid.loa == "high"
    assert vid.electronic_id == ivan.certificate.electronic_id


async def test_attributes_read_from_population_register_now(
    reg: EidRegistry, ivan: IssuedToHolder, ctx: AppContext
) -> None:
    from portfeil.sources import registry as population

    prov, _ = await reg.register_provider("Община", "177480148", is_state_body=True)
    svc = await reg.add_service(prov.id, "Адресна регистрация", "1", ["current_address", "personal_number"])
    await population.update_person(ctx.db, IVAN, {"current_address": population.AddressRecord("BG", "Варна")},
                                   clock=ctx.clock)
    vid = await reg.verify_authentication(svc["id"], **await _auth(reg, ivan))
    assert vid.attributes["current_address"]["locality"] == "Варна"
    assert vid.personal_number == IVAN
    assert vid.sector_id is None


async def test_rejects_reused_challenge(reg: EidRegistry, ivan: IssuedToHolder, service: dict[str, Any]) -> None:
    body = await _auth(reg, ivan)
    await reg.verify_authentication(service["service"]["id"], **body)
    with pytest.raises(EidError) as e:
        await reg.verify_authentication(service["service"]["id"], **body)
    assert e.value.code == "challenge_reused"


async def test_rejects_expired_challenge(reg: EidRegistry, ivan: IssuedToHolder, service: dict[str, Any],
                                         ctx: AppContext) -> None:
    body = await _auth(reg, ivan)
    ctx.clock.advance(minutes=6)  # type: ignore[attr-defined]
    with pytest.raises(EidError) as e:
        await reg.verify_authentication(service["service"]["id"], **body)
    assert e.value.code == "challenge_expired"


async def test_rejects_challenge_not_issued_by_us(reg: EidRegistry, ivan: IssuedToHolder,
                                                  service: dict[str, Any]) -> None:
    with pytest.raises(EidError) as e:
        await reg.verify_authentication(service["service"]["id"], **ivan.auth_body("made-up-challenge"))
    assert e.value.code == "unknown_challenge"


async def test_rejects_wrong_signature(reg: EidRegistry, ivan: IssuedToHolder, service: dict[str, Any]) -> None:
    ch = await reg.new_challenge()
    thief = HolderKey(generate_key(), ivan.holder.certificate, ivan.holder.chain)
    with pytest.raises(EidError) as e:
        await reg.verify_authentication(service["service"]["id"], **authentication(thief, ch.challenge))
    assert e.value.code == "invalid_signature"


async def test_rejects_chain_of_another_ca(reg: EidRegistry, ivan: IssuedToHolder, service: dict[str, Any]) -> None:
    from portfeil.eid.certificates import build_eid_certificate, parse_csr
    from portfeil.eid.holder import make_csr

    now = reg.clock.now()
    root = create_root_ca("Fake eID Root", Role.EID, now=now)
    fake_ca = create_intermediate_ca(root, "Fake eID Issuing", Role.EID, now=now)
    key = generate_key()
    cert = build_eid_certificate(fake_ca, parse_csr(make_csr(key)), ivan.certificate.electronic_id, now=now,
                                 crl_url="http://x", ocsp_url="http://y")
    forged = HolderKey(key, cert, [fake_ca.certificate])
    ch = await reg.new_challenge()
    with pytest.raises(EidError) as e:
        await reg.verify_authentication(service["service"]["id"], **authentication(forged, ch.challenge))
    assert e.value.code == "certificate_rejected"
    assert e.value.details["reason"] == "untrusted_chain"


async def test_rejects_expired_certificate(reg: EidRegistry, ivan: IssuedToHolder, service: dict[str, Any],
                                           ctx: AppContext) -> None:
    ctx.clock.advance(days=5 * 365 + 2)  # type: ignore[attr-defined]
    with pytest.raises(EidError) as e:
        await reg.verify_authentication(service["service"]["id"], **await _auth(reg, ivan))
    assert e.value.code == "certificate_rejected"
    assert e.value.details["reason"] == "certificate_expired"


async def test_rejects_suspended_and_terminated(reg: EidRegistry, ivan: IssuedToHolder,
                                                service: dict[str, Any]) -> None:
    await reg.suspend(ivan.certificate.serial, "authority_cause", actor="authority")
    with pytest.raises(EidError) as e:
        await reg.verify_authentication(service["service"]["id"], **await _auth(reg, ivan))
    assert e.value.code == "certificate_suspended"
    await reg.terminate(ivan.certificate.serial, "compromise", actor="authority")
    with pytest.raises(EidError) as e:
        await reg.verify_authentication(service["service"]["id"], **await _auth(reg, ivan))
    assert e.value.code == "certificate_terminated"


async def test_rejects_provider_using_another_providers_service(
    reg: EidRegistry, ivan: IssuedToHolder, service: dict[str, Any]
) -> None:
    other, _ = await reg.register_provider("Друг", "131063188", is_state_body=False)
    with pytest.raises(EidError) as e:
        await reg.verify_authentication(service["service"]["id"], **await _auth(reg, ivan), provider_id=other.id)
    assert e.value.code == "forbidden"


async def test_billing_for_non_state_providers_only(reg: EidRegistry, ivan: IssuedToHolder,
                                                    service: dict[str, Any]) -> None:
    await reg.verify_authentication(service["service"]["id"], **await _auth(reg, ivan))
    state, _ = await reg.register_provider("Министерство", "131063188", is_state_body=True)
    svc = await reg.add_service(state.id, "Справка", "3", ["given_name"])
    await reg.verify_authentication(svc["id"], **await _auth(reg, ivan))
    records = await reg.billing()
    assert [r["provider_id"] for r in records] == [service["provider"].id]


async def test_rejects_unknown_attribute_in_service(reg: EidRegistry, service: dict[str, Any]) -> None:
    with pytest.raises(EidError) as e:
        await reg.add_service(service["provider"].id, "x", "y", ["given_name", "iris_scan"])
    assert e.value.code == "invalid_attributes"


async def test_log_retention_ten_years(reg: EidRegistry, ivan: IssuedToHolder, service: dict[str, Any],
                                       ctx: AppContext) -> None:
    await reg.verify_authentication(service["service"]["id"], **await _auth(reg, ivan))
    eid = ivan.certificate.electronic_id
    assert len(await reg.verification_log(eid)) == 1
    ctx.clock.advance(days=365 * 10 - 5)  # type: ignore[attr-defined]
    assert await reg.purge_log() == 0
    assert len(await reg.verification_log(eid)) == 1
    ctx.clock.advance(days=10)  # type: ignore[attr-defined]
    assert await reg.purge_log() == 1
    assert await reg.verification_log(eid) == []
    assert await reg.billing() == [], "billing records go with their log entries"


def test_log_schema_has_no_location_or_device_columns() -> None:
    from portfeil.eid.models import Verification

    names = {c.name for c in Verification.__table__.columns}
    forbidden = ("ip", "address", "location", "geo", "device", "agent", "user_agent", "lat", "lon", "country")
    assert not [n for n in names for f in forbidden if f in n.split("_") or n == f], names


@pytest.fixture
async def client(ctx: AppContext, reg: EidRegistry) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ctx)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("203.0.113.77", 51515)),
                                 base_url="http://testserver") as c:
        yield c


async def test_client_address_and_device_are_stored_nowhere(
    reg: EidRegistry, ivan: IssuedToHolder, service: dict[str, Any], client: httpx.AsyncClient, ctx: AppContext
) -> None:
    markers = {"ip": "203.0.113.77", "xff": "198.51.100.23", "ua": "MarkerAgent/9.9 (Pixel 42; device-id 5566)",
               "port": "51515"}
    headers = {"authorization": f"Bearer {service['key']}", "x-forwarded-for": markers["xff"],
               "x-real-ip": markers["xff"], "user-agent": markers["ua"], "forwarded": f"for={markers['xff']}"}
    ch = (await client.post("/eid/api/v1/challenges", headers=headers)).json()["challenge"]
    r = await client.post("/eid/api/v1/verifications", headers=headers,
                          json={"service_id": service["service"]["id"], **ivan.auth_body(ch)})
    assert r.status_code == 200, r.text
    ch = (await client.post("/eid/api/v1/challenges", headers=headers)).json()["challenge"]
    r = await client.post("/eid/api/v1/holder/login", headers=headers, json=ivan.auth_body(ch))
    assert r.status_code == 200, r.text
    r = await client.get("/eid/api/v1/holder/log", headers=headers)
    assert r.status_code == 200
    assert len(r.json()["entries"]) == 2
    found = []
    async with ctx.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            try:
                rows = (await conn.execute(sa.select(table))).all()
            except Exception:  # noqa: BLE001 - a table of a service without migrations here
                continue
            for row in rows:
                text = repr(tuple(row))
                found += [(table.name, k) for k, v in markers.items() if k != "port" and v in text]
    assert found == [], f"client address or device data stored in {found}"
    assert (await reg.billing())[0]["provider_id"] == service["provider"].id


async def test_holder_reads_own_log_after_eid_login(
    reg: EidRegistry, ivan: IssuedToHolder, service: dict[str, Any], client: httpx.AsyncClient, desk: DemoSetup
) -> None:
    await reg.verify_authentication(service["service"]["id"], **await _auth(reg, ivan))
    elena = await issue_to_person(reg, "8709304914", setup=desk)
    await reg.verify_authentication(service["service"]["id"], **await _auth(reg, elena))
    assert (await client.get("/eid/api/v1/holder/log")).status_code == 401
    ch = (await client.post("/eid/api/v1/challenges")).json()["challenge"]
    r = await client.post("/eid/api/v1/holder/login", json=ivan.auth_body(ch))
    assert r.status_code == 200
    assert "httponly" in r.headers["set-cookie"].lower()
    assert "samesite=strict" in r.headers["set-cookie"].lower()
    log = (await client.get("/eid/api/v1/holder/log")).json()["entries"]
    assert sorted(e["channel"] for e in log) == ["holder_login", "provider"], "only Иван's own entries"
    entry = next(e for e in log if e["channel"] == "provider")
    assert entry["service"] == "Направления"
    assert entry["attributes"] == ["given_name", "family_name", "birth_date"]
    certs = (await client.get("/eid/api/v1/holder/certificates")).json()
    assert [c["serial"] for c in certs["certificates"]] == [ivan.certificate.serial]
    await client.post("/eid/api/v1/holder/logout")
    assert (await client.get("/eid/api/v1/holder/log")).status_code == 401


async def test_holder_session_expires(reg: EidRegistry, ivan: IssuedToHolder, client: httpx.AsyncClient,
                                      ctx: AppContext) -> None:
    ch = (await client.post("/eid/api/v1/challenges")).json()["challenge"]
    assert (await client.post("/eid/api/v1/holder/login", json=ivan.auth_body(ch))).status_code == 200
    ctx.clock.advance(timedelta(minutes=16))  # type: ignore[attr-defined]
    r = await client.get("/eid/api/v1/holder/certificates")
    assert r.status_code == 401
    assert r.json()["error"] == "holder_login_required"


async def test_holder_login_refused_for_suspended(reg: EidRegistry, ivan: IssuedToHolder,
                                                  client: httpx.AsyncClient) -> None:
    await reg.suspend(ivan.certificate.serial, "authority_cause", actor="authority")
    ch = (await client.post("/eid/api/v1/challenges")).json()["challenge"]
    r = await client.post("/eid/api/v1/holder/login", json=ivan.auth_body(ch))
    assert r.status_code == 400
    assert r.json()["error"] == "certificate_suspended"
