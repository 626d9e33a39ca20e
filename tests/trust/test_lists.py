"""Trusted lists: published lists verify through the consume path; tampered, rolled-back and expired lists are
refused; the sequence number grows on every change; the real Bulgarian list imports through the same path."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from portfeil.clock import FrozenClock
from portfeil.formats import trusted_list as tl
from portfeil.formats.jws import verify_compact
from portfeil.pki.ca import create_root_ca
from portfeil.pki.roles import Role
from portfeil.trust.errors import TrustError
from portfeil.trust.lists import LIST_SPECS, anchors_by_service_type
from portfeil.trust.registry import TrustRegistry

FIXTURES = Path(__file__).parent.parent / "fixtures"
BG_XML = (FIXTURES / "TSL_BG.xml").read_bytes()
LOTL_XML = (FIXTURES / "eu-lotl.xml").read_bytes()
LOTL_SIGNER_SHA256 = "e0a620fbb6747362bb933ac44169d676a553444716cf5f31605f12a22b8396b1"  # as in tests/formats
BG_SIGNER_SHA256 = "09a4074179f39ae77d54f4630d73a78b7c8bd07d414c43c29420c3cab52e9e32"  # pinned as in tests/formats


def _keyinfo_signer(xml: bytes, sha256: str) -> x509.Certificate:
    m = re.search(rb"<ds:KeyInfo><ds:X509Data><ds:X509Certificate>([^<]+)<", xml)
    assert m is not None
    cert = x509.load_der_x509_certificate(base64.b64decode(m.group(1)))
    assert cert.fingerprint(hashes.SHA256()).hex() == sha256
    return cert


def _bg_signer() -> x509.Certificate:
    return _keyinfo_signer(BG_XML, BG_SIGNER_SHA256)


async def test_published_list_verifies_through_consume_path(registry: TrustRegistry) -> None:
    pub = await registry.trusted_list("pid-providers")
    assert pub.sequence == 1
    anchors = await registry.load_own_list("pid-providers", pub.body)
    assert registry.root_certificate(Role.PID_PROVIDER) in anchors
    assert registry.root_certificate(Role.IACA) in anchors
    assert registry.root_certificate(Role.RP_ACCESS) not in anchors


async def test_every_list_is_published_with_its_type(registry: TrustRegistry) -> None:
    for name, spec in LIST_SPECS.items():
        pub = await registry.trusted_list(name)
        parsed = tl.parse_trusted_list(pub.body)
        assert parsed.scheme.tsl_type == spec.lote_type
        assert parsed.scheme.territory == "BG"
        assert parsed.scheme.next_update == parsed.scheme.issue_date + timedelta(days=7)
        for role in spec.roles:
            assert registry.root_certificate(role) in parsed.trust_anchors(spec.service_type)


async def test_rejects_tampered_list(registry: TrustRegistry) -> None:
    pub = await registry.trusted_list("wallet-providers")
    tampered = pub.body.replace(b"portfeil trust registry", b"evil trust registry", 1)
    assert tampered != pub.body
    with pytest.raises(TrustError) as err:
        await registry.load_own_list("wallet-providers", tampered)
    assert err.value.code == "trusted_list_rejected"
    assert err.value.details["reason"] == "trusted_list_signature_invalid"


async def test_rejects_list_signed_by_unpinned_operator(registry: TrustRegistry) -> None:
    pub = await registry.trusted_list("wallet-providers")
    other = create_root_ca("other", Role.TSL_OPERATOR, now=registry.clock.now()).certificate
    with pytest.raises(TrustError) as err:
        await registry.consumer.load("x", pub.body, pinned=other, now=registry.clock.now())
    assert err.value.details["reason"] == "trusted_list_signer_not_pinned"


async def test_sequence_grows_on_change_and_lower_sequence_is_refused(registry: TrustRegistry) -> None:
    first = await registry.trusted_list("access-cas")
    again = await registry.trusted_list("access-cas")
    assert again.sequence == first.sequence
    assert again.body == first.body
    external = create_root_ca("Independent access CA", Role.RP_ACCESS, now=registry.clock.now())
    await registry.add_anchor(Role.RP_ACCESS, external.certificate)
    second = await registry.trusted_list("access-cas")
    assert second.sequence == first.sequence + 1
    anchors = await registry.load_own_list("access-cas", second.body)
    assert external.certificate in anchors
    with pytest.raises(TrustError) as err:
        await registry.load_own_list("access-cas", first.body)
    assert err.value.details["reason"] == "trusted_list_rollback"
    # the same (highest) list again is fine
    assert external.certificate in await registry.load_own_list("access-cas", second.body)


async def test_list_is_reissued_with_next_sequence_after_half_its_validity(
    registry: TrustRegistry, clock: FrozenClock
) -> None:
    first = await registry.trusted_list("registration-cas")
    clock.advance(days=4)
    second = await registry.trusted_list("registration-cas")
    assert second.sequence == first.sequence + 1
    assert second.next_update > first.next_update


async def test_rejects_expired_list(registry: TrustRegistry, clock: FrozenClock) -> None:
    pub = await registry.trusted_list("pid-providers")
    clock.advance(days=8)
    with pytest.raises(TrustError) as err:
        await registry.load_own_list("pid-providers", pub.body)
    assert err.value.details["reason"] == "trusted_list_expired"


async def test_consumer_caches_until_next_update(registry: TrustRegistry, clock: FrozenClock) -> None:
    pub = await registry.trusted_list("pid-providers")
    key = registry.ctx.url("/trust/lists/pid-providers.xml")
    await registry.load_own_list("pid-providers", pub.body)
    assert registry.consumer.cached(key, now=clock.now()) is not None
    assert registry.consumer.cached(key, now=clock.now() + timedelta(days=8)) is None


async def test_rejects_list_with_external_entity(registry: TrustRegistry) -> None:
    xxe = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
           b'<TrustServiceStatusList xmlns="http://uri.etsi.org/02231/v2#">&e;</TrustServiceStatusList>')
    with pytest.raises(TrustError) as err:
        await registry.load_own_list("pid-providers", xxe)
    assert err.value.details["reason"].startswith("xml_")


async def test_lote_json_is_signed_by_the_scheme_operator(registry: TrustRegistry) -> None:
    pub = await registry.lote("wallet-providers")
    verified = verify_compact(pub.body.decode(), key=registry.scheme_operator_certificate().public_key())  # type: ignore[arg-type]
    lote = verified.payload["LoTE"]
    info = lote["ListAndSchemeInformation"]
    assert info["LoTEType"] == tl.LOTE_TYPE_WALLET_PROVIDERS
    assert info["LoTESequenceNumber"] == pub.sequence
    services = lote["TrustedEntitiesList"][0]["TrustedEntityServices"]
    vals = [s["ServiceInformation"]["ServiceDigitalIdentity"]["X509Certificates"][0]["val"] for s in services]
    root = registry.root_certificate(Role.WALLET_PROVIDER)
    assert base64.b64encode(root.public_bytes(Encoding.DER)).decode() in vals
    assert json.dumps(verified.payload)  # plain JSON all the way down


async def test_imports_real_bulgarian_list(registry: TrustRegistry, clock: FrozenClock) -> None:
    clock.set(datetime(2026, 8, 10, 12, 0, tzinfo=UTC))  # BG list: issued 2026-06-01, next update 2026-12-01
    bg = await registry.consumer.load("https://crc.bg/files/_en/TSL_BG.xml", BG_XML, pinned=_bg_signer(),
                                      now=clock.now(), expected_types=tl.TSL_TYPE_EU_GENERIC)
    assert bg.scheme.sequence_number == 64
    assert len(bg.providers) == 8
    by_type = anchors_by_service_type(bg)
    qc_cas = by_type[tl.SVC_TYPE_CA_QC]
    assert qc_cas
    subjects = " ".join(c.subject.rfc4514_string() for c in qc_cas)
    assert "BORICA" in subjects or "B-Trust" in subjects
    assert await registry.consumer.highest_sequence("https://crc.bg/files/_en/TSL_BG.xml") == 64


async def test_rejects_tampered_real_bulgarian_list(registry: TrustRegistry, clock: FrozenClock) -> None:
    clock.set(datetime(2026, 8, 10, 12, 0, tzinfo=UTC))
    tampered = BG_XML.replace(b"<TSLSequenceNumber>64<", b"<TSLSequenceNumber>65<", 1)
    assert tampered != BG_XML
    with pytest.raises(TrustError) as err:
        await registry.consumer.load("bg", tampered, pinned=_bg_signer(), now=clock.now())
    assert err.value.details["reason"] == "trusted_list_signature_invalid"


async def test_lotl_points_to_bulgarian_list_which_then_verifies(registry: TrustRegistry, clock: FrozenClock) -> None:
    clock.set(datetime(2026, 8, 10, 12, 0, tzinfo=UTC))  # both lists valid then
    lotl = await registry.consumer.load("https://ec.europa.eu/tools/lotl/eu-lotl.xml", LOTL_XML,
                                        pinned=_keyinfo_signer(LOTL_XML, LOTL_SIGNER_SHA256), now=clock.now(),
                                        expected_types=tl.TSL_TYPE_EU_LOTL)
    pointer = lotl.pointer("BG")
    assert pointer is not None
    assert pointer.location.endswith("TSL_BG.xml")
    bg = await registry.consumer.load(pointer.location, BG_XML, pinned=pointer.certificates, now=clock.now(),
                                      expected_types=tl.TSL_TYPE_EU_GENERIC)
    assert bg.signer is not None
    assert bg.signer.fingerprint(hashes.SHA256()).hex() == BG_SIGNER_SHA256
    assert tl.SVC_TYPE_CA_QC in anchors_by_service_type(bg)
