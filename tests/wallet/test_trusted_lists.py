"""The wallet takes its trust anchors from the trust registry's signed ETSI TS 119 612 lists, verified against the
pinned scheme operator certificate (issue #7). Every refusal is named: another signer, a tampered list, an expired
list, a rollback, a list of the wrong type, a missing or unreachable list, an oversized list, an entity
declaration; in each case the old anchors stay. Lists are served by the real registry (in-process) through an
HTTP transport that can replace what the network answers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from portfeil.clock import FrozenClock
from portfeil.formats import trusted_list as tl
from portfeil.pki.ca import create_root_ca
from portfeil.pki.certs import cert_sha256_b64url, cert_to_pem
from portfeil.pki.roles import Role
from portfeil.trust.lists import LIST_SPECS
from portfeil.trust.registry import TrustRegistry
from portfeil.wallet.core import Wallet
from portfeil.wallet.errors import WalletError
from portfeil.wallet.service import demo_pin_path, demo_seed, scheme_operator_pin
from portfeil.wallet.trust import LIST_SOURCES, MAX_LIST_BYTES
from tests.wallet.conftest import BASE, FAST_KDF, PASS, Env

Rewrite = Callable[[str, httpx.Response], httpx.Response]


class Network(httpx.AsyncBaseTransport):
    """The application over ASGI; ``rewrite`` may replace the answer for a path (an attacker or an outage)."""

    def __init__(self, env: Env, rewrite: Rewrite | None = None) -> None:
        self.inner = httpx.ASGITransport(app=env.app)
        self.rewrite = rewrite
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        resp = await self.inner.handle_async_request(request)
        if self.rewrite is None:
            return resp
        await resp.aread()
        return self.rewrite(request.url.path, resp)


def _serve(path: str, body: bytes | None = None, *, status: int = 200) -> Rewrite:
    def rewrite(got: str, resp: httpx.Response) -> httpx.Response:
        if got != path:
            return resp
        return httpx.Response(status, content=body if body is not None else b"")

    return rewrite


def _opened(env: Env, rewrite: Rewrite | None = None, *, clock: FrozenClock | None = None) -> tuple[Wallet, Network]:
    net = Network(env, rewrite)
    client = httpx.AsyncClient(transport=net, base_url=BASE)
    return Wallet.open(env.wallet_dir, PASS, http=client, clock=clock or env.ctx.clock), net


async def _published(env: Env, name: str) -> bytes:
    return (await (await TrustRegistry.of(env.ctx)).trusted_list(name)).body


async def _refused(wallet: Wallet) -> WalletError:
    before = wallet.anchors.summary()
    try:
        with pytest.raises(WalletError) as err:
            await wallet.refresh_trust()
    finally:
        await wallet.aclose()
    assert wallet.anchors.summary() == before  # nothing changed: pin, lists, sequences, anchors
    wallet.anchors.validator(Role.PID_PROVIDER)  # the old anchors still work
    return err.value


# -- the path that works ------------------------------------------------------------------------------------------


async def test_init_takes_anchors_per_role_from_the_signed_lists(env: Env) -> None:
    registry = await TrustRegistry.of(env.ctx)
    summary = env.wallet.anchors.summary(now=env.ctx.clock.now())
    assert summary["scheme_operator"]["sha256"] == [cert_sha256_b64url(registry.scheme_operator_certificate())]
    assert summary["scheme_operator"]["pinned_by"] == "file"
    assert set(summary["lists"]) == {s.name for s in LIST_SOURCES}
    assert not any(info["stale"] for info in summary["lists"].values())
    for role in (Role.PID_PROVIDER, Role.IACA, Role.ATTESTATION_PROVIDER, Role.RP_ACCESS, Role.REGISTRAR,
                 Role.WALLET_PROVIDER):
        assert cert_sha256_b64url(registry.root_certificate(role)) in summary["anchors"][role.value], role
    # an access CA root is not a PID provider anchor: each list anchors only its own roles
    assert cert_sha256_b64url(registry.root_certificate(Role.RP_ACCESS)) not in summary["anchors"]["pid-provider"]
    assert "GET /trust/api/v1/anchors" not in env.calls  # the unsigned JSON export is no longer used
    assert "GET /trust/lists/pid-providers.xml" in env.calls


def test_wallet_list_table_agrees_with_the_registry() -> None:
    assert {s.name for s in LIST_SOURCES} == set(LIST_SPECS)
    for source in LIST_SOURCES:
        spec = LIST_SPECS[source.name]
        assert (source.list_type, source.service_type, source.roles) == (spec.lote_type, spec.service_type,
                                                                         spec.roles)


async def test_refresh_takes_a_newer_list_and_keeps_hand_added_anchors(env: Env) -> None:
    own = create_root_ca("Hand-added root", Role.PID_PROVIDER, now=env.ctx.clock.now()).certificate
    env.wallet.anchors.add("pid-provider", cert_to_pem(own))
    registry = await TrustRegistry.of(env.ctx)
    await registry.trusted_list("access-cas", force=True)  # sequence 2
    out = await env.wallet.refresh_trust()
    assert out["lists"]["access-cas"] == 2
    assert own in env.wallet.anchors.certificates("pid-provider")
    assert registry.root_certificate(Role.PID_PROVIDER) in env.wallet.anchors.certificates("pid-provider")


async def test_trust_on_first_use_only_when_asked_and_shown(env: Env, tmp_path: object) -> None:
    wallet = Wallet.create(env.wallet_dir.parent / "w2", PASS, kdf=FAST_KDF, http=env.client, clock=env.ctx.clock)
    with pytest.raises(WalletError) as err:
        await wallet.refresh_trust(BASE + "/trust")
    assert err.value.code == "scheme_operator_not_pinned"
    out = await wallet.refresh_trust(BASE + "/trust", trust_on_first_use=True)
    assert out["trust_on_first_use"] is True
    assert wallet.anchors.summary()["scheme_operator"]["pinned_by"] == "trust_on_first_use"
    other = create_root_ca("Other operator", Role.TSL_OPERATOR, now=env.ctx.clock.now()).certificate
    wallet.anchors.pin([other], how="file", registry=BASE + "/trust", now=env.ctx.clock.now())
    with pytest.raises(WalletError) as err:  # once pinned, first use is over: the flag does not re-pin
        await wallet.refresh_trust(trust_on_first_use=True)
    assert err.value.details["reason"] == "trusted_list_signer_not_pinned"


# -- named refusals -----------------------------------------------------------------------------------------------


async def test_refuses_list_signed_by_another_key_than_the_pin(env: Env) -> None:
    root = etree.fromstring(await _published(env, "pid-providers"))
    for sig in root.findall(f"{{{tl.NS_DS}}}Signature"):
        root.remove(sig)
    now = env.ctx.clock.now()
    key = ec.generate_private_key(ec.SECP256R1())
    attacker = create_root_ca("Attacker operator", Role.TSL_OPERATOR, now=now - timedelta(hours=1), key=key)
    assert isinstance(attacker.key, ec.EllipticCurvePrivateKey)
    forged = tl.sign_trusted_list(etree.tostring(root), attacker.key, [attacker.certificate], now=now)
    wallet, _ = _opened(env, _serve("/trust/lists/pid-providers.xml", forged))
    err = await _refused(wallet)
    assert err.code == "trusted_list_rejected"
    assert err.details == {"reason": "trusted_list_signer_not_pinned", "list": "pid-providers"}


async def test_refuses_a_pin_that_did_not_sign_the_lists(env: Env) -> None:
    other = create_root_ca("Other operator", Role.TSL_OPERATOR, now=env.ctx.clock.now()).certificate
    before = env.wallet.anchors.summary()
    with pytest.raises(WalletError) as err:
        await env.wallet.refresh_trust(scheme_operator=cert_to_pem(other))
    assert err.value.details["reason"] == "trusted_list_signer_not_pinned"
    assert env.wallet.anchors.summary() == before  # the new pin is not stored either


async def test_refuses_tampered_list(env: Env) -> None:
    body = await _published(env, "access-cas")
    tampered = body.replace(b"portfeil trust registry", b"evil trust registry", 1)
    assert tampered != body
    wallet, _ = _opened(env, _serve("/trust/lists/access-cas.xml", tampered))
    err = await _refused(wallet)
    assert err.details["reason"] == "trusted_list_signature_invalid"


async def test_refuses_expired_list(env: Env) -> None:
    later = FrozenClock(env.ctx.clock.now() + timedelta(days=8))  # past NextUpdate (issue + 7 days)
    wallet, _ = _opened(env, clock=later)
    err = await _refused(wallet)
    assert err.details["reason"] == "trusted_list_expired"


async def test_refuses_list_issued_in_the_future_beyond_the_clock_skew(env: Env) -> None:
    clock = env.ctx.clock
    assert isinstance(clock, FrozenClock)
    wallet_time = clock.now()
    registry = await TrustRegistry.of(env.ctx)
    clock.advance(timedelta(seconds=30))  # the registry's clock runs 30 s ahead: within the allowance
    await registry.trusted_list("access-cas", force=True)
    wallet, _ = _opened(env, clock=FrozenClock(wallet_time))
    assert (await wallet.refresh_trust())["lists"]["access-cas"] == 2
    await wallet.aclose()
    clock.advance(timedelta(minutes=5))  # now 5.5 minutes ahead
    await registry.trusted_list("access-cas", force=True)
    wallet, _ = _opened(env, clock=FrozenClock(wallet_time))
    err = await _refused(wallet)
    assert err.details == {"reason": "trusted_list_not_yet_valid", "list": "access-cas"}


async def test_refuses_rollback_to_a_lower_sequence_number(env: Env) -> None:
    old = await _published(env, "registration-cas")  # sequence 1, seen at init
    await (await TrustRegistry.of(env.ctx)).trusted_list("registration-cas", force=True)
    assert (await env.wallet.refresh_trust())["lists"]["registration-cas"] == 2
    wallet, _ = _opened(env, _serve("/trust/lists/registration-cas.xml", old))
    err = await _refused(wallet)
    assert err.details == {"reason": "trusted_list_rollback", "list": "registration-cas"}


async def test_refuses_a_list_of_another_type_at_a_lists_url(env: Env) -> None:
    # signed by the same operator, but the access-CA list served as the PID provider list
    wallet, _ = _opened(env, _serve("/trust/lists/pid-providers.xml", await _published(env, "access-cas")))
    err = await _refused(wallet)
    assert err.details["reason"] == "trusted_list_wrong_type"


async def test_missing_list_keeps_old_anchors(env: Env) -> None:
    wallet, _ = _opened(env, _serve("/trust/lists/wallet-providers.xml", b'{"error":"unknown_list"}', status=404))
    err = await _refused(wallet)
    assert err.code == "trusted_list_unavailable"
    assert err.details["status_code"] == 404


async def test_unreachable_registry_keeps_old_anchors(env: Env) -> None:
    def down(path: str, resp: httpx.Response) -> httpx.Response:
        if path.startswith("/trust/lists/registration-cas"):  # the last one: earlier lists verified already
            raise httpx.ConnectError("connection refused")
        return resp

    wallet, _ = _opened(env, down)
    err = await _refused(wallet)
    assert err.code == "trusted_list_unreachable"


async def test_refuses_oversized_list_without_reading_it_all(env: Env) -> None:
    big = b"<" + b"x" * MAX_LIST_BYTES + b"/>"
    wallet, _ = _opened(env, _serve("/trust/lists/pid-providers.xml", big))
    err = await _refused(wallet)
    assert err.code == "trusted_list_too_large"


async def test_refuses_xml_with_an_entity_declaration(env: Env) -> None:
    body = (b'<?xml version="1.0"?><!DOCTYPE TrustServiceStatusList [<!ENTITY e "x">]>'
            b'<TrustServiceStatusList xmlns="http://uri.etsi.org/02231/v2#">&e;</TrustServiceStatusList>')
    wallet, _ = _opened(env, _serve("/trust/lists/access-cas.xml", body))
    err = await _refused(wallet)
    assert err.details["reason"] == "xml_entities_forbidden"


async def test_refuses_unsigned_list(env: Env) -> None:
    root = etree.fromstring(await _published(env, "access-cas"))
    for sig in root.findall(f"{{{tl.NS_DS}}}Signature"):
        root.remove(sig)
    wallet, _ = _opened(env, _serve("/trust/lists/access-cas.xml", etree.tostring(root)))
    err = await _refused(wallet)
    assert err.details["reason"] == "trusted_list_unsigned"


# -- the UI's pin -------------------------------------------------------------------------------------------------


async def test_ui_pin_comes_from_the_demo_seed_not_the_network(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = env.ctx
    ctx.services.pop("wallet.scheme_operator", None)
    monkeypatch.delenv("PORTFEIL_WALLET_SCHEME_OPERATOR", raising=False)
    monkeypatch.delenv("PORTFEIL_WALLET_TRUST_ON_FIRST_USE", raising=False)
    assert not demo_pin_path(ctx).exists()
    assert scheme_operator_pin(ctx) == (None, False)  # neither pinned nor first use allowed: refused at create
    monkeypatch.setenv("PORTFEIL_WALLET_TRUST_ON_FIRST_USE", "1")
    assert scheme_operator_pin(ctx) == (None, True)
    await demo_seed(ctx)
    pem = cert_to_pem((await TrustRegistry.of(ctx)).scheme_operator_certificate())
    assert scheme_operator_pin(ctx) == (pem, False)
