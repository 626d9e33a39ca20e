"""ETSI TS 119 612 trusted lists on the REAL lists: Bulgaria's (sequence 64) and the EU LOTL (sequence 390).

Trust chain used here, as a relying party would: the LOTL signing certificate is pinned by its SHA-256
fingerprint (announced out of band, OJEU), the LOTL verifies against it and must list it in its pointer to itself;
the LOTL's pointer to BG then supplies the certificates that verify Bulgaria's list, whose signer must also be the
one pinned below. Every security check has a named negative test on a tampered copy of the real list.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfeil.formats import FormatError
from portfeil.formats.trusted_list import (
    MIME_TSL_XML,
    STATUS_GRANTED,
    STATUS_WITHDRAWN,
    SVC_TYPE_CA_QC,
    SVC_TYPE_OCSP_QC,
    TSL_TYPE_EU_GENERIC,
    TSL_TYPE_EU_LOTL,
    TrustedList,
    parse_trusted_list,
    verify_pointed_list,
    verify_trusted_list,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"
BG_XML = (FIXTURES / "TSL_BG.xml").read_bytes()
LOTL_XML = (FIXTURES / "eu-lotl.xml").read_bytes()

# Pins (SHA-256 of the DER certificate found in each list's ds:KeyInfo, cross-checked below).
LOTL_SIGNER_SHA256 = "e0a620fbb6747362bb933ac44169d676a553444716cf5f31605f12a22b8396b1"  # EUROPEAN COMMISSION (DIGIT)
BG_SIGNER_SHA256 = "09a4074179f39ae77d54f4630d73a78b7c8bd07d414c43c29420c3cab52e9e32"  # Bulgarian TL Operator 2

# Both lists are valid then: BG issued 2026-06-01, next update 2026-12-01; LOTL issued 2026-08-03 (signed 08-04).
NOW = datetime(2026, 8, 10, 12, 0, tzinfo=UTC)


def _fp(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def _keyinfo_cert(xml: bytes) -> x509.Certificate:
    m = re.search(rb"<ds:KeyInfo><ds:X509Data><ds:X509Certificate>([^<]+)<", xml)
    assert m is not None
    return x509.load_der_x509_certificate(base64.b64decode(m.group(1)))


LOTL_SIGNER = _keyinfo_cert(LOTL_XML)
BG_SIGNER = _keyinfo_cert(BG_XML)


@pytest.fixture(scope="module")
def lotl() -> TrustedList:
    assert _fp(LOTL_SIGNER) == LOTL_SIGNER_SHA256
    return verify_trusted_list(LOTL_XML, LOTL_SIGNER, now=NOW, expected_types=TSL_TYPE_EU_LOTL)


@pytest.fixture(scope="module")
def bg(lotl: TrustedList) -> TrustedList:
    pointer = lotl.pointer("BG")
    assert pointer is not None
    return verify_trusted_list(BG_XML, pointer.certificates, now=NOW, expected_types=TSL_TYPE_EU_GENERIC)


def _code(exc: pytest.ExceptionInfo[FormatError]) -> str:
    return exc.value.code


# --- the EU LOTL --------------------------------------------------------------------------------------------------


def test_lotl_verifies_against_pinned_certificate(lotl: TrustedList) -> None:
    assert lotl.scheme.sequence_number == 390
    assert lotl.scheme.tsl_type == TSL_TYPE_EU_LOTL
    assert lotl.scheme.territory == "EU"
    assert lotl.scheme.operator_name() == "European Commission"
    assert lotl.scheme.operator_name("bg") == "Европейска комисия"
    assert lotl.scheme.issue_date == datetime(2026, 8, 3, 13, 16, 38, tzinfo=UTC)
    assert lotl.signer is not None
    assert _fp(lotl.signer) == LOTL_SIGNER_SHA256
    assert lotl.signing_time == datetime(2026, 8, 4, 13, 40, 31, tzinfo=UTC)
    assert lotl.providers == ()


def test_lotl_signer_is_announced_in_its_own_pointer(lotl: TrustedList) -> None:
    own = lotl.pointer("EU")
    assert own is not None
    assert own.location == "https://ec.europa.eu/tools/lotl/eu-lotl.xml"
    assert own.tsl_type == TSL_TYPE_EU_LOTL
    assert LOTL_SIGNER_SHA256 in {_fp(c) for c in own.certificates}


def test_lotl_points_to_every_national_list(lotl: TrustedList) -> None:
    pointers = lotl.scheme.pointers
    assert len(pointers) == 43
    xml_territories = {p.territory for p in pointers if p.mime_type == MIME_TSL_XML}
    # 27 Member States + EEA (IS, LI, NO) + the UK (historic, EC-signed copy) + the LOTL itself
    assert {
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "EL",
        "ES",
        "FI",
        "FR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
        "IS",
        "LI",
        "NO",
        "UK",
        "EU",
    } == xml_territories
    for p in pointers:
        assert p.location.startswith(("https://", "http://"))
        assert p.certificates, p.territory
        assert p.operator_names


def test_bg_pointer_in_lotl_carries_the_certificate_that_verifies_tsl_bg(lotl: TrustedList) -> None:
    pointer = lotl.pointer("BG")
    assert pointer is not None
    assert pointer.location == "https://crc.bg/files/_en/TSL_BG.xml"
    assert pointer.tsl_type == TSL_TYPE_EU_GENERIC
    assert pointer.mime_type == MIME_TSL_XML
    assert BG_SIGNER_SHA256 in {_fp(c) for c in pointer.certificates}
    pdf = lotl.pointer("BG", mime_type="application/pdf")
    assert pdf is not None
    assert pdf.location.endswith(".pdf")
    # and exactly that certificate is the one the BG list verifies with
    tl = verify_trusted_list(BG_XML, [c for c in pointer.certificates if _fp(c) == BG_SIGNER_SHA256], now=NOW)
    assert tl.signer is not None
    assert _fp(tl.signer) == BG_SIGNER_SHA256


# --- Bulgaria's list --------------------------------------------------------------------------------------------


def test_bg_list_verifies_and_has_scheme_information(bg: TrustedList) -> None:
    s = bg.scheme
    assert (s.version, s.sequence_number, s.territory, s.tsl_type) == (6, 64, "BG", TSL_TYPE_EU_GENERIC)
    assert s.operator_name() == "Communications Regulation Commission"
    assert s.operator_name("bg") == "Комисия за регулиране на съобщенията"
    assert s.issue_date == datetime(2026, 6, 1, 11, 7, 50, tzinfo=UTC)
    assert s.next_update == datetime(2026, 12, 1, 12, 7, 50, tzinfo=UTC)
    assert s.distribution_points == ("https://crc.bg/files/_en/TSL_BG.xml",)
    assert s.historical_information_period == 65535
    assert bg.list_id == "BG_TSL"
    assert bg.signer is not None
    assert _fp(bg.signer) == BG_SIGNER_SHA256
    assert bg.signing_time == datetime(2026, 6, 1, 11, 17, 55, tzinfo=UTC)
    # BG's own pointer back to the LOTL carries the LOTL signing certificate too
    assert LOTL_SIGNER_SHA256 in {_fp(c) for p in s.pointers for c in p.certificates}


def test_bg_lists_the_bulgarian_qualified_trust_service_providers(bg: TrustedList) -> None:
    names = [(p.name("bg"), p.name("en")) for p in bg.providers]
    assert names == [
        ("БОРИКА АД", "BORICA AD"),
        ("БАНКСЕРВИЗ АД", "Bankservice PLC"),
        ("Инфонотари ЕАД", "InfoNotary PLC"),
        ("Информационно обслужване АД", "Information Services Plc."),
        ("Спектър АД", "Spektar JSC"),
        ("Система за електронни плащания България / СЕП България АД", "System for electronic payments Bulgaria"),
        ("Евротръст Технолоджис АД", "Evrotrust Technologies JSC"),
        ("ИДОКС БЪЛГАРИЯ ЕООД", "eDocs Bulgaria EOOD"),
    ]
    borica = bg.providers[0]
    assert [t.text for t in borica.trade_names][:2] == ["B-Trust", "VATBG-201230426"]
    assert borica.address.postal[0].locality == "Sofia"
    assert sum(len(p.services) for p in bg.providers) == 115


def test_bg_services_have_types_statuses_identities_and_history(bg: TrustedList) -> None:
    svc = bg.providers[0].services[0]
    assert svc.name() == "B-Trust Operational CA QES"
    assert svc.type_identifier == SVC_TYPE_CA_QC
    assert svc.status == STATUS_WITHDRAWN
    assert svc.status_starting_time == datetime(2017, 10, 31, 23, 0, tzinfo=UTC)
    assert len(svc.identity.certificates) == 2
    assert svc.identity.skis == (base64.b64decode("8jd36Ef66R4SgtW513JwqWYPvYo="),)
    assert svc.identity.skis[0] in svc.identity.all_skis()
    assert svc.additional_information == ("http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/ForeSignatures",)
    assert [h.status.rsplit("/", 1)[1] for h in svc.history] == ["granted", "undersupervision"]
    # status at a point in time walks the history (TS 119 612 §5.6)
    assert svc.status_at(datetime(2017, 1, 1, tzinfo=UTC)).endswith("/granted")  # type: ignore[union-attr]
    assert svc.status_at(datetime(2012, 1, 1, tzinfo=UTC)).endswith("/undersupervision")  # type: ignore[union-attr]
    assert svc.status_at(datetime(2020, 1, 1, tzinfo=UTC)) == STATUS_WITHDRAWN
    assert svc.status_at(datetime(2000, 1, 1, tzinfo=UTC)) is None
    quals = [q for _, s in bg.services() for q in s.qualifications]
    assert quals
    assert "http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/QCWithQSCD" in quals[0].qualifiers
    assert quals[0].policy_oids == ("1.3.6.1.4.1.22144.3.1",)


def test_bg_keeps_non_der_certificates_instead_of_failing(bg: TrustedList) -> None:
    # Seven listed certificates are not strict DER (encoded DEFAULT); they are kept as bytes, not dropped silently.
    undecodable = [d for _, s in bg.services() for d in s.identity.undecodable_certificates]
    undecodable += [d for _, s in bg.services() for h in s.history for d in h.identity.undecodable_certificates]
    assert len(undecodable) == 7
    assert all(d[:1] == b"\x30" for d in undecodable)


def test_bg_granted_qualified_cas_as_trust_anchors(bg: TrustedList) -> None:
    anchors = bg.trust_anchors(SVC_TYPE_CA_QC, STATUS_GRANTED)
    assert len(anchors) == 16
    for cert in anchors:
        assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    granted = list(bg.services(SVC_TYPE_CA_QC, STATUS_GRANTED))
    assert {tsp.name() for tsp, _ in granted} >= {"BORICA AD", "Evrotrust Technologies JSC", "InfoNotary PLC"}
    assert all(s.status == STATUS_GRANTED for _, s in granted)


def test_bg_find_issuer_of_a_listed_ocsp_responder(bg: TrustedList) -> None:
    ocsp = next(s for _, s in bg.services(SVC_TYPE_OCSP_QC) if s.name() == "B-Trust Qualified OCSP Authority")
    match = bg.find_issuer(ocsp.identity.certificates[0], type_uri=SVC_TYPE_CA_QC)
    assert match is not None
    assert match.provider.name() == "BORICA AD"
    assert match.service.name() == "B-Trust Operational Qualified CA"
    assert match.signature_verified
    assert match.certificate is not None
    assert match.certificate.subject == ocsp.identity.certificates[0].issuer


def test_find_issuer_none_for_a_stranger(bg: TrustedList) -> None:
    assert bg.find_issuer(LOTL_SIGNER) is None
    assert bg.find_issuers(LOTL_SIGNER) == []


def test_find_issuers_returns_every_service_listing_the_issuer(bg: TrustedList) -> None:
    # BORICA lists its qualified CA certificate under three services: CA/QC, RA and IdV
    ocsp = next(s for _, s in bg.services(SVC_TYPE_OCSP_QC) if s.name() == "B-Trust Qualified OCSP Authority")
    matches = bg.find_issuers(ocsp.identity.certificates[0])
    assert [m.service.type_identifier.rsplit("/", 1)[1] for m in matches] == ["QC", "RA", "IdV"]
    assert all(m.signature_verified for m in matches)
    assert matches[0].service.status_at(NOW) == STATUS_GRANTED


def test_parse_without_verification_equals_verified_content(bg: TrustedList) -> None:
    parsed = parse_trusted_list(BG_XML)
    assert parsed.scheme == bg.scheme
    assert parsed.providers == bg.providers
    assert parsed.signer is None


# --- negative tests on tampered copies of the real list ----------------------------------------------------------


def test_rejects_tampered_tsp_name() -> None:
    tampered = BG_XML.replace(b"Evrotrust Technologies JSC", b"Evrotrust Technologies JSD", 1)
    assert tampered != BG_XML
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(tampered, BG_SIGNER, now=NOW)
    assert _code(exc) == "trusted_list_signature_invalid"


def test_rejects_tampered_sequence_number() -> None:
    tampered = BG_XML.replace(b"<TSLSequenceNumber>64<", b"<TSLSequenceNumber>65<", 1)
    assert tampered != BG_XML
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(tampered, BG_SIGNER, now=NOW)
    assert _code(exc) == "trusted_list_signature_invalid"


def test_rejects_tampered_service_status() -> None:
    # withdrawn -> granted on the first service: the classic attack on a trust list
    old = b"<ServiceStatus>http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/withdrawn<"
    tampered = BG_XML.replace(old, old.replace(b"withdrawn", b"granted"), 1)
    assert tampered != BG_XML
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(tampered, BG_SIGNER, now=NOW)
    assert _code(exc) == "trusted_list_signature_invalid"


def test_rejects_tampered_signed_properties() -> None:
    tampered = BG_XML.replace(b"<xades:SigningTime>2026-06-01T11:17:55Z", b"<xades:SigningTime>2026-06-02T11:17:55Z")
    assert tampered != BG_XML
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(tampered, BG_SIGNER, now=NOW)
    assert _code(exc) == "trusted_list_signature_invalid"


def test_rejects_removed_signature() -> None:
    unsigned = re.sub(rb"<ds:Signature .*</ds:Signature>", b"", BG_XML, flags=re.S)
    assert b"ds:Signature" not in unsigned
    parse_trusted_list(unsigned)  # still a well-formed list...
    with pytest.raises(FormatError) as exc:  # ...but not a trusted one
        verify_trusted_list(unsigned, BG_SIGNER, now=NOW)
    assert _code(exc) == "trusted_list_unsigned"


def test_rejects_signer_that_is_not_pinned() -> None:
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(BG_XML, LOTL_SIGNER, now=NOW)
    assert _code(exc) == "trusted_list_signer_not_pinned"


def test_rejects_swapped_in_certificate() -> None:
    # Swap the KeyInfo certificate for another (the LOTL's): pinning the original refuses the stranger...
    orig_b64 = re.search(rb"<ds:X509Certificate>([^<]+)<", BG_XML).group(1)  # type: ignore[union-attr]
    other_b64 = re.search(rb"<ds:X509Certificate>([^<]+)<", LOTL_XML).group(1)  # type: ignore[union-attr]
    swapped = BG_XML.replace(b"<ds:X509Certificate>" + orig_b64, b"<ds:X509Certificate>" + other_b64)
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(swapped, BG_SIGNER, now=NOW)
    assert _code(exc) == "trusted_list_signer_not_pinned"
    # ...and pinning the stranger does not make the signature (nor the SigningCertificateV2 digest) verify.
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(swapped, LOTL_SIGNER, now=NOW)
    assert _code(exc) == "trusted_list_signature_invalid"


def test_rejects_reference_to_only_part_of_the_list() -> None:
    partial = BG_XML.replace(b'<ds:Reference Id="xml_ref_id" URI="">', b'<ds:Reference Id="xml_ref_id" URI="#x">')
    assert partial != BG_XML
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(partial, BG_SIGNER, now=NOW)
    assert _code(exc) == "trusted_list_signature_partial"


def test_rejects_rollback_to_lower_sequence_number() -> None:
    assert verify_trusted_list(BG_XML, BG_SIGNER, now=NOW, min_sequence=64).scheme.sequence_number == 64
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(BG_XML, BG_SIGNER, now=NOW, min_sequence=65)
    assert _code(exc) == "trusted_list_rollback"


def test_rejects_expired_list() -> None:
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(BG_XML, BG_SIGNER, now=datetime(2026, 12, 1, 12, 7, 51, tzinfo=UTC))
    assert _code(exc) == "trusted_list_expired"


def test_rejects_list_issued_in_the_future() -> None:
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(BG_XML, BG_SIGNER, now=datetime(2026, 6, 1, 11, 0, tzinfo=UTC))
    assert _code(exc) == "trusted_list_not_yet_valid"


def test_rejects_signer_certificate_expired() -> None:
    # BG signer valid until 2027-04-17; the signer is checked before the list's own dates
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(BG_XML, BG_SIGNER, now=datetime(2027, 5, 1, tzinfo=UTC))
    assert _code(exc) == "trusted_list_signer_expired"


def test_rejects_wrong_tsl_type() -> None:
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(BG_XML, BG_SIGNER, now=NOW, expected_types=TSL_TYPE_EU_LOTL)
    assert _code(exc) == "trusted_list_wrong_type"
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(LOTL_XML, LOTL_SIGNER, now=NOW, expected_types={TSL_TYPE_EU_GENERIC})
    assert _code(exc) == "trusted_list_wrong_type"


def test_rejects_doctype_in_a_list() -> None:
    evil = BG_XML.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>', 1)
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(evil, BG_SIGNER, now=NOW)
    assert _code(exc) == "xml_entities_forbidden"


def test_rejects_a_second_signature() -> None:
    sig = re.search(rb"<ds:Signature .*</ds:Signature>", BG_XML, flags=re.S).group(0)  # type: ignore[union-attr]
    doubled = BG_XML.replace(b"</TrustServiceProviderList>", b"</TrustServiceProviderList>" + sig, 1)
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(doubled, BG_SIGNER, now=NOW)
    assert _code(exc) == "trusted_list_signature_invalid"


def test_rejects_a_document_that_is_not_a_list() -> None:
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(b"<a/>", BG_SIGNER, now=NOW)
    assert _code(exc) == "trusted_list_not_tsl"
    with pytest.raises(FormatError) as exc:
        parse_trusted_list(b"<a/>")
    assert _code(exc) == "trusted_list_not_tsl"


def test_rejects_disallowed_transform() -> None:
    xpath = b'<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"/>'
    env = b'<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
    evil = BG_XML.replace(env, env + xpath, 1)
    assert evil != BG_XML
    with pytest.raises(FormatError) as exc:
        verify_trusted_list(evil, BG_SIGNER, now=NOW)
    assert _code(exc) == "trusted_list_signature_invalid"


def test_verify_pointed_list_follows_the_lotl(lotl: TrustedList) -> None:
    tl = verify_pointed_list(lotl, "BG", BG_XML, now=NOW, min_sequence=64)
    assert tl.scheme.territory == "BG"
    assert len(tl.providers) == 8


def test_verify_pointed_list_rejects_another_territorys_signer(lotl: TrustedList) -> None:
    with pytest.raises(FormatError) as exc:
        verify_pointed_list(lotl, "RO", BG_XML, now=NOW)
    assert _code(exc) == "trusted_list_signer_not_pinned"
    with pytest.raises(FormatError) as exc:
        verify_pointed_list(lotl, "XX", BG_XML, now=NOW)
    assert _code(exc) == "trusted_list_pointer_missing"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(BG_XML) - 1), st.binary(min_size=1, max_size=4))
def test_fuzz_verify_mutated_real_list_only_format_error(pos: int, junk: bytes) -> None:
    mutated = BG_XML[:pos] + junk + BG_XML[pos + len(junk) :]
    try:
        tl = verify_trusted_list(mutated, BG_SIGNER, now=NOW)
    except FormatError:
        return
    # a surviving mutation can only have hit bytes that do not change the signed meaning
    assert tl.scheme == parse_trusted_list(BG_XML).scheme
