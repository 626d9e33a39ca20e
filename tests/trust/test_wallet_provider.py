"""Wallet provider: wallet unit registration with proof of possession, honest attestations, revocation (holder,
operator, death event), status list and status endpoint, breach declaration and notices."""

from __future__ import annotations

from typing import Any

import pytest

from portfeil.clock import FrozenClock
from portfeil.formats.status_list import INVALID, SUSPENDED, VALID, verify_status_list_jwt
from portfeil.outbox import emit
from portfeil.pki.keys import PrivateKey, jwk_thumbprint, public_jwk
from portfeil.pki.roles import Role
from portfeil.protocols.client_attestation import (
    create_client_attestation_pop,
    verify_client_attestation,
    verify_key_attestation,
)
from portfeil.trust.errors import TrustError
from portfeil.trust.registry import TrustRegistry
from portfeil.trust.wallet_provider import KEY_STORAGE_SOFTWARE, USER_AUTHENTICATION_SOFTWARE
from tests.trust.conftest import make_pop, new_key


async def _register(
    registry: TrustRegistry, key: PrivateKey | None = None, **kw: Any
) -> tuple[PrivateKey, dict[str, Any]]:
    key = key or new_key()
    nonce = (await registry.wallet_provider.nonce())["nonce"]
    proof = make_pop(key, aud=registry.wallet_provider_id, nonce=nonce, iat=registry.clock.timestamp())
    return key, await registry.wallet_provider.register(proof, **kw)


async def _proof(registry: TrustRegistry, key: PrivateKey) -> str:
    nonce = (await registry.wallet_provider.nonce())["nonce"]
    return make_pop(key, aud=registry.wallet_provider_id, nonce=nonce, iat=registry.clock.timestamp())


async def _bit(registry: TrustRegistry, idx: int) -> int:
    signer = registry.signer(Role.WALLET_PROVIDER)
    uri = registry.ctx.url("/trust/status/wallet-units")
    token = await registry.status_lists.token("wallet-units", uri=uri, signer=signer.issued, x5c=list(signer.chain),
                                              now=registry.clock.now())
    verified = verify_status_list_jwt(token, uri=uri, now=registry.clock.now(),
                                      chain_validator=await registry.validator(Role.WALLET_PROVIDER))
    return verified.status_of(idx)


async def test_registration_returns_verifiable_client_attestation(registry: TrustRegistry) -> None:
    key, unit = await _register(registry, wallet_version="1.2.0")
    now = registry.clock.now()
    pop = create_client_attestation_pop(key, client_id=unit["client_id"], audience="https://as.example", now=now)
    seen: set[str] = set()

    def seen_before(jti: str) -> bool:
        if jti in seen:
            return True
        seen.add(jti)
        return False

    verified = verify_client_attestation(
        unit["client_attestation"], pop, trust=await registry.validator(Role.WALLET_PROVIDER),
        audience="https://as.example", now=now, seen=seen_before,
    )
    assert verified.client_id == unit["wallet_unit_id"]
    assert verified.issuer == registry.wallet_provider_id
    assert jwk_thumbprint(verified.cnf_jwk) == jwk_thumbprint(public_jwk(key.public_key()))
    assert verified.payload["status"]["status_list"]["uri"] == registry.ctx.url("/trust/status/wallet-units")


async def test_wallet_unit_attestation_says_keys_are_software(registry: TrustRegistry) -> None:
    extra = new_key()
    key = new_key()
    nonce = (await registry.wallet_provider.nonce())["nonce"]
    now = registry.clock.timestamp()
    proof = make_pop(key, aud=registry.wallet_provider_id, nonce=nonce, iat=now)
    extra_proof = make_pop(extra, aud=registry.wallet_provider_id, nonce=nonce, iat=now)
    unit = await registry.wallet_provider.register(proof, key_proofs=[extra_proof])
    wua = verify_key_attestation(unit["wallet_unit_attestation"], trust=await registry.validator(Role.WALLET_PROVIDER),
                                 now=registry.clock.now())
    assert wua.key_storage == (KEY_STORAGE_SOFTWARE,)
    assert wua.user_authentication == (USER_AUTHENTICATION_SOFTWARE,)
    assert not any(v.startswith("iso_18045") for v in (*wua.key_storage, *wua.user_authentication))
    assert "certification" not in wua.payload
    thumbs = {jwk_thumbprint(k) for k in wua.attested_keys}
    assert thumbs == {jwk_thumbprint(public_jwk(key.public_key())), jwk_thumbprint(public_jwk(extra.public_key()))}


async def test_rejects_replayed_nonce(registry: TrustRegistry) -> None:
    key = new_key()
    nonce = (await registry.wallet_provider.nonce())["nonce"]
    proof = make_pop(key, aud=registry.wallet_provider_id, nonce=nonce, iat=registry.clock.timestamp())
    await registry.wallet_provider.register(proof)
    other = make_pop(new_key(), aud=registry.wallet_provider_id, nonce=nonce, iat=registry.clock.timestamp())
    with pytest.raises(TrustError) as err:
        await registry.wallet_provider.register(other)
    assert err.value.code == "invalid_nonce"


async def test_rejects_unknown_and_expired_nonce(registry: TrustRegistry, clock: FrozenClock) -> None:
    key = new_key()
    with pytest.raises(TrustError) as err:
        await registry.wallet_provider.register(
            make_pop(key, aud=registry.wallet_provider_id, nonce="made-up", iat=clock.timestamp()))
    assert err.value.code == "invalid_nonce"
    nonce = (await registry.wallet_provider.nonce())["nonce"]
    clock.advance(minutes=6)
    with pytest.raises(TrustError) as err:
        await registry.wallet_provider.register(
            make_pop(key, aud=registry.wallet_provider_id, nonce=nonce, iat=clock.timestamp()))
    assert err.value.code == "invalid_nonce"


@pytest.mark.parametrize("flaw", ["other_key_signed", "wrong_aud", "stale", "wrong_typ", "not_a_jwt", "private_jwk"])
async def test_rejects_bad_proof_of_possession(registry: TrustRegistry, flaw: str) -> None:
    key = new_key()
    nonce = (await registry.wallet_provider.nonce())["nonce"]
    aud, iat, typ = registry.wallet_provider_id, registry.clock.timestamp(), "wallet-unit-pop+jwt"
    if flaw == "other_key_signed":
        proof = make_pop(new_key(), aud=aud, nonce=nonce, iat=iat, jwk_key=key)
    elif flaw == "wrong_aud":
        proof = make_pop(key, aud="https://issuer.example", nonce=nonce, iat=iat)
    elif flaw == "stale":
        proof = make_pop(key, aud=aud, nonce=nonce, iat=iat - 3600)
    elif flaw == "wrong_typ":
        proof = make_pop(key, aud=aud, nonce=nonce, iat=iat, typ="openid4vci-proof+jwt")
    elif flaw == "private_jwk":
        from portfeil.formats.jws import sign_compact
        from portfeil.pki.keys import private_jwk

        proof = sign_compact({"aud": aud, "nonce": nonce, "iat": iat}, key, typ=typ,
                             header={"jwk": private_jwk(key)})
    else:
        proof = "not.a.jwt"
    with pytest.raises(TrustError) as err:
        await registry.wallet_provider.register(proof)
    assert err.value.code == "invalid_proof"
    # the nonce was not consumed by a failed proof: a good proof still works with it
    good = make_pop(key, aud=aud, nonce=nonce, iat=iat)
    assert (await registry.wallet_provider.register(good))["wallet_unit_id"]


async def test_rejects_second_registration_of_same_key(registry: TrustRegistry) -> None:
    key, _ = await _register(registry)
    with pytest.raises(TrustError) as err:
        await _register(registry, key)
    assert err.value.code == "invalid_wallet_unit"


async def test_revoked_unit_has_status_bit_set_and_status_says_revoked(registry: TrustRegistry) -> None:
    key, unit = await _register(registry)
    _, bystander = await _register(registry)
    idx = unit["status"]["status_list"]["idx"]
    assert await _bit(registry, idx) == VALID
    assert (await registry.wallet_provider.status(unit["wallet_unit_id"]))["valid"] is True
    result = await registry.wallet_provider.revoke(unit["wallet_unit_id"], "compromised")
    assert result["status"] == "revoked"
    assert result["reason"] == "compromised"
    assert await _bit(registry, idx) == INVALID
    assert await _bit(registry, bystander["status"]["status_list"]["idx"]) == VALID
    from sqlalchemy import select

    from portfeil.outbox import OutboxEvent

    async with registry.db.session() as s:
        query = select(OutboxEvent).where(OutboxEvent.topic == "trust.wallet_unit_revoked")
        events = (await s.execute(query)).scalars().all()
    assert [e.payload for e in events] == [{"wallet_unit_id": unit["wallet_unit_id"], "reason": "compromised"}]
    notices = await registry.wallet_provider.notices(unit["wallet_unit_id"])
    assert [n["kind"] for n in notices] == ["revoked"]
    with pytest.raises(TrustError) as err:
        await registry.wallet_provider.refresh(unit["wallet_unit_id"], await _proof(registry, key))
    assert err.value.code == "wallet_unit_revoked"


async def test_holder_revokes_own_unit_with_proof(registry: TrustRegistry) -> None:
    key, unit = await _register(registry)
    with pytest.raises(TrustError) as err:
        await registry.wallet_provider.revoke_by_holder(unit["wallet_unit_id"], await _proof(registry, new_key()))
    assert err.value.code == "invalid_proof"
    result = await registry.wallet_provider.revoke_by_holder(unit["wallet_unit_id"], await _proof(registry, key))
    assert result["status"] == "revoked"
    assert result["reason"] == "user_request"


async def test_refresh_gives_new_attestations(registry: TrustRegistry, clock: FrozenClock) -> None:
    key, unit = await _register(registry)
    clock.advance(hours=1)
    fresh = await registry.wallet_provider.refresh(unit["wallet_unit_id"], await _proof(registry, key))
    assert fresh["wallet_unit_id"] == unit["wallet_unit_id"]
    assert fresh["client_attestation"] != unit["client_attestation"]


async def test_rejects_unknown_revocation_reason(registry: TrustRegistry) -> None:
    _, unit = await _register(registry)
    with pytest.raises(TrustError) as err:
        await registry.wallet_provider.revoke(unit["wallet_unit_id"], "because")
    assert err.value.code == "invalid_wallet_unit"


async def test_death_event_revokes_units_bound_to_the_person(registry: TrustRegistry) -> None:
    _, unit = await _register(registry)
    _, other = await _register(registry)
    await registry.wallet_provider.bind_person(unit["wallet_unit_id"], "person-42")
    await registry.wallet_provider.bind_person(other["wallet_unit_id"], "person-7")
    ctx = registry.ctx
    from portfeil.trust.service import setup

    await setup(ctx)
    async with ctx.db.transaction() as s:
        await emit(s, "population.person_died", {"person_id": "person-42"}, clock=ctx.clock)
    assert await ctx.outbox.drain() >= 1
    status = await registry.wallet_provider.status(unit["wallet_unit_id"])
    assert status["status"] == "revoked"
    assert status["reason"] == "holder_death"
    assert await _bit(registry, unit["status"]["status_list"]["idx"]) == INVALID
    assert (await registry.wallet_provider.status(other["wallet_unit_id"]))["valid"] is True
    assert await ctx.outbox.drain() == 0  # delivered once


async def test_breach_suspends_affected_versions_and_notifies(registry: TrustRegistry) -> None:
    _, old = await _register(registry, wallet_version="1.0.0")
    _, new = await _register(registry, wallet_version="2.0.0")
    result = await registry.wallet_provider.declare_breach(
        {"bg": "Открита е уязвимост във версия 1.0.0.", "en": "A vulnerability was found in version 1.0.0."},
        affected_versions=["1.0.0"],
    )
    assert result["affected_units"] == 1
    assert (await registry.wallet_provider.status(old["wallet_unit_id"]))["status"] == "suspended"
    assert await _bit(registry, old["status"]["status_list"]["idx"]) == SUSPENDED
    assert (await registry.wallet_provider.status(new["wallet_unit_id"]))["valid"] is True
    notices = await registry.wallet_provider.notices(old["wallet_unit_id"])
    assert {n["kind"] for n in notices} == {"breach", "suspended"}
    assert any("1.0.0" in n["message"]["en"] for n in notices)
    assert await registry.wallet_provider.notices(new["wallet_unit_id"]) == []


async def test_breach_for_all_versions_can_revoke(registry: TrustRegistry) -> None:
    _, a = await _register(registry, wallet_version="1.0.0")
    _, b = await _register(registry, wallet_version="2.0.0")
    result = await registry.wallet_provider.declare_breach({"bg": "Пробив.", "en": "Breach."}, action="revoke")
    assert result["affected_units"] == 2
    for unit in (a, b):
        assert (await registry.wallet_provider.status(unit["wallet_unit_id"]))["status"] == "revoked"


async def test_rejects_breach_without_both_languages(registry: TrustRegistry) -> None:
    with pytest.raises(TrustError) as err:
        await registry.wallet_provider.declare_breach({"en": "Breach."})
    assert err.value.code == "invalid_breach"


async def test_unknown_wallet_unit(registry: TrustRegistry) -> None:
    with pytest.raises(TrustError) as err:
        await registry.wallet_provider.status("nope")
    assert err.value.code == "wallet_unit_not_found"
    assert err.value.status == 404
