"""Named negative tests of the PID provider's security checks (issue 6, "Security")."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from portfeil.clock import FrozenClock
from portfeil.context import AppContext
from portfeil.issuer.flows import PidIssuer
from portfeil.issuer.models import IssCredential, IssTokenUse
from portfeil.pki.keys import generate_private_key
from portfeil.protocols.dpop import create_dpop_proof
from portfeil.protocols.oid4vci import create_proof_jwt
from tests.issuer.conftest import BASE, IVAN, Wallet

TOKEN_URL = BASE + "/issuer/token"
CRED_URL = BASE + "/issuer/credential"


async def _token(issuer: PidIssuer, wallet: Wallet, configs: list[str] | None = None) -> str:
    offer = await issuer.create_offer(IVAN, configs or ["pid_sd_jwt"])
    r = await wallet.redeem(offer.uri, offer.tx_code)
    assert r.status_code == 200, r.text
    assert wallet.access_token
    return wallet.access_token


async def _count(ctx: AppContext, model: type) -> int:
    async with ctx.db.session() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


# --------------------------------------------------------------------------------------------- single use


async def test_preauthorized_code_single_use_under_concurrent_redemption(
    issuer: PidIssuer, client: httpx.AsyncClient, clock: FrozenClock,
) -> None:
    offer = await issuer.create_offer(IVAN, ["pid_sd_jwt"])
    code = offer.offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
    nonce = issuer.dpop_nonce()

    async def redeem() -> int:
        key = generate_private_key()
        proof = create_dpop_proof(key, htm="POST", htu=TOKEN_URL, now=clock.now(), nonce=nonce)
        r = await client.post("/issuer/token", headers={"DPoP": proof}, data={
            "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code", "pre-authorized_code": code,
            "tx_code": offer.tx_code or ""})
        return r.status_code

    statuses = await asyncio.gather(*(redeem() for _ in range(8)))
    assert sorted(statuses) == [200] + [400] * 7


async def test_access_token_single_use_under_concurrent_credential_requests(
    issuer: PidIssuer, wallet: Wallet, issuer_ctx: AppContext,
) -> None:
    await _token(issuer, wallet)
    await wallet.c_nonce()  # learn the DPoP nonce
    nonces = [await wallet.c_nonce() for _ in range(6)]

    async def ask(n: str) -> int:
        r = await wallet.credential({"credential_configuration_id": "pid_sd_jwt",
                                     "proofs": {"jwt": [wallet.proof(generate_private_key(), n)]}})
        return r.status_code

    statuses = await asyncio.gather(*(ask(n) for n in nonces))
    assert statuses.count(200) == 1
    assert set(statuses) == {200, 401}
    assert await _count(issuer_ctx, IssCredential) == 1


async def test_rejects_reused_access_token(issuer: PidIssuer, wallet: Wallet) -> None:
    await _token(issuer, wallet)
    assert (await wallet.obtain("pid_sd_jwt"))[0].status_code == 200
    r, _ = await wallet.obtain("pid_sd_jwt")
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"


# --------------------------------------------------------------------------------------------- DPoP


async def test_rejects_dpop_jti_replay(issuer: PidIssuer, client: httpx.AsyncClient, wallet: Wallet) -> None:
    token = await _token(issuer, wallet)
    await wallet.c_nonce()
    proof = wallet.dpop(CRED_URL, token=token)
    body = {"credential_configuration_id": "pid_sd_jwt",
            "proofs": {"jwt": [wallet.proof(generate_private_key(), await wallet.c_nonce())]}}
    h = {"Authorization": f"DPoP {token}", "DPoP": proof}
    first = await client.post("/issuer/credential", json=body, headers=h)
    assert first.status_code == 200, first.text
    second = await client.post("/issuer/credential", json=body, headers=h)
    assert second.status_code == 401
    assert second.json()["error"] == "invalid_dpop_proof"
    assert "already used" in second.json()["error_description"]


@pytest.mark.parametrize("what", ["htm", "htu", "ath"])
async def test_rejects_dpop_htm_htu_ath_mismatch(
    issuer: PidIssuer, client: httpx.AsyncClient, wallet: Wallet, what: str,
) -> None:
    token = await _token(issuer, wallet)
    nonce = await wallet.c_nonce()
    proof = wallet.dpop(
        CRED_URL if what != "htu" else BASE + "/issuer/nonce",
        token=token if what != "ath" else "another-token", htm="GET" if what == "htm" else "POST")
    r = await client.post("/issuer/credential", headers={"Authorization": f"DPoP {token}", "DPoP": proof}, json={
        "credential_configuration_id": "pid_sd_jwt", "proofs": {"jwt": [wallet.proof(generate_private_key(), nonce)]}})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_dpop_proof"
    assert r.headers["www-authenticate"].startswith("DPoP")


async def test_rejects_token_bound_to_another_dpop_key(issuer: PidIssuer, wallet: Wallet, clock: FrozenClock,
                                                       client: httpx.AsyncClient) -> None:
    token = await _token(issuer, wallet)
    nonce = await wallet.c_nonce()
    thief = create_dpop_proof(generate_private_key(), htm="POST", htu=CRED_URL, now=clock.now(), access_token=token,
                              nonce=wallet.dpop_nonce)
    r = await client.post("/issuer/credential", headers={"Authorization": f"DPoP {token}", "DPoP": thief}, json={
        "credential_configuration_id": "pid_sd_jwt", "proofs": {"jwt": [wallet.proof(generate_private_key(), nonce)]}})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_token"


async def test_rejects_token_request_without_dpop(issuer: PidIssuer, client: httpx.AsyncClient) -> None:
    offer = await issuer.create_offer(IVAN, ["pid_sd_jwt"])
    code = offer.offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
    r = await client.post("/issuer/token", data={"grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
                                                 "pre-authorized_code": code, "tx_code": offer.tx_code or ""})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_dpop_proof"


async def test_rejects_dpop_without_server_nonce(issuer: PidIssuer, client: httpx.AsyncClient,
                                                 clock: FrozenClock) -> None:
    proof = create_dpop_proof(generate_private_key(), htm="POST", htu=TOKEN_URL, now=clock.now())
    r = await client.post("/issuer/token", headers={"DPoP": proof}, data={
        "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code", "pre-authorized_code": "x"})
    assert r.status_code == 400
    assert r.json()["error"] == "use_dpop_nonce"
    assert issuer.check_dpop_nonce(r.headers["DPoP-Nonce"])


# --------------------------------------------------------------------------------------------- proofs


@pytest.mark.parametrize("what", ["aud", "iat", "nonce", "alg"])
async def test_rejects_proof_aud_iat_nonce_alg(issuer: PidIssuer, wallet: Wallet, clock: FrozenClock,
                                               what: str) -> None:
    await _token(issuer, wallet)
    nonce = await wallet.c_nonce()
    key = generate_private_key("ES384") if what == "alg" else generate_private_key()
    when = clock.now() - timedelta(hours=1) if what == "iat" else clock.now()
    proof = create_proof_jwt(key, audience=BASE + "/other" if what == "aud" else wallet.issuer, now=when,
                             nonce="forged-nonce" if what == "nonce" else nonce)
    r = await wallet.credential({"credential_configuration_id": "pid_sd_jwt", "proofs": {"jwt": [proof]}})
    assert r.status_code == 400
    assert r.json()["error"] == ("invalid_nonce" if what == "nonce" else "invalid_proof")


async def test_rejects_expired_c_nonce(issuer: PidIssuer, wallet: Wallet, clock: FrozenClock) -> None:
    await _token(issuer, wallet)
    nonce = await wallet.c_nonce()
    clock.advance(seconds=issuer.settings.c_nonce_lifetime_seconds + 5)
    wallet.dpop_nonce = None
    r = await wallet.credential({"credential_configuration_id": "pid_sd_jwt",
                                 "proofs": {"jwt": [wallet.proof(generate_private_key(), nonce)]}})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_nonce"


async def test_rejects_reused_c_nonce(issuer: PidIssuer, wallet: Wallet) -> None:
    await _token(issuer, wallet, ["pid_sd_jwt", "pid_mdoc"])
    nonce = await wallet.c_nonce()
    ok = await wallet.credential({"credential_configuration_id": "pid_sd_jwt",
                                  "proofs": {"jwt": [wallet.proof(generate_private_key(), nonce)]}})
    assert ok.status_code == 200
    r = await wallet.credential({"credential_configuration_id": "pid_mdoc",
                                 "proofs": {"jwt": [wallet.proof(generate_private_key(), nonce)]}})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_nonce"


async def test_rejects_configuration_not_in_offer(issuer: PidIssuer, wallet: Wallet) -> None:
    await _token(issuer, wallet, ["pid_sd_jwt"])
    r, _ = await wallet.obtain("pid_mdoc")
    assert r.status_code == 400
    assert r.json()["error"] == "credential_request_denied"


# --------------------------------------------------------------------------------------------- tx_code


async def test_wrong_tx_code_attempt_limit_kills_offer(issuer: PidIssuer, wallet: Wallet) -> None:
    offer = await issuer.create_offer(IVAN, ["pid_sd_jwt"])
    assert offer.tx_code is not None
    wrong = "000000" if offer.tx_code != "000000" else "111111"
    for _ in range(issuer.settings.tx_code_max_attempts):
        r = await wallet.redeem(offer.uri, wrong)
        assert r.status_code == 400
        assert r.json()["error"] == "invalid_grant"
    r = await wallet.redeem(offer.uri, offer.tx_code)  # the right code is now too late: the offer is dead
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"


async def test_rejects_missing_tx_code(issuer: PidIssuer, wallet: Wallet) -> None:
    offer = await issuer.create_offer(IVAN, ["pid_sd_jwt"])
    r = await wallet.redeem(offer.uri, None)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


# --------------------------------------------------------------------------------------------- crash, logs


async def test_crash_mid_issuance_leaves_no_credential_and_no_consumed_token(
    issuer: PidIssuer, wallet: Wallet, issuer_ctx: AppContext,
) -> None:
    await _token(issuer, wallet)

    def crash() -> None:
        raise RuntimeError("injected failure after signing")

    issuer.before_record = crash
    with pytest.raises(RuntimeError):  # the ASGI transport re-raises the server error
        await wallet.obtain("pid_sd_jwt")
    assert await _count(issuer_ctx, IssCredential) == 0
    assert await _count(issuer_ctx, IssTokenUse) == 0
    issuer.before_record = None
    r, _ = await wallet.obtain("pid_sd_jwt")  # the token was not consumed: the retry succeeds
    assert r.status_code == 200, r.text
    assert await _count(issuer_ctx, IssCredential) == 1


async def test_no_personal_data_in_logs(issuer: PidIssuer, wallet: Wallet, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)  # every logger at the production level ...
    caplog.set_level(logging.DEBUG, logger="portfeil")  # ... and all of ours
    offer = await issuer.create_offer(IVAN, ["pid_sd_jwt", "pid_mdoc"])
    await wallet.redeem(offer.uri, "999999" if offer.tx_code != "999999" else "888888")
    await wallet.redeem(offer.uri, offer.tx_code)
    await wallet.obtain("pid_sd_jwt", n_keys=2)
    await wallet.obtain("pid_mdoc")
    text = "\n".join(json.dumps(r.__dict__, default=str, ensure_ascii=False) for r in caplog.records)
    assert caplog.records  # the flow does log
    for secret in (IVAN, "Иванов", "Иван", "Ivanov", "1985-06-25", "Шипка", offer.tx_code or "x"):
        assert secret not in text


# --------------------------------------------------------------------------------------------- c_nonce (stateless)


async def test_c_nonce_with_altered_expiry_or_mac_is_refused(issuer: PidIssuer, clock: FrozenClock) -> None:
    from portfeil.formats.jws import b64url_decode, b64url_encode

    raw = b64url_decode(await issuer.new_c_nonce())
    later = (int.from_bytes(raw[:8], "big") + 3600).to_bytes(8, "big")
    assert issuer.c_nonce_remaining(b64url_encode(later + raw[8:])) is None  # expiry moved, old MAC
    assert issuer.c_nonce_remaining(b64url_encode(raw[:-1] + bytes([raw[-1] ^ 1]))) is None  # MAC flipped
    assert issuer.c_nonce_remaining(b64url_encode(raw[:30])) is None  # truncated
    assert issuer.c_nonce_remaining("not base64url!") is None
    assert issuer.c_nonce_remaining(b64url_encode(raw)) is not None  # the genuine one (single use: see below)


async def test_c_nonce_of_another_issuer_key_is_refused(issuer: PidIssuer, ctx: AppContext) -> None:
    from pydantic import SecretStr

    other = PidIssuer(ctx.__class__(settings=ctx.settings.model_copy(
        update={"keystore_passphrase": SecretStr("another-passphrase")}), db=ctx.db, clock=ctx.clock))
    assert issuer.c_nonce_remaining(await other.new_c_nonce()) is None
    assert other.c_nonce_remaining(await other.new_c_nonce()) is not None


# --------------------------------------------------------------------------------------------- malformed forms


@pytest.mark.parametrize("body", [
    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&grant_type=authorization_code",
    b"grant_type=\xff\xfe",
    "&".join(f"f{i}=x" for i in range(101)),
], ids=["repeated-parameter", "not-utf8", "too-many-fields"])
async def test_token_endpoint_rejects_malformed_forms(client: httpx.AsyncClient, body: str | bytes) -> None:
    r = await client.post("/issuer/token", content=body,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"
    assert r.headers["cache-control"] == "no-store"


# --------------------------------------------------------------------------------------------- replay entries
# (written in the transaction that completes the request: a replay rolls the whole request back)


async def test_replayed_dpop_proof_at_token_endpoint_leaves_the_other_offer_open(
    issuer: PidIssuer, client: httpx.AsyncClient, clock: FrozenClock, issuer_ctx: AppContext,
) -> None:
    from portfeil.issuer.models import IssAccessToken, IssOffer

    first = await issuer.create_offer(IVAN, ["pid_sd_jwt"])
    second = await issuer.create_offer(IVAN, ["pid_sd_jwt"])
    proof = create_dpop_proof(generate_private_key(), htm="POST", htu=TOKEN_URL, now=clock.now(),
                              nonce=issuer.dpop_nonce())

    async def redeem(offer: Any) -> httpx.Response:
        code = offer.offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
        return await client.post("/issuer/token", headers={"DPoP": proof}, data={
            "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code", "pre-authorized_code": code,
            "tx_code": offer.tx_code or ""})

    assert (await redeem(first)).status_code == 200
    replayed = await redeem(second)
    assert replayed.status_code == 400
    assert replayed.json()["error"] == "invalid_dpop_proof"
    assert "already used" in replayed.json()["error_description"]
    async with issuer_ctx.db.session() as s:
        assert (await s.get(IssOffer, second.offer_id)).state == "open"  # type: ignore[union-attr]
    assert await _count(issuer_ctx, IssAccessToken) == 1


async def test_one_c_nonce_in_eight_concurrent_credential_requests_issues_once(
    issuer: PidIssuer, client: httpx.AsyncClient, clock: FrozenClock, issuer_ctx: AppContext,
) -> None:
    """The c_nonce is single use under concurrency: eight wallets (eight tokens) race with proofs on one nonce."""
    wallets = [Wallet(client, clock) for _ in range(8)]
    for w in wallets:
        await _token(issuer, w)
    nonce = await wallets[0].c_nonce()
    body = {"credential_configuration_id": "pid_sd_jwt"}
    answers = await asyncio.gather(*(w.credential({**body, "proofs": {"jwt": [w.proof(generate_private_key(), nonce)]}})
                                     for w in wallets))
    assert sorted(a.status_code for a in answers) == [200] + [400] * 7
    assert {a.json()["error"] for a in answers if a.status_code == 400} == {"invalid_nonce"}
    assert await _count(issuer_ctx, IssCredential) == 1
    assert await _count(issuer_ctx, IssTokenUse) == 1  # the refused requests left their tokens unused


async def test_a_failed_issuance_leaves_nonce_and_proof_usable_once_more(
    issuer: PidIssuer, wallet: Wallet, issuer_ctx: AppContext,
) -> None:
    await _token(issuer, wallet)
    nonce = await wallet.c_nonce()
    body = {"credential_configuration_id": "pid_sd_jwt", "proofs": {"jwt": [wallet.proof(generate_private_key(),
                                                                                          nonce)]}}

    def crash() -> None:
        raise RuntimeError("injected failure after signing")

    issuer.before_record = crash
    with pytest.raises(RuntimeError):
        await wallet.credential(body)
    issuer.before_record = None
    retry = await wallet.credential(body)  # same proof, same c_nonce: nothing was consumed by the failed request
    assert retry.status_code == 200, retry.text
    again = await wallet.credential(body)
    assert again.status_code in (400, 401)  # now used: the token (and the nonce) are spent
    assert await _count(issuer_ctx, IssCredential) == 1
