"""Revocation and suspension: status lists served as statuslist+jwt / +cwt and verified against the trust
registry, automatic revocation from outbox events (death, data change, eID certificate life cycle) and the
operator's revocation; random index allocation."""

from __future__ import annotations

import base64
import json
from datetime import date
from typing import Any

import httpx
import pytest

from portfeil.context import AppContext
from portfeil.formats.status_list import INVALID, SUSPENDED, VALID, verify_status_list_token
from portfeil.issuer import lifecycle
from portfeil.issuer.flows import PidIssuer
from portfeil.pki.roles import Role
from portfeil.sources import registry as population
from portfeil.trust.registry import TrustRegistry
from tests.issuer.conftest import IVAN, Wallet


def _status_ref(sd_jwt: str) -> tuple[str, int]:
    payload = sd_jwt.split("~")[0].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    ref = claims["status"]["status_list"]
    return ref["uri"], ref["idx"]


async def _issue(issuer: PidIssuer, wallet: Wallet) -> tuple[str, int]:
    offer = await issuer.create_offer(IVAN, ["pid_sd_jwt"])
    assert (await wallet.redeem(offer.uri, offer.tx_code)).status_code == 200
    r, _ = await wallet.obtain("pid_sd_jwt")
    assert r.status_code == 200, r.text
    return _status_ref(r.json()["credentials"][0]["credential"])


async def _status(client: httpx.AsyncClient, ctx: AppContext, uri: str, idx: int, *, cwt: bool = False) -> int:
    path = uri.removeprefix("http://localhost")
    headers = {"Accept": "application/statuslist+cwt"} if cwt else {}
    r = await client.get(path, headers=headers)
    assert r.status_code == 200, r.text
    registry = await TrustRegistry.of(ctx)
    token: Any = r.content if cwt else r.text
    verified = verify_status_list_token(token, uri=uri, now=ctx.clock.now(),
                                        chain_validator=await registry.validator(Role.PID_PROVIDER))
    return verified.status_of(idx)


async def test_status_list_served_as_jwt_and_cwt(issuer: PidIssuer, wallet: Wallet, client: httpx.AsyncClient,
                                                 issuer_ctx: AppContext) -> None:
    uri, idx = await _issue(issuer, wallet)
    assert await _status(client, issuer_ctx, uri, idx) == VALID
    assert await _status(client, issuer_ctx, uri, idx, cwt=True) == VALID


async def test_status_indexes_are_not_sequential(issuer: PidIssuer, issuer_ctx: AppContext) -> None:
    positions = await issuer.status.allocate(50, issuer_ctx.clock.now())
    indexes = [i for _, i in positions]
    assert len(set(indexes)) == 50
    assert indexes != sorted(indexes)


async def test_death_revokes_pids(issuer: PidIssuer, wallet: Wallet, client: httpx.AsyncClient,
                                  issuer_ctx: AppContext) -> None:
    uri, idx = await _issue(issuer, wallet)
    await population.record_death(issuer_ctx.db, IVAN, date(2026, 11, 20), clock=issuer_ctx.clock)
    await issuer_ctx.outbox.drain()
    assert await _status(client, issuer_ctx, uri, idx) == INVALID
    assert await _status(client, issuer_ctx, uri, idx, cwt=True) == INVALID
    (cred,) = await lifecycle.credentials_of(issuer_ctx, IVAN)
    assert cred["reason"] == "holder_death"


async def test_change_of_issued_data_revokes_but_other_changes_do_not(
    issuer: PidIssuer, wallet: Wallet, client: httpx.AsyncClient, issuer_ctx: AppContext,
) -> None:
    uri, idx = await _issue(issuer, wallet)
    await issuer_ctx.outbox.drain()
    # the Latin middle name is not in the EU PID type: no effect
    await population.update_person(issuer_ctx.db, IVAN, {"middle_name_latin": "Petrov"}, clock=issuer_ctx.clock)
    await issuer_ctx.outbox.drain()
    assert await _status(client, issuer_ctx, uri, idx) == VALID
    await population.update_person(issuer_ctx.db, IVAN, {"family_name": "Петров"}, clock=issuer_ctx.clock)
    await issuer_ctx.outbox.drain()
    assert await _status(client, issuer_ctx, uri, idx) == INVALID


async def test_operator_revoke_suspend_reinstate(issuer: PidIssuer, wallet: Wallet, client: httpx.AsyncClient,
                                                 issuer_ctx: AppContext) -> None:
    uri, idx = await _issue(issuer, wallet)
    (cred,) = await lifecycle.credentials_of(issuer_ctx, IVAN)
    await lifecycle.set_status(issuer_ctx, credential_id=cred["id"], status="suspended", reason="operator")
    assert await _status(client, issuer_ctx, uri, idx) == SUSPENDED
    await lifecycle.set_status(issuer_ctx, credential_id=cred["id"], status="valid", reason="operator")
    assert await _status(client, issuer_ctx, uri, idx) == VALID
    out = await lifecycle.set_status(issuer_ctx, person_ref=IVAN, status="revoked", reason="compromised")
    assert out["changed"] == 1
    assert await _status(client, issuer_ctx, uri, idx) == INVALID
    out = await lifecycle.set_status(issuer_ctx, person_ref=IVAN, status="valid", reason="operator")
    assert out["changed"] == 0  # revoked is final


async def test_operator_api_needs_token(client: httpx.AsyncClient, issuer_ctx: AppContext) -> None:
    r = await client.post("/issuer/api/v1/offers", json={"person": IVAN})
    assert r.status_code == 401
    token = issuer_ctx.settings.operator_token.get_secret_value()
    r = await client.post("/issuer/api/v1/offers", json={"person": IVAN}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert r.json()["credential_offer_uri"].startswith("openid-credential-offer://")


@pytest.mark.parametrize(("events", "expected"), [
    ([("eid.certificate_suspended", "document_lost")], SUSPENDED),
    ([("eid.certificate_suspended", "document_lost"), ("eid.certificate_resumed", "holder_request")], VALID),
    ([("eid.certificate_terminated", "compromise")], INVALID),
    ([("eid.certificate_terminated", "expiry")], VALID),
    ([("eid.certificate_suspended", "misuse_report"), ("eid.certificate_terminated", "holder_request")], INVALID),
])
async def test_eid_certificate_events(issuer: PidIssuer, issuer_ctx: AppContext, client: httpx.AsyncClient,
                                      events: list[tuple[str, str]], expected: int) -> None:
    """PIDs obtained with an eID certificate follow its suspension/termination (rules in lifecycle.py)."""
    from sqlalchemy import update

    from portfeil.issuer.models import IssCredential
    from portfeil.outbox import emit

    wallet = Wallet(client, issuer_ctx.clock)  # type: ignore[arg-type]
    uri, idx = await _issue(issuer, wallet)
    async with issuer_ctx.db.transaction() as s:
        await s.execute(update(IssCredential).values(eid_serial="abc123"))
    for topic, reason in events:
        async with issuer_ctx.db.transaction() as s:
            await emit(s, topic, {"certificate_serial": "abc123", "electronic_id": "e", "reason": reason},
                       clock=issuer_ctx.clock)
        await issuer_ctx.outbox.drain()
    assert await _status(client, issuer_ctx, uri, idx) == expected
