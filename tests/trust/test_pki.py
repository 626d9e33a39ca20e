"""Ecosystem PKI: roots per role created once and reloaded, signers, anchors per role, issuance, role separation."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from portfeil.context import AppContext
from portfeil.pki.ca import create_root_ca, issue_leaf
from portfeil.pki.certs import cert_to_der, san_dns_names, san_uris
from portfeil.pki.errors import PKIError
from portfeil.pki.keystore import FileKeyStore
from portfeil.pki.roles import Role
from portfeil.trust.anchors import ROOT_ROLES
from portfeil.trust.errors import TrustError
from portfeil.trust.registry import TrustRegistry
from tests.trust.conftest import new_key


async def test_roots_created_once_and_reloaded_on_restart(ctx: AppContext, tmp_path: Path) -> None:
    first = TrustRegistry(ctx, keystore=FileKeyStore(tmp_path / "ks", b"pass"))
    await first.ensure_ready()
    roots = {role: cert_to_der(first.root_certificate(role)) for role in ROOT_ROLES}
    operator = cert_to_der(first.scheme_operator_certificate())
    # a new process: a fresh keystore object on the same directory
    second = TrustRegistry(ctx, keystore=FileKeyStore(tmp_path / "ks", b"pass"))
    await second.ensure_ready()
    assert {role: cert_to_der(second.root_certificate(role)) for role in ROOT_ROLES} == roots
    assert cert_to_der(second.scheme_operator_certificate()) == operator
    assert len(set(roots.values())) == len(ROOT_ROLES)  # one distinct root per role


async def test_rejects_wrong_keystore_passphrase(ctx: AppContext, tmp_path: Path) -> None:
    await TrustRegistry(ctx, keystore=FileKeyStore(tmp_path / "ks", b"pass")).ensure_ready()
    with pytest.raises(PKIError) as err:
        await TrustRegistry(ctx, keystore=FileKeyStore(tmp_path / "ks", b"wrong")).ensure_ready()
    assert err.value.code == "keystore_locked"


async def test_signers_chain_to_their_role_roots(registry: TrustRegistry, ctx: AppContext) -> None:
    now = ctx.clock.now()
    for role in (Role.TSL_OPERATOR, Role.REGISTRAR, Role.WALLET_PROVIDER):
        signer = registry.signer(role)
        validator = await registry.validator(role)
        assert validator.validate_certs(list(signer.chain), now=now) == signer.certificate
    assert san_uris(registry.signer(Role.WALLET_PROVIDER).certificate) == [registry.wallet_provider_id]


async def test_pid_provider_certificate_has_issuer_uri_and_validates(registry: TrustRegistry, ctx: AppContext) -> None:
    key = new_key()
    chain = await registry.issue_pid_provider_certificate(key.public_key(), uri="https://pid.example/issuer",
                                                          dns=["pid.example"])
    assert san_uris(chain[0]) == ["https://pid.example/issuer"]
    assert san_dns_names(chain[0]) == ["pid.example"]
    validator = await registry.validator(Role.PID_PROVIDER)
    assert validator.validate_certs(chain, now=ctx.clock.now()) == chain[0]
    assert chain[-1] != registry.root_certificate(Role.PID_PROVIDER)  # the root is not part of the x5c


async def test_rejects_pid_certificate_for_another_role(registry: TrustRegistry, ctx: AppContext) -> None:
    chain = await registry.issue_pid_provider_certificate(new_key().public_key(), uri="https://pid.example")
    for role in (Role.RP_ACCESS, Role.WALLET_PROVIDER, Role.IACA):
        with pytest.raises(PKIError):
            (await registry.validator(role)).validate_certs(chain, now=ctx.clock.now())


async def test_rejects_pid_certificate_without_url(registry: TrustRegistry) -> None:
    with pytest.raises(TrustError) as err:
        await registry.issue_pid_provider_certificate(new_key().public_key(), uri="pid.example")
    assert err.value.code == "invalid_certificate_request"


async def test_document_signer_chains_to_iaca(registry: TrustRegistry, ctx: AppContext) -> None:
    chain = await registry.issue_document_signer(new_key().public_key())
    assert (await registry.validator(Role.IACA)).validate_certs(chain, now=ctx.clock.now()) == chain[0]
    eku = chain[0].extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical


async def test_external_anchor_is_trusted_for_its_role_only(registry: TrustRegistry, ctx: AppContext) -> None:
    now = ctx.clock.now()
    external = create_root_ca("Independent issuer CA", Role.PID_PROVIDER, now=now)
    leaf = issue_leaf(external, "independent issuer", new_key().public_key(), Role.PID_PROVIDER, now=now,
                      san_uris=["https://other.example"])
    before = await registry.validator(Role.PID_PROVIDER)
    with pytest.raises(PKIError) as err:
        before.validate_certs([leaf], now=now)
    assert err.value.code == "untrusted_chain"
    info = await registry.add_anchor("pid-provider", external.certificate)
    assert info["role"] == "pid-provider"
    assert external.certificate in await registry.anchors(Role.PID_PROVIDER)
    after = await registry.validator(Role.PID_PROVIDER)
    assert after is not before  # rebuilt because the anchors changed
    assert after.validate_certs([leaf], now=now) == leaf
    assert await registry.validator(Role.PID_PROVIDER) is after  # cached while unchanged
    assert external.certificate not in await registry.anchors(Role.ATTESTATION_PROVIDER)
    await registry.add_anchor("pid-provider", external.certificate)  # idempotent
    assert (await registry.anchors(Role.PID_PROVIDER)).count(external.certificate) == 1


async def test_rejects_end_entity_certificate_as_anchor(registry: TrustRegistry, ctx: AppContext) -> None:
    chain = await registry.issue_pid_provider_certificate(new_key().public_key(), uri="https://pid.example")
    with pytest.raises(TrustError) as err:
        await registry.add_anchor(Role.PID_PROVIDER, chain[0])
    assert err.value.code == "invalid_anchor"


async def test_rejects_unknown_role(registry: TrustRegistry) -> None:
    with pytest.raises(TrustError) as err:
        await registry.anchors("notary")
    assert err.value.code == "unknown_role"


async def test_eid_role_has_only_external_anchors(registry: TrustRegistry) -> None:
    assert await registry.anchors(Role.EID) == []
