"""The ISO/IEC 18013-5 Annex D example DeviceResponse, verified by our parser (issuer side).

The example's DS certificate ("utopia ds", 2020-10-01..2021-10-01, EKU 1.0.18013.5.1.2) is pinned as the
trust anchor, since the example's IACA is not part of the vector; its device authentication is a deviceMac
(ECDH with the reader's key), which we do not accept for OpenID4VP.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import cbor2
import pytest
from cryptography import x509

from portfeil.formats import FormatError
from portfeil.formats.cose import decode_sign1
from portfeil.formats.mdoc import Mdoc, MdocVerifier, openid4vp_session_transcript

VECTOR = bytes.fromhex(
    (Path(__file__).parents[1] / "fixtures" / "mdoc" / "iso18013_5_annex_d_device_response.hex").read_text().strip()
)
NOW = datetime(2020, 10, 1, 14, 0, tzinfo=UTC)
MDL = "org.iso.18013.5.1.mDL"
NS = "org.iso.18013.5.1"


def _issuer_signed_and_ds() -> tuple[bytes, x509.Certificate]:
    doc = cbor2.loads(VECTOR)["documents"][0]
    ds = x509.load_der_x509_certificate(decode_sign1(doc["issuerSigned"]["issuerAuth"]).x5chain[0])
    return cbor2.dumps(doc["issuerSigned"]), ds


def test_annex_d_issuer_signed_verifies() -> None:
    issuer_signed, ds = _issuer_signed_and_ds()
    result = MdocVerifier([ds]).verify_issuer_signed(issuer_signed, now=NOW, doctype=MDL)
    assert result.doctype == MDL
    assert result.validity.signed == datetime(2020, 10, 1, 13, 30, 2, tzinfo=UTC)
    assert result.validity.valid_until == datetime(2021, 10, 1, 13, 30, 2, tzinfo=UTC)
    elements = result.namespaces[NS]
    assert set(elements) == {
        "family_name", "issue_date", "expiry_date", "document_number", "portrait", "driving_privileges"
    }  # fmt: skip
    assert elements["family_name"] == "Doe"
    assert elements["issue_date"] == date(2019, 10, 20)
    assert elements["expiry_date"] == date(2024, 10, 20)
    assert elements["document_number"] == "123456789"
    assert elements["portrait"][:4] == b"\xff\xd8\xff\xe0"
    assert elements["driving_privileges"][1] == {
        "vehicle_category_code": "B",
        "issue_date": date(2017, 2, 23),
        "expiry_date": date(2024, 10, 20),
    }
    assert result.ds_certificate == ds
    assert result.status is None


def test_annex_d_holder_parse() -> None:
    issuer_signed, _ = _issuer_signed_and_ds()
    mdoc = Mdoc.parse(issuer_signed)
    assert mdoc.doctype == MDL
    assert mdoc.claims()[NS]["family_name"] == "Doe"


def test_annex_d_device_mac_is_refused_for_openid4vp() -> None:
    _, ds = _issuer_signed_and_ds()
    transcript = openid4vp_session_transcript("x509_san_dns:rp.example", "n", None, "https://rp.example/r")
    with pytest.raises(FormatError) as exc:
        MdocVerifier([ds]).verify_device_response(VECTOR, session_transcript=transcript, now=NOW)
    assert exc.value.code == "mdoc_device_mac_unsupported"


def test_annex_d_rejects_one_flipped_byte_in_an_element() -> None:
    doc = cbor2.loads(VECTOR)["documents"][0]
    items = list(doc["issuerSigned"]["nameSpaces"][NS])
    raw = bytearray(items[0].value)
    raw[raw.index(b"Doe")] = ord("X")
    items[0] = cbor2.CBORTag(24, bytes(raw))
    issuer_signed = {"nameSpaces": {NS: items}, "issuerAuth": list(doc["issuerSigned"]["issuerAuth"])}
    _, ds = _issuer_signed_and_ds()
    with pytest.raises(FormatError) as exc:
        MdocVerifier([ds]).verify_issuer_signed(cbor2.dumps(issuer_signed), now=NOW)
    assert exc.value.code == "mdoc_digest_mismatch"


def test_annex_d_rejected_after_the_ds_certificate_expired() -> None:
    issuer_signed, ds = _issuer_signed_and_ds()
    with pytest.raises(FormatError) as exc:
        MdocVerifier([ds]).verify_issuer_signed(issuer_signed, now=datetime(2021, 10, 2, tzinfo=UTC))
    assert exc.value.code == "mdoc_untrusted_issuer"


# The Token Status List draft's example of a signed MSO carrying status.status_list {idx 412, uri} (section
# "Referenced Token in COSE", ISO mdoc paragraph), issued by the same "utopia ds" key with a 2024 certificate.
STATUS_VECTOR = bytes.fromhex(
    (Path(__file__).parents[1] / "fixtures" / "mdoc" / "status_list_mso_issuer_auth.hex").read_text().strip()
)


def test_status_list_draft_example_mso_yields_its_status_reference() -> None:
    issuer_auth = cbor2.loads(STATUS_VECTOR)
    ds = x509.load_der_x509_certificate(decode_sign1(issuer_auth).x5chain[0])
    issuer_signed = cbor2.dumps({"nameSpaces": {}, "issuerAuth": issuer_auth})
    result = MdocVerifier([ds]).verify_issuer_signed(issuer_signed, now=datetime(2024, 10, 2, tzinfo=UTC))
    assert result.status is not None
    assert (result.status.idx, result.status.uri) == (412, "https://example.com/statuslists/1")
    assert result.doctype == MDL
