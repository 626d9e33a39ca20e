"""The authorization code flow (PAR + PKCE + DPoP + wallet attestation) with the browser step driven through the
issuer's real authorization pages (eID authentication through the eID registry, consent)."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from portfeil.protocols import oid4vci
from portfeil.wallet.errors import WalletError
from portfeil.wallet.receive import accept_offer
from tests.wallet.conftest import BASE, IVAN, Env

REDIRECT = "https://wallet.example/cb"


def _offer() -> str:
    return oid4vci.credential_offer_uri(oid4vci.build_credential_offer(BASE + "/issuer", ["pid_sd_jwt"],
                                                                       authorization_code=True))


def browser(env: Env, decision: str = "accept"):  # type: ignore[no-untyped-def]
    async def step(url: str) -> str:
        from portfeil.eid.demo import issue_to_person
        from portfeil.eid.registry import EidRegistry

        q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert set(q) == {"client_id", "request_uri"}  # nothing but the PAR handle goes through the browser
        page = await env.client.get(urlsplit(url).path, params={**q, "lang": "en"})
        assert page.status_code == 200, page.text
        m = re.search(r'id="challenge">([^<]+)<', page.text)
        assert m
        issued = await issue_to_person(EidRegistry.for_context(env.ctx), IVAN)
        r = await env.client.post("/issuer/authorize/eid", data={
            **q, "challenge": m.group(1), "eid_response": json.dumps(issued.auth_body(m.group(1)))})
        assert r.status_code == 200, r.text
        r = await env.client.post("/issuer/authorize/consent", data={**q, "decision": decision})
        assert r.status_code == 303
        return str(r.headers["location"])

    return step


async def test_authorization_code_flow(env: Env) -> None:
    out = await accept_offer(env.wallet, _offer(), authorize=browser(env), redirect_uri=REDIRECT)
    assert out["credentials"][0]["format"] == "dc+sd-jwt"
    rec = env.wallet.credentials()[0]
    assert rec["claims"]["personal_administrative_number"] == IVAN
    assert len(rec["instances"]) == 3
    assert "POST /issuer/par" in env.calls  # (twice when the server first asks for a DPoP nonce)


async def test_authorization_denied(env: Env) -> None:
    with pytest.raises(WalletError) as exc:
        await accept_offer(env.wallet, _offer(), authorize=browser(env, "deny"), redirect_uri=REDIRECT)
    assert exc.value.code == "authorization_denied"
    assert env.wallet.credentials() == []


async def test_rejects_state_mismatch(env: Env) -> None:
    async def forged(_url: str) -> str:
        return REDIRECT + "?code=abc&state=forged"

    with pytest.raises(WalletError) as exc:
        await accept_offer(env.wallet, _offer(), authorize=forged, redirect_uri=REDIRECT)
    assert exc.value.code == "state_mismatch"


async def test_code_flow_needs_browser_step(env: Env) -> None:
    with pytest.raises(WalletError) as exc:
        await accept_offer(env.wallet, _offer())
    assert exc.value.code == "browser_step_required"
