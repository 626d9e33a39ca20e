"""The request and response steps after their statements were merged (issue 8, speed): the same states, errors and
error precedence as reading the transaction first."""

from __future__ import annotations

from typing import Any

from tests.verifier.conftest import Env


async def test_first_fetch_marks_fetched_and_a_repeated_fetch_serves_the_same_request(env: Env) -> None:
    created = await env.create()
    assert (await env.result(created.id))["status"] == "created"
    first = await env.wallet_request(created)
    assert (await env.result(created.id))["status"] == "fetched"
    again = await env.wallet_request(created)  # no longer 'created': read and served again
    assert (again.nonce, again.state, again.response_uri) == (first.nonce, first.state, first.response_uri)
    resp = await env.respond(again, {"pid": [env.present_sd_jwt(again)]})
    assert resp.status_code == 200, resp.text
    assert (await env.result(created.id))["status"] == "verified"
    after = await env.client.get(created.request_uri)
    assert after.status_code == 400
    assert after.json()["error"] == "invalid_request_uri"


async def test_refused_post_fetch_leaves_the_transaction_created(env: Env) -> None:
    created = await env.create(request_uri_method="post")
    bad = await env.client.post(created.request_uri, data={"wallet_metadata": "not json", "wallet_nonce": "n"})
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid_request"
    assert (await env.result(created.id))["status"] == "created"
    req = await env.wallet_request(created, post=True)
    assert req.payload["wallet_nonce"] == "wn-1"
    assert (await env.result(created.id))["status"] == "fetched"


async def test_unknown_transaction_is_reported_before_a_malformed_fetch(env: Env) -> None:
    r = await env.client.post("/verifier/request/no-such-tx", data={"wallet_metadata": "not json"})
    assert r.status_code == 404
    assert r.json()["error"] == "transaction_not_found"
    r = await env.client.get("/verifier/request/no-such-tx")
    assert r.status_code == 404
    r = await env.client.post("/verifier/response/no-such-tx", data={"vp_token": "{}", "state": "x"})
    assert r.status_code == 404
    assert r.json()["error"] == "transaction_not_found"


async def test_expired_transaction_is_not_fetched(env: Env) -> None:
    created = await env.create()
    env.ctx.clock.advance(minutes=6)  # type: ignore[attr-defined]
    r = await env.client.get(created.request_uri)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request_uri"
    res = await env.result(created.id)
    assert res["status"] == "expired"


async def test_transaction_from_a_dcql_query_is_verified(env: Env) -> None:
    dcql: dict[str, Any] = {"credentials": [{"id": "only", "format": "dc+sd-jwt",
                                             "meta": {"vct_values": ["urn:eudi:pid:1"]},
                                             "claims": [{"path": ["given_name"]}]}]}
    for _ in range(2):  # the second transaction uses the already parsed query
        created = await env.create(template=None, dcql=dcql, response_mode="direct_post")
        req = await env.wallet_request(created)
        assert req.dcql_query == dcql
        resp = await env.respond(req, {"only": [env.present_sd_jwt(req, [("given_name",)])]})
        assert resp.status_code == 200, resp.text
        res = await env.result(created.id)
        assert res["status"] == "verified", res
        assert res["result"]["credentials"][0]["claims"]["given_name"] == "Мария"


async def test_result_view_carries_no_secrets(env: Env) -> None:
    created = await env.create()
    res = await env.result(created.id)
    assert set(res) == {"id", "status", "template", "client_id", "response_mode", "created_at", "expires_at",
                        "responded_at"}


async def test_api_key_headers_are_documented(env: Env) -> None:
    doc = (await env.client.get("/openapi.json")).json()["paths"]
    for path, method in (("/verifier/api/v1/transactions", "post"), ("/verifier/api/v1/transactions/{tx_id}", "get")):
        names = {(p["in"], p["name"]) for p in doc[path][method]["parameters"]}
        assert {("header", "authorization"), ("header", "x-api-key")} <= names, path
