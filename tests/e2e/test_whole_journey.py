"""The whole system, end to end, with our own parts only (GitHub issue 8, "End to end").

A person seeded in the population register gets an eID certificate from the eID registry (key pair and CSR made
by the holder), uses it to obtain a PID from the PID provider through the authorization code flow (PAR, PKCE,
DPoP, wallet attestation; the issuer's real authorization pages: eID challenge signature, consent), and signs in to
the verifier's e-Government portal demo with the wallet. Then the person's death is recorded in the population
register, the outbox delivers ``population.person_died`` to the PID provider (which revokes the PIDs), and the next
sign-in, with a fresh one-time credential of the batch, fails with ``credential_revoked``.

Everything runs in one application (``portfeil.app.create_app``) over ``httpx.ASGITransport``; nothing is mocked.
Runs on SQLite and, with ``PORTFEIL_TEST_DATABASE_URL``, on PostgreSQL (the ``db`` fixture).
"""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from portfeil.app import create_app
from portfeil.clock import FrozenClock
from portfeil.context import AppContext
from portfeil.eid.demo import IssuedToHolder, issue_to_person
from portfeil.eid.registry import EidRegistry
from portfeil.issuer.lifecycle import credentials_of
from portfeil.pki.certs import cert_to_pem
from portfeil.pki.keystore import MemoryKeyStore
from portfeil.protocols import oid4vci
from portfeil.sources import registry as population
from portfeil.sources.seed import seed_demo_persons
from portfeil.trust.registry import TrustRegistry
from portfeil.verifier.transactions import Verifier
from portfeil.wallet.core import Wallet
from portfeil.wallet.present import load_request, respond
from portfeil.wallet.receive import accept_offer
from portfeil.wallet.store import KdfParams
from tests.e2e.conftest import BASE

ELENA = "8709304914"  # docs/demo-persons.md: Елена Георгиева Иванова, valid identity card
REDIRECT = "https://wallet.example/cb"
FAST_KDF = KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)


async def _sign_in(client: httpx.AsyncClient, wallet: Wallet, verifier: Verifier) -> tuple[dict[str, Any], str]:
    """The e-Gov demo login: start it, answer its request with the wallet, open the page it returns to.
    Returns (the verifier's result, the final page's HTML)."""
    r = await client.post("/demo/egov/start", data={}, params={"lang": "bg"})
    assert r.status_code == 303, r.text
    wait = await client.get(r.headers["location"])
    assert wait.status_code == 200, wait.text
    m = re.search(r'id="same-device"[^>]*href="([^"]+)"', wait.text) or re.search(
        r'href="([^"]+)"[^>]*id="same-device"', wait.text)
    assert m, wait.text
    link = html.unescape(m.group(1))
    assert link.startswith("openid4vp://")
    tx_id = urlsplit(r.headers["location"]).path.rsplit("/", 1)[-1]
    pending = await load_request(wallet, link)
    assert pending.request.verified
    assert pending.within_registration
    out = await respond(wallet, pending)
    assert out["sent"]
    target = str(out["redirect_uri"])  # the same-device return, with the response code
    code = parse_qs(urlsplit(target).query)["response_code"][0]
    done = await client.get(target)
    assert done.status_code == 200, done.text
    return await verifier.result(tx_id, response_code=code), done.text


async def test_whole_journey(ctx: AppContext, tmp_path: Path) -> None:
    ctx.services.update({"trust.keystore": MemoryKeyStore(), "eid.keystore": MemoryKeyStore()})
    app = create_app(ctx)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client, \
            httpx.AsyncClient(transport=transport, base_url=BASE) as backchannel:

        async def fetch_status(uri: str) -> tuple[bytes, str]:
            resp = await backchannel.get(uri, headers={"Accept": "application/statuslist+jwt"})
            assert resp.status_code == 200, resp.text
            return resp.content, resp.headers.get("content-type", "")

        ctx.services["verifier.http"] = backchannel
        ctx.services["verifier.status_fetcher"] = fetch_status
        async with app.router.lifespan_context(app):
            await _journey(ctx, client, tmp_path)


async def _journey(ctx: AppContext, client: httpx.AsyncClient, tmp_path: Path) -> None:
    """The steps of the journey, in the order a person lives them."""
    # 1. the population register knows the person
    await seed_demo_persons(ctx.db, clock=ctx.clock)
    person = await population.get_person_by_number(ctx.db, ELENA, clock=ctx.clock)
    assert person.date_of_death is None

    # 2. the eID registry issues her an eID certificate (her own key pair and CSR, at the demo desk)
    eid_registry = EidRegistry.for_context(ctx)
    eid: IssuedToHolder = await issue_to_person(eid_registry, ELENA)
    assert eid.certificate.status == "active"

    # 3. a wallet in an encrypted directory, registered with the wallet provider (trust registry)
    wallet = Wallet.create(tmp_path / "wallet", "correct horse battery staple", kdf=FAST_KDF, http=client,
                           clock=ctx.clock)
    pin = cert_to_pem((await TrustRegistry.of(ctx)).scheme_operator_certificate())  # given out of band
    await wallet.setup_from_registry(BASE + "/trust", scheme_operator=pin)
    assert wallet.meta.get("wallet_unit")

    # 4. a PID through the authorization code flow; the browser step goes through the issuer's pages
    seen_pages: list[str] = []

    async def browser_step(url: str) -> str:
        q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        page = await client.get(urlsplit(url).path, params={**q, "lang": "bg"})
        assert page.status_code == 200, page.text
        seen_pages.append("authorize")
        m = re.search(r'id="challenge">([^<]+)<', page.text)
        assert m, page.text
        challenge = html.unescape(m.group(1))
        consent = await client.post("/issuer/authorize/eid", data={
            **q, "challenge": challenge, "eid_response": json.dumps(eid.auth_body(challenge))})
        assert consent.status_code == 200, consent.text
        assert "Елена" in consent.text  # the preview shows her data before she agrees
        seen_pages.append("consent")
        r = await client.post("/issuer/authorize/consent", data={**q, "decision": "accept"})
        assert r.status_code == 303, r.text
        return str(r.headers["location"])

    offer = oid4vci.credential_offer_uri(oid4vci.build_credential_offer(
        BASE + "/issuer", ["pid_sd_jwt"], authorization_code=True))
    got = await accept_offer(wallet, offer, authorize=browser_step, redirect_uri=REDIRECT, batch=3)
    assert seen_pages == ["authorize", "consent"]
    assert got["credentials"][0]["format"] == "dc+sd-jwt"
    rec = wallet.credentials()[0]
    assert rec["claims"]["personal_administrative_number"] == ELENA
    assert len(rec["instances"]) == 3

    # 5. she signs in to the e-Government portal demo with the wallet
    res, page = await _sign_in(client, wallet, await Verifier.of(ctx))
    assert res["status"] == "verified", json.dumps(res.get("result"))[:1500]
    assert ELENA in page
    assert "Елена" in page

    # 6. she dies: the population register records it, the outbox tells the PID provider
    await population.record_death(ctx.db, ELENA, ctx.clock.now().date(), clock=ctx.clock)
    await ctx.outbox.drain()
    issued = await credentials_of(ctx, ELENA)
    assert issued
    assert {c["status"] for c in issued} == {"revoked"}, issued

    # 7. the next sign-in (a fresh one-time credential of the batch) fails: the PID is revoked
    assert isinstance(ctx.clock, FrozenClock)
    ctx.clock.advance(timedelta(hours=1))  # beyond the verifier's cached status list (its ttl)
    used_before = sum(1 for i in wallet.credentials()[0]["instances"] if i["used"])
    res, page = await _sign_in(client, wallet, await Verifier.of(ctx))
    assert sum(1 for i in wallet.credentials()[0]["instances"] if i["used"]) == used_before + 1
    assert res["status"] == "failed", res
    codes = {f["code"] for c in res["result"]["credentials"] for f in c.get("failures", [])}
    assert codes == {"credential_revoked"}, res
    assert "credential_revoked" in page
    assert "отнети от издателя" in page  # the reason in words, not only the code
    assert "Елена" not in page
