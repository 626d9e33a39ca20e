"""The HTTP API and pages: who may call what (operator endpoints refuse others), public services, the bilingual
register pages, and end-to-end flows over HTTP."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from cryptography import x509

from portfeil.formats.status_list import INVALID, verify_status_list_jwt
from portfeil.pki.ca import create_root_ca
from portfeil.pki.certs import cert_to_pem
from portfeil.pki.roles import Role
from portfeil.trust.registry import TrustRegistry
from tests.trust.conftest import OPERATOR, make_pop, new_key, registration

RID = "00000000-0000-0000-0000-000000000000"
OPERATOR_ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/trust/api/v1/relying-parties", registration()),
    ("POST", f"/trust/api/v1/relying-parties/{RID}/approve", None),
    ("POST", f"/trust/api/v1/relying-parties/{RID}/suspend", {"reason": "x"}),
    ("POST", f"/trust/api/v1/relying-parties/{RID}/reinstate", {"reason": "x"}),
    ("POST", f"/trust/api/v1/relying-parties/{RID}/deregister", {"reason": "x"}),
    ("POST", f"/trust/api/v1/relying-parties/{RID}/access-certificates", {"generate": True}),
    ("GET", f"/trust/api/v1/relying-parties/{RID}/history", None),
    ("POST", "/trust/api/v1/anchors", {"role": "pid-provider", "certificate_pem": "x"}),
    ("GET", "/trust/api/v1/wallet-units", None),
    ("POST", f"/trust/api/v1/wallet-units/{RID}/revoke", {"reason": "operator"}),
    ("POST", "/trust/api/v1/breaches", {"description": {"bg": "б", "en": "b"}}),
]


@pytest.mark.parametrize(("method", "path", "body"), OPERATOR_ENDPOINTS)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic b3A6b3A="}])
async def test_operator_endpoints_refuse_others(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]
) -> None:
    r = await client.request(method, path, json=body, headers=headers)
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "operator_token_required"


async def test_every_endpoint_states_who_may_call_it(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    trust_ops = [(p, m, op) for p, item in spec["paths"].items() if p.startswith("/trust/") for m, op in item.items()]
    assert len(trust_ops) >= 25
    for path, method, op in trust_ops:
        assert "Who may call:" in op.get("description", ""), (method, path)
    operator_paths = {(m.upper(), p.replace("{rp_id}", RID).replace("{unit_id}", RID))
                      for p, m, op in trust_ops if "operator only" in op["description"]}
    assert operator_paths == {(m, p) for m, p, _ in OPERATOR_ENDPOINTS}


async def _register_over_http(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    r = await client.post("/trust/api/v1/relying-parties", json=registration(**overrides), headers=OPERATOR)
    assert r.status_code == 201, r.text
    rp: dict[str, Any] = r.json()
    r = await client.post(f"/trust/api/v1/relying-parties/{rp['id']}/approve", headers=OPERATOR)
    assert r.status_code == 200, r.text
    return rp


async def test_relying_party_flow_over_http(client: httpx.AsyncClient, registry: TrustRegistry) -> None:
    rp = await _register_over_http(client)
    rid = rp["id"]
    r = await client.post(f"/trust/api/v1/relying-parties/{rid}/access-certificates", json={"generate": True},
                          headers=OPERATOR)
    assert r.status_code == 201, r.text
    issued = r.json()
    assert "PRIVATE KEY" in issued["private_key_pem"]
    register = (await client.get("/trust/api/v1/relying-parties")).json()["relying_parties"]
    assert [p["id"] for p in register] == [rid]
    assert "contacts" in register[0]
    status = (await client.get(f"/trust/api/v1/relying-parties/{rid}/status")).json()
    assert status["registered"] is True
    valid = await client.post("/trust/api/v1/validate/access-certificate",
                              json={"certificate_chain": issued["certificate_chain_pem"]})
    assert valid.status_code == 200
    assert valid.json()["registered"] is True
    assert valid.json()["intended_uses"][0]["credentials"][0]["claims"] == [["age_equal_or_over", "18"]]
    # same answer from base64 DER
    assert (await client.post("/trust/api/v1/validate/access-certificate",
                              json={"certificate_chain": issued["x5c"]})).json()["registered"] is True
    rcs = (await client.get(f"/trust/api/v1/relying-parties/{rid}/registration-certificates")).json()
    assert len(rcs["registration_certificates"]) == 2

    r = await client.post(f"/trust/api/v1/relying-parties/{rid}/deregister", json={"reason": "closed"},
                          headers=OPERATOR)
    assert r.json()["status"] == "deregistered"
    crl = x509.load_der_x509_crl((await client.get("/trust/crl/rp-access.crl")).content)
    leaf = x509.load_pem_x509_certificate(issued["certificate_chain_pem"][0].encode())
    assert crl.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None
    token = (await client.get("/trust/status/rp")).text
    verified = verify_status_list_jwt(token, uri="http://testserver/trust/status/rp", now=registry.clock.now(),
                                      chain_validator=await registry.validator(Role.REGISTRAR))
    idx = json.loads(base64.urlsafe_b64decode(rcs["registration_certificates"][0]["jwt"].split(".")[1] + "=="))[
        "status"]["status_list"]["idx"]
    assert verified.status_of(idx) == INVALID
    valid = await client.post("/trust/api/v1/validate/access-certificate",
                              json={"certificate_chain": issued["certificate_chain_pem"]})
    assert valid.json()["registered"] is False
    assert valid.json()["certificate_status"] == "revoked"


async def test_invalid_transition_over_http(client: httpx.AsyncClient) -> None:
    rp = await _register_over_http(client)
    r = await client.post(f"/trust/api/v1/relying-parties/{rp['id']}/reinstate", json={"reason": "x"},
                          headers=OPERATOR)
    assert r.status_code == 409
    assert r.json()["error"] == "invalid_transition"


async def test_bad_eik_over_http(client: httpx.AsyncClient) -> None:
    r = await client.post("/trust/api/v1/relying-parties", json=registration(eik="175074751"), headers=OPERATOR)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_eik"


async def test_validation_refuses_garbage(client: httpx.AsyncClient) -> None:
    r = await client.post("/trust/api/v1/validate/access-certificate", json={"certificate_chain": ["bm90IGEgY2VydA=="]})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_certificate"


async def test_wallet_unit_flow_over_http(client: httpx.AsyncClient, registry: TrustRegistry) -> None:
    key = new_key()
    nonce = (await client.post("/trust/wallet-provider/nonce")).json()["nonce"]
    proof = make_pop(key, aud="http://testserver/trust/wallet-provider", nonce=nonce, iat=registry.clock.timestamp())
    r = await client.post("/trust/wallet-provider/wallet-units", json={"proof": proof, "wallet_version": "1.0"})
    assert r.status_code == 201, r.text
    unit = r.json()
    replay = await client.post("/trust/wallet-provider/wallet-units", json={"proof": proof})
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_nonce"
    uid = unit["wallet_unit_id"]
    assert (await client.get(f"/trust/api/v1/wallet-units/{uid}/status")).json()["status"] == "valid"
    r = await client.post(f"/trust/api/v1/wallet-units/{uid}/revoke", json={"reason": "holder_death"},
                          headers=OPERATOR)
    assert r.status_code == 200
    assert (await client.get(f"/trust/api/v1/wallet-units/{uid}/status")).json()["status"] == "revoked"
    token = (await client.get("/trust/status/wallet-units")).text
    verified = verify_status_list_jwt(token, uri="http://testserver/trust/status/wallet-units",
                                      now=registry.clock.now(),
                                      chain_validator=await registry.validator(Role.WALLET_PROVIDER))
    assert verified.status_of(unit["status"]["status_list"]["idx"]) == INVALID
    assert (await client.get(f"/trust/api/v1/wallet-units/{uid}/notices")).json()["notices"][0]["kind"] == "revoked"
    r = await client.post("/trust/api/v1/breaches", json={"description": {"bg": "б", "en": "b"}}, headers=OPERATOR)
    assert r.status_code == 201
    assert r.json()["affected_units"] == 0
    assert (await client.get(f"/trust/api/v1/wallet-units/{RID}/status")).status_code == 404


async def test_lists_and_anchors_over_http(client: httpx.AsyncClient, registry: TrustRegistry) -> None:
    index = (await client.get("/trust/api/v1/lists")).json()
    assert {item["name"] for item in index["lists"]} == {"pid-providers", "attestation-providers", "wallet-providers",
                                                         "access-cas", "registration-cas"}
    xml = await client.get("/trust/lists/pid-providers.xml")
    assert xml.headers["content-type"].startswith("application/vnd.etsi.tsl+xml")
    anchors = await registry.load_own_list("pid-providers", xml.content)
    assert registry.root_certificate(Role.PID_PROVIDER) in anchors
    lote = await client.get("/trust/lists/pid-providers.json")
    assert lote.text.count(".") == 2
    assert (await client.get("/trust/lists/nope.xml")).status_code == 404
    assert (await client.get("/trust/status/nope")).status_code == 404
    ext = create_root_ca("External PID CA", Role.PID_PROVIDER, now=registry.clock.now()).certificate
    r = await client.post("/trust/api/v1/anchors", json={"role": "pid-provider",
                                                         "certificate_pem": cert_to_pem(ext).decode()},
                          headers=OPERATOR)
    assert r.status_code == 201, r.text
    published = (await client.get("/trust/api/v1/anchors")).json()["pid-provider"]
    assert cert_to_pem(ext).decode() in published
    assert (await client.get("/trust/api/v1/lists")).json()["lists"][0]["sequence_number"] == 2


@pytest.mark.parametrize(("lang", "title"), [("bg", "Регистър на доверяващите се страни"),
                                             ("en", "Register of relying parties")])
async def test_register_page_in_both_languages(client: httpx.AsyncClient, lang: str, title: str) -> None:
    rp = await _register_over_http(client)
    page = await client.get(f"/trust/relying-parties?lang={lang}")
    assert page.status_code == 200
    assert f'<html lang="{lang}">' in page.text
    assert title in page.text
    assert "Магазин ЕООД" in page.text
    assert ("Проверка на възраст" if lang == "bg" else "Age verification") in page.text
    detail = await client.get(f"/trust/relying-parties/{rp['id']}?lang={lang}")
    assert detail.status_code == 200
    assert "age_equal_or_over.18" in detail.text
    index = await client.get(f"/trust/?lang={lang}")
    assert index.status_code == 200
    assert ("Доверени списъци" if lang == "bg" else "Trusted lists") in index.text


async def test_pending_party_is_not_on_public_pages(client: httpx.AsyncClient) -> None:
    r = await client.post("/trust/api/v1/relying-parties", json=registration(), headers=OPERATOR)
    rid = r.json()["id"]
    assert "Магазин ЕООД" not in (await client.get("/trust/relying-parties")).text
    assert (await client.get(f"/trust/relying-parties/{rid}")).status_code == 404
    assert (await client.get(f"/trust/api/v1/relying-parties/{rid}/status")).status_code == 404
