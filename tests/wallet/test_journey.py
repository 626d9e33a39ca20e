"""Receive a PID (both formats) from the PID provider and present it to the verifier, over HTTP, in-process."""

from __future__ import annotations

import pytest

from portfeil.wallet.present import load_request, respond
from portfeil.wallet.receive import accept_offer
from tests.wallet.conftest import Env


async def test_accept_and_present_sd_jwt(env: Env) -> None:
    uri, tx = await env.offer(["pid_sd_jwt", "pid_mdoc"])
    out = await accept_offer(env.wallet, uri, tx_code=tx)
    assert {c["format"] for c in out["credentials"]} == {"dc+sd-jwt", "mso_mdoc"}
    assert all(c["unused"] == 3 for c in out["credentials"])
    link = await env.request(client_id_prefix="x509_san_dns", response_mode="direct_post.jwt")
    pending = await load_request(env.wallet, link)
    assert pending.request.verified
    assert pending.registration["verified"], pending.registration
    assert pending.within_registration, pending.registration
    assert pending.party["name"]
    res = await respond(env.wallet, pending)
    assert res["sent"]
    entries = env.wallet.log.entries()
    assert [e["kind"] for e in entries][-1] == "presentation"


@pytest.mark.parametrize("prefix", ["x509_san_dns", "x509_hash"])
@pytest.mark.parametrize("mode", ["direct_post", "direct_post.jwt"])
async def test_mdoc_presentation(env: Env, prefix: str, mode: str) -> None:
    uri, tx = await env.offer(["pid_mdoc"])
    await accept_offer(env.wallet, uri, tx_code=tx)
    link = await env.request(client_id_prefix=prefix, response_mode=mode)
    pending = await load_request(env.wallet, link)
    await respond(env.wallet, pending)
