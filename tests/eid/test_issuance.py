"""Issuance rules (ЗЕИ as understood, docs/eid.md "Issuance rules"), each with a named negative test."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from portfeil.context import AppContext
from portfeil.eid.certificates import electronic_id_of, parse_csr
from portfeil.eid.demo import DemoSetup, IssuedToHolder, issue_to_person
from portfeil.eid.errors import EidError
from portfeil.eid.holder import generate_key, make_csr
from portfeil.eid.registry import EidRegistry, IssueRequest
from portfeil.pki.chains import ChainValidator
from portfeil.pki.roles import Role
from portfeil.sources import registry as population
from tests.eid.conftest import ELENA, IVAN, KALOYAN, MARIA, PETAR, RADKA, make_person


def _req(desk: DemoSetup, personal_number: str, document: str, **kw: object) -> IssueRequest:
    return IssueRequest(personal_number=personal_number, csr=make_csr(generate_key()),
                        administrator_id=desk.administrator.id, officer=str(kw.pop("officer", "officer A")),
                        document_number=document, centre_id=desk.centre.id, **kw)  # type: ignore[arg-type]


async def test_certificate_profile(reg: EidRegistry, ivan: IssuedToHolder, ctx: AppContext) -> None:
    cert = x509.load_der_x509_certificate(ivan.certificate.der)
    eid = electronic_id_of(cert)
    assert eid == ivan.certificate.electronic_id
    assert cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == f"PI:BG-{eid}"
    assert IVAN.encode() not in ivan.certificate.der, "the ЕГН is never in the certificate"
    assert cert.not_valid_after_utc - cert.not_valid_before_utc >= timedelta(days=5 * 365)
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= timedelta(days=5 * 365 + 2)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    crldp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert crldp[0].full_name[0].value == "http://testserver/eid/crl/eid-ca.crl"
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert aia[0].access_location.value == "http://testserver/eid/ocsp"
    issuing = (await reg.issuing_ca()).certificate
    leaf = ChainValidator([await reg.root_ca()], Role.EID).validate(
        [ivan.certificate.der, issuing.public_bytes(Encoding.DER)], now=ctx.clock.now())
    assert leaf.serial_number == cert.serial_number
    view = await reg.get(ivan.certificate.serial)
    assert view.transitions[0]["reason"] == "issued"
    assert "чл. 20" in view.transitions[0]["article"]


async def test_electronic_id_random_unique_and_stable(reg: EidRegistry, desk: DemoSetup, ivan: IssuedToHolder) -> None:
    second = await issue_to_person(reg, IVAN, setup=desk)
    assert second.certificate.electronic_id == ivan.certificate.electronic_id, "one identifier per person"
    elena = await issue_to_person(reg, ELENA, setup=desk)
    assert elena.certificate.electronic_id != ivan.certificate.electronic_id
    eid = ivan.certificate.electronic_id
    assert len(eid) == 26
    assert IVAN not in eid
    assert "850625" not in eid


async def test_appearance_recorded(reg: EidRegistry, ivan: IssuedToHolder, desk: DemoSetup) -> None:
    from portfeil.eid.models import Certificate

    async with reg.db.session() as s:
        row = await s.get(Certificate, ivan.certificate.serial)
    assert row is not None
    assert row.appearance["officer"] == "demo officer"
    assert row.appearance["centre_id"] == desk.centre.id
    assert row.appearance["at"]


async def test_rejects_under_minimum_age(reg: EidRegistry, desk: DemoSetup, ctx: AppContext) -> None:
    today = ctx.clock.now().date()
    young = await make_person(ctx, date(today.year - 14, today.month, today.day) + timedelta(days=1))
    with pytest.raises(EidError) as e:
        await reg.issue(_req(desk, young, "700000001"))
    assert e.value.code == "under_minimum_age"


async def test_accepts_on_fourteenth_birthday_with_parent_co_signing(
    reg: EidRegistry, desk: DemoSetup, ctx: AppContext
) -> None:
    today = ctx.clock.now().date()
    egn = await make_person(ctx, date(today.year - 14, today.month, today.day))
    with pytest.raises(EidError) as e:  # a 14-year-old is a minor: co-signature needed
        await reg.issue(_req(desk, egn, "700000001"))
    assert e.value.code == "co_signer_required"


async def test_rejects_without_in_person_appearance(reg: EidRegistry, desk: DemoSetup) -> None:
    with pytest.raises(EidError) as e:
        await reg.issue(_req(desk, IVAN, "645123450", officer=" "))
    assert e.value.code == "appearance_not_recorded"
    with pytest.raises(EidError) as e:
        await reg.issue(_req(desk, IVAN, "645123450", appeared_at=reg.clock.now() - timedelta(days=3)))
    assert e.value.code == "appearance_not_recorded"


async def test_rejects_document_not_the_persons(reg: EidRegistry, desk: DemoSetup) -> None:
    with pytest.raises(EidError) as e:
        await reg.issue(_req(desk, IVAN, "645123451"))  # Елена's card
    assert e.value.code == "document_not_found"


async def test_rejects_invalidated_document(reg: EidRegistry, desk: DemoSetup, ctx: AppContext) -> None:
    await population.invalidate_document(ctx.db, "645123450", clock=ctx.clock)
    with pytest.raises(EidError) as e:
        await reg.issue(_req(desk, IVAN, "645123450"))
    assert e.value.code == "document_not_valid"


async def test_rejects_expired_document(reg: EidRegistry, desk: DemoSetup, ctx: AppContext) -> None:
    ctx.clock.set(ctx.clock.now().replace(year=2034))  # type: ignore[attr-defined]
    with pytest.raises(EidError) as e:
        await reg.issue(_req(desk, IVAN, "645123450"))  # card valid until 2034-03-15
    assert e.value.code == "document_not_valid"
    assert e.value.details["status"] == "expired"


async def test_rejects_deceased(reg: EidRegistry, desk: DemoSetup) -> None:
    with pytest.raises(EidError) as e:
        await reg.issue(_req(desk, PETAR, "645123455"))
    assert e.value.code == "person_deceased"


async def test_rejects_unknown_person(reg: EidRegistry, desk: DemoSetup) -> None:
    with pytest.raises(EidError) as e:
        await reg.issue(_req(desk, "0042096485", "1"))
    assert e.value.code == "person_not_found"


async def test_minor_needs_co_signer(reg: EidRegistry, desk: DemoSetup) -> None:
    with pytest.raises(EidError) as e:
        await reg.issue(_req(desk, MARIA, "645123452"))
    assert e.value.code == "co_signer_required"


async def test_rejects_co_signer_who_is_not_a_representative(reg: EidRegistry, desk: DemoSetup) -> None:
    with pytest.raises(EidError) as e:
        await reg.issue(_req(desk, MARIA, "645123452", co_signer_personal_number=RADKA, co_signer_appeared=True))
    assert e.value.code == "co_signer_not_representative"


async def test_rejects_co_signer_who_did_not_appear(reg: EidRegistry, desk: DemoSetup) -> None:
    with pytest.raises(EidError) as e:
        await reg.issue(_req(desk, MARIA, "645123452", co_signer_personal_number=IVAN, co_signer_appeared=False))
    assert e.value.code == "co_signer_appearance_required"


async def test_minor_with_parent_and_ward_with_guardian(reg: EidRegistry, desk: DemoSetup) -> None:
    from portfeil.eid.models import Certificate

    maria = await issue_to_person(reg, MARIA, setup=desk, co_signer=ELENA)
    kaloyan = await issue_to_person(reg, KALOYAN, setup=desk, co_signer=RADKA)
    async with reg.db.session() as s:
        m = await s.get(Certificate, maria.certificate.serial)
        k = await s.get(Certificate, kaloyan.certificate.serial)
    assert m is not None
    assert m.co_signer is not None
    assert m.co_signer["kind"] == "parent"
    assert k is not None
    assert k.co_signer is not None
    assert k.co_signer["kind"] == "guardian"


async def test_rejects_unregistered_administrator(reg: EidRegistry, desk: DemoSetup) -> None:
    from portfeil.eid.demo import _docs

    applied = await reg.register.apply("administrator", name="Кандидат", eik="175074752", address="София",
                                       documents=_docs("administrator"))
    with pytest.raises(EidError) as e:
        await reg.issue(IssueRequest(IVAN, make_csr(generate_key()), applied.id, "o", "645123450"))
    assert e.value.code == "administrator_not_active"


async def test_rejects_suspended_administrator(reg: EidRegistry, desk: DemoSetup) -> None:
    await reg.register.measure(desk.administrator.id, "suspension", reason="audit findings", actor="authority")
    with pytest.raises(EidError) as e:
        await reg.issue(_req(desk, IVAN, "645123450"))
    assert e.value.code == "administrator_not_active"


async def test_rejects_inactive_centre(reg: EidRegistry, desk: DemoSetup) -> None:
    await reg.register.terminate(desk.centre.id, reason="closed", actor="authority")
    with pytest.raises(EidError) as e:
        await reg.issue(_req(desk, IVAN, "645123450"))
    assert e.value.code == "centre_not_active"


async def test_rejects_csr_with_bad_signature(reg: EidRegistry, desk: DemoSetup) -> None:
    key, other = generate_key(), generate_key()
    csr = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")])).sign(key, hashes.SHA256())
    der = bytearray(csr.public_bytes(Encoding.DER))
    der[-5] ^= 0x01  # corrupt the signature
    with pytest.raises(EidError) as e:
        parse_csr(bytes(der))
    assert e.value.code in ("csr_signature_invalid", "invalid_csr")
    with pytest.raises(EidError) as e:
        parse_csr(b"not a csr")
    assert e.value.code == "invalid_csr"
    del other


async def test_rejects_unsupported_key(reg: EidRegistry, desk: DemoSetup) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")])).sign(key, hashes.SHA256())
    with pytest.raises(EidError) as e:
        parse_csr(csr.public_bytes(Encoding.PEM))
    assert e.value.code == "unsupported_key"
