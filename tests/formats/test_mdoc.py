"""ISO/IEC 18013-5 mdoc issue / present / verify with the OpenID4VP 1.0 Annex B session transcript."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given, settings
from hypothesis import strategies as st

from portfeil.formats import FormatError
from portfeil.formats.cose import (
    ALG_EDDSA,
    ALG_ES256,
    ALG_ES384,
    CoseSign1,
    cose_key_from_public_key,
    decode_sign1,
    sign1,
)
from portfeil.formats.mdoc import (
    DOCTYPE_PID,
    NAMESPACE_PID,
    Mdoc,
    MdocVerifier,
    StatusListReference,
    build_device_response,
    device_authentication_bytes,
    encode_vp_token,
    issue_mdoc,
    openid4vp_dc_api_session_transcript,
    openid4vp_session_transcript,
    verify_device_response,
)
from portfeil.pki.ca import IssuedCertificate, create_root_ca, issue_leaf
from portfeil.pki.keys import jwk_thumbprint, public_jwk
from portfeil.pki.roles import Role

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CLIENT_ID = "x509_san_dns:verifier.example.bg"
NONCE = "n-0S6_WzA2Mj"
RESPONSE_URI = "https://verifier.example.bg/response"
TRANSCRIPT = openid4vp_session_transcript(CLIENT_ID, NONCE, None, RESPONSE_URI)

PID_CLAIMS: dict[str, Any] = {
    "family_name": "Иванова",
    "given_name": "Мария",
    "birth_date": date(1985, 6, 25),
    "place_of_birth": {"country": "BG", "locality": "Sofia"},
    "nationality": ["BG"],
    "personal_administrative_number": "8506258485",
    "issuing_authority": "MVR",
    "issuing_country": "BG",
    "age_over_18": True,
    "portrait": b"\xff\xd8\xff\xe0fakejpeg",
}


@dataclass
class Setup:
    iaca: IssuedCertificate
    ds_key: ec.EllipticCurvePrivateKey
    ds_cert: x509.Certificate
    device_key: ec.EllipticCurvePrivateKey
    issuer_signed: bytes


def _make(now: datetime = NOW, *, valid_days: int = 30, status: StatusListReference | None = None) -> Setup:
    iaca = create_root_ca("Portfeil Test IACA", Role.IACA, now=now - timedelta(days=1))
    ds_key = ec.generate_private_key(ec.SECP256R1())
    ds_cert = issue_leaf(iaca, "Portfeil Test DS", ds_key.public_key(), Role.IACA, now=now - timedelta(days=1))
    device_key = ec.generate_private_key(ec.SECP256R1())
    issuer_signed = issue_mdoc(
        DOCTYPE_PID,
        {NAMESPACE_PID: PID_CLAIMS},
        issuer_key=ds_key,
        issuer_chain=[ds_cert],
        device_key=device_key.public_key(),
        now=now,
        valid_until=now + timedelta(days=valid_days),
        status=status,
    )
    return Setup(iaca, ds_key, ds_cert, device_key, issuer_signed)


@pytest.fixture(scope="module")
def env() -> Setup:
    return _make(status=StatusListReference(412, "https://pid.example.bg/status/1"))


@pytest.fixture(scope="module")
def verifier(env: Setup) -> MdocVerifier:
    return MdocVerifier([env.iaca.certificate])


def _present(env: Setup, disclose: dict[str, list[str]] | None = None, transcript: bytes = TRANSCRIPT) -> bytes:
    return Mdoc.parse(env.issuer_signed).present(disclose, device_key=env.device_key, session_transcript=transcript)


def _doc(env: Setup, disclose: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return Mdoc.parse(env.issuer_signed).document(disclose, device_key=env.device_key, session_transcript=TRANSCRIPT)


def _code(exc: pytest.ExceptionInfo[FormatError]) -> str:
    return exc.value.code


# ------------------------------------------------------------------------------------------ transcript
def test_session_transcript_matches_openid4vp_annex_b_example() -> None:
    """OpenID4VP 1.0 Annex B.2.6.1 worked example (OpenID4VPHandoverInfo, Handover and SessionTranscript hex)."""
    thumb = bytes.fromhex("4283ec927ae0f208daaa2d026a814f2b22dca52cf85ffa8f3f8626c6bd669047")
    info = cbor2.dumps(
        [
            "x509_san_dns:example.com",
            "exc7gBkxjx1rdc9udRrveKvSsJIq80avlXeLHhGwqtA",
            thumb,
            "https://example.com/response",
        ]
    )
    assert info.hex() == (
        "847818783530395f73616e5f646e733a6578616d706c652e636f6d782b6578633767"
        "426b786a7831726463397564527276654b7653734a4971383061766c58654c486847"
        "7771744158204283ec927ae0f208daaa2d026a814f2b22dca52cf85ffa8f3f8626c6"
        "bd669047781c68747470733a2f2f6578616d706c652e636f6d2f726573706f6e7365"
    )
    transcript = openid4vp_session_transcript(
        "x509_san_dns:example.com", "exc7gBkxjx1rdc9udRrveKvSsJIq80avlXeLHhGwqtA", thumb, "https://example.com/response"
    )
    assert transcript.hex() == (
        "83f6f682714f70656e494434565048616e646f7665725820048bc053c00442af9b8e"
        "ed494cefdd9d95240d254b046b11b68013722aad38ac"
    )
    # the same thumbprint given as base64url text (what pki.keys.jwk_thumbprint returns) gives the same bytes
    b64 = base64.urlsafe_b64encode(thumb).rstrip(b"=").decode()
    assert (
        openid4vp_session_transcript(
            "x509_san_dns:example.com",
            "exc7gBkxjx1rdc9udRrveKvSsJIq80avlXeLHhGwqtA",
            b64,
            "https://example.com/response",
        )
        == transcript
    )


def test_session_transcript_with_thumbprint_of_the_spec_example_jwk() -> None:
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": "DxiH5Q4Yx3UrukE2lWCErq8N8bqC9CHLLrAwLz5BmE0",
        "y": "XtLM4-3h5o3HUH0MHVJV0kyq0iBlrBwlh8qEDMZ4-Pc",
    }
    thumb = jwk_thumbprint(jwk)
    assert base64.urlsafe_b64decode(thumb + "=").hex() == (
        "4283ec927ae0f208daaa2d026a814f2b22dca52cf85ffa8f3f8626c6bd669047"
    )


def test_rejects_thumbprint_of_wrong_length() -> None:
    with pytest.raises(FormatError):
        openid4vp_session_transcript(CLIENT_ID, NONCE, b"short", RESPONSE_URI)


def test_dc_api_transcript_shape() -> None:
    st_ = cbor2.loads(openid4vp_dc_api_session_transcript("https://rp.example.bg", NONCE, None))
    info = cbor2.dumps(["https://rp.example.bg", NONCE, None])
    assert st_ == [None, None, ["OpenID4VPDCAPIHandover", hashlib.sha256(info).digest()]]


# ------------------------------------------------------------------------------------------ issuing
def test_issued_structure_follows_18013_5(env: Setup) -> None:
    issuer_signed = cbor2.loads(env.issuer_signed)
    auth = decode_sign1(issuer_signed["issuerAuth"], require_tag=False)
    assert auth.alg == ALG_ES256
    assert auth.x5chain == (env.ds_cert.public_bytes(Encoding.DER),)
    assert 33 in auth.unprotected
    mso_tag = cbor2.loads(auth.payload or b"")
    assert mso_tag.tag == 24
    raw_mso = mso_tag.value
    mso = cbor2.loads(raw_mso)
    assert mso["version"] == "1.0"
    assert mso["digestAlgorithm"] == "SHA-256"
    assert mso["docType"] == DOCTYPE_PID
    assert mso["status"] == {"status_list": {"idx": 412, "uri": "https://pid.example.bg/status/1"}}
    # validity dates are tdate: tag 0, UTC "Z", no fractional seconds
    assert b"\xc0\x742026-11-23T12:00:00Z" in raw_mso
    items = issuer_signed["nameSpaces"][NAMESPACE_PID]
    assert len(items) == len(PID_CLAIMS)
    salts = set()
    for tag in items:
        assert tag.tag == 24
        item = cbor2.loads(tag.value)
        assert len(item["random"]) >= 16
        salts.add(item["random"])
        digest = hashlib.sha256(cbor2.dumps(cbor2.CBORTag(24, tag.value))).digest()
        assert mso["valueDigests"][NAMESPACE_PID][item["digestID"]] == digest
    assert len(salts) == len(items)
    # full-date for birth_date (tag 1004)
    birth = next(cbor2.loads(t.value) for t in items if cbor2.loads(t.value)["elementIdentifier"] == "birth_date")
    assert b"\xd9\x03\xec" in cbor2.dumps(birth)


def test_issue_rejects_key_not_matching_ds_certificate(env: Setup) -> None:
    with pytest.raises(FormatError) as exc:
        issue_mdoc(
            DOCTYPE_PID,
            {NAMESPACE_PID: {"a": 1}},
            issuer_key=ec.generate_private_key(ec.SECP256R1()),
            issuer_chain=[env.ds_cert],
            device_key=env.device_key.public_key(),
            now=NOW,
            valid_until=NOW + timedelta(days=1),
        )
    assert _code(exc) == "mdoc_issuer_key_mismatch"


def test_holder_parses_and_rejects_wrong_device_key(env: Setup) -> None:
    mdoc = Mdoc.parse(base64.urlsafe_b64encode(env.issuer_signed).rstrip(b"=").decode())
    assert mdoc.doctype == DOCTYPE_PID
    assert mdoc.claims()[NAMESPACE_PID]["birth_date"] == date(1985, 6, 25)
    assert Mdoc.parse(mdoc.to_base64url()).issuer_signed == env.issuer_signed
    with pytest.raises(FormatError) as exc:
        mdoc.present(None, device_key=ec.generate_private_key(ec.SECP256R1()), session_transcript=TRANSCRIPT)
    assert _code(exc) == "mdoc_device_key_mismatch"


def test_holder_rejects_unknown_element(env: Setup) -> None:
    with pytest.raises(FormatError) as exc:
        _present(env, {NAMESPACE_PID: ["shoe_size"]})
    assert _code(exc) == "mdoc_element_not_found"


# ------------------------------------------------------------------------------------------ verify: happy path
def test_roundtrip_all_elements(env: Setup, verifier: MdocVerifier) -> None:
    (doc,) = verifier.verify_device_response(_present(env), session_transcript=TRANSCRIPT, now=NOW)
    assert doc.doctype == DOCTYPE_PID
    assert dict(doc.namespaces[NAMESPACE_PID]) == PID_CLAIMS
    assert doc.validity.valid_until == NOW + timedelta(days=30)
    assert doc.validity.signed == NOW
    assert doc.ds_certificate == env.ds_cert
    assert doc.status == StatusListReference(412, "https://pid.example.bg/status/1")
    assert doc.device_alg == ALG_ES256


def test_selective_disclosure_returns_only_chosen(env: Setup, verifier: MdocVerifier) -> None:
    vp = _present(env, {NAMESPACE_PID: ["age_over_18", "given_name"]})
    raw = cbor2.loads(vp)
    assert len(raw["documents"][0]["issuerSigned"]["nameSpaces"][NAMESPACE_PID]) == 2
    (doc,) = verifier.verify_device_response(vp, session_transcript=TRANSCRIPT, now=NOW)
    assert dict(doc.namespaces[NAMESPACE_PID]) == {"age_over_18": True, "given_name": "Мария"}


def test_accepts_base64url_vp_token(env: Setup, verifier: MdocVerifier) -> None:
    token = base64.urlsafe_b64encode(_present(env)).rstrip(b"=").decode()
    assert verifier.verify_device_response(token, session_transcript=TRANSCRIPT, now=NOW)


def test_one_shot_function_and_eddsa_device_key(env: Setup) -> None:
    device = ed25519.Ed25519PrivateKey.generate()
    issuer_signed = issue_mdoc(
        "org.iso.18013.5.1.mDL",
        {"org.iso.18013.5.1": {"family_name": "Petrov", "issue_date": date(2026, 1, 2)}},
        issuer_key=env.ds_key,
        issuer_chain=[env.ds_cert, env.iaca.certificate],
        device_key=device.public_key(),
        now=NOW,
        valid_until=NOW + timedelta(days=5),
    )
    vp = Mdoc.parse(issuer_signed).present(None, device_key=device, session_transcript=TRANSCRIPT)
    (doc,) = verify_device_response(vp, anchors=[env.iaca.certificate], session_transcript=TRANSCRIPT, now=NOW)
    assert doc.device_alg == ALG_EDDSA
    assert doc.namespaces["org.iso.18013.5.1"]["issue_date"] == date(2026, 1, 2)


def test_verify_issuer_signed_on_receipt(env: Setup, verifier: MdocVerifier) -> None:
    result = verifier.verify_issuer_signed(env.issuer_signed, now=NOW, doctype=DOCTYPE_PID)
    assert result.namespaces[NAMESPACE_PID]["family_name"] == "Иванова"


# ------------------------------------------------------------------------------------------ verify: negative
def test_rejects_untrusted_iaca(env: Setup) -> None:
    other = create_root_ca("Other IACA", Role.IACA, now=NOW - timedelta(days=1))
    with pytest.raises(FormatError) as exc:
        MdocVerifier([other.certificate]).verify_device_response(_present(env), session_transcript=TRANSCRIPT, now=NOW)
    assert _code(exc) == "mdoc_untrusted_issuer"


def test_rejects_ds_without_ds_eku(env: Setup) -> None:
    """A leaf signed by the IACA but without EKU 1.0.18013.5.1.2 is not a document signer."""
    key = ec.generate_private_key(ec.SECP256R1())
    ica = env.iaca.certificate
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "not a DS")]))
        .issuer_name(ica.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=100))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(env.iaca.key.public_key()), critical=False)
        .sign(env.iaca.key, hashes.SHA256())
    )
    issuer_signed = issue_mdoc(
        DOCTYPE_PID,
        {NAMESPACE_PID: {"given_name": "X"}},
        issuer_key=key,
        issuer_chain=[cert],
        device_key=env.device_key.public_key(),
        now=NOW,
        valid_until=NOW + timedelta(days=1),
    )
    vp = Mdoc.parse(issuer_signed).present(None, device_key=env.device_key, session_transcript=TRANSCRIPT)
    with pytest.raises(FormatError) as exc:
        MdocVerifier([env.iaca.certificate]).verify_device_response(vp, session_transcript=TRANSCRIPT, now=NOW)
    assert _code(exc) == "mdoc_untrusted_issuer"


def test_rejects_missing_x5chain(env: Setup, verifier: MdocVerifier) -> None:
    doc = _doc(env)
    auth = decode_sign1(doc["issuerSigned"]["issuerAuth"])
    doc["issuerSigned"]["issuerAuth"] = [auth.protected_bytes, {}, auth.payload, auth.signature]
    with pytest.raises(FormatError) as exc:
        verifier.verify_device_response(build_device_response([doc]), session_transcript=TRANSCRIPT, now=NOW)
    assert _code(exc) == "mdoc_missing_x5chain"


def test_rejects_tampered_element_value(env: Setup, verifier: MdocVerifier) -> None:
    doc = _doc(env, {NAMESPACE_PID: ["age_over_18"]})
    tag = doc["issuerSigned"]["nameSpaces"][NAMESPACE_PID][0]
    item = cbor2.loads(tag.value)
    item["elementValue"] = False
    doc["issuerSigned"]["nameSpaces"][NAMESPACE_PID] = [cbor2.CBORTag(24, cbor2.dumps(item))]
    with pytest.raises(FormatError) as exc:
        verifier.verify_device_response(build_device_response([doc]), session_transcript=TRANSCRIPT, now=NOW)
    assert _code(exc) == "mdoc_digest_mismatch"


def test_rejects_element_moved_to_other_digest_id(env: Setup, verifier: MdocVerifier) -> None:
    doc = _doc(env, {NAMESPACE_PID: ["age_over_18"]})
    item = cbor2.loads(doc["issuerSigned"]["nameSpaces"][NAMESPACE_PID][0].value)
    item["digestID"] = 2**31 + 7  # never issued (issued IDs are < 2**31)
    doc["issuerSigned"]["nameSpaces"][NAMESPACE_PID] = [cbor2.CBORTag(24, cbor2.dumps(item))]
    with pytest.raises(FormatError) as exc:
        verifier.verify_device_response(build_device_response([doc]), session_transcript=TRANSCRIPT, now=NOW)
    assert _code(exc) == "mdoc_element_not_covered"


def test_rejects_namespace_not_covered_by_mso(env: Setup, verifier: MdocVerifier) -> None:
    doc = _doc(env, {NAMESPACE_PID: ["age_over_18"]})
    extra = {"digestID": 1, "random": b"r" * 16, "elementIdentifier": "is_admin", "elementValue": True}
    doc["issuerSigned"]["nameSpaces"]["eu.europa.ec.eudi.pid.bg.1"] = [cbor2.CBORTag(24, cbor2.dumps(extra))]
    with pytest.raises(FormatError) as exc:
        verifier.verify_device_response(build_device_response([doc]), session_transcript=TRANSCRIPT, now=NOW)
    assert _code(exc) == "mdoc_namespace_not_covered"


def test_rejects_duplicate_elements(env: Setup, verifier: MdocVerifier) -> None:
    doc = _doc(env, {NAMESPACE_PID: ["age_over_18"]})
    items = doc["issuerSigned"]["nameSpaces"][NAMESPACE_PID]
    doc["issuerSigned"]["nameSpaces"][NAMESPACE_PID] = [items[0], items[0]]
    with pytest.raises(FormatError) as exc:
        verifier.verify_device_response(build_device_response([doc]), session_transcript=TRANSCRIPT, now=NOW)
    assert _code(exc) == "mdoc_duplicate_element"


def test_rejects_doctype_differing_from_mso(env: Setup, verifier: MdocVerifier) -> None:
    doc = _doc(env)
    doc["docType"] = "org.iso.18013.5.1.mDL"
    with pytest.raises(FormatError) as exc:
        verifier.verify_device_response(build_device_response([doc]), session_transcript=TRANSCRIPT, now=NOW)
    assert _code(exc) == "mdoc_doctype_mismatch"


def test_rejects_unexpected_doctype(env: Setup, verifier: MdocVerifier) -> None:
    with pytest.raises(FormatError) as exc:
        verifier.verify_device_response(
            _present(env), session_transcript=TRANSCRIPT, now=NOW, expected_doctypes=["org.iso.18013.5.1.mDL"]
        )
    assert _code(exc) == "mdoc_unexpected_doctype"


def test_rejects_expired_mso(env: Setup, verifier: MdocVerifier) -> None:
    with pytest.raises(FormatError) as exc:
        verifier.verify_device_response(_present(env), session_transcript=TRANSCRIPT, now=NOW + timedelta(days=31))
    assert _code(exc) == "mdoc_expired"


def test_rejects_mso_not_yet_valid(env: Setup, verifier: MdocVerifier) -> None:
    issuer_signed = issue_mdoc(
        DOCTYPE_PID,
        {NAMESPACE_PID: {"given_name": "X"}},
        issuer_key=env.ds_key,
        issuer_chain=[env.ds_cert],
        device_key=env.device_key.public_key(),
        now=NOW,
        valid_from=NOW + timedelta(days=2),
        valid_until=NOW + timedelta(days=9),
    )
    vp = Mdoc.parse(issuer_signed).present(None, device_key=env.device_key, session_transcript=TRANSCRIPT)
    with pytest.raises(FormatError) as exc:
        verifier.verify_device_response(vp, session_transcript=TRANSCRIPT, now=NOW + timedelta(days=1))
    assert _code(exc) == "mdoc_not_yet_valid"


def test_rejects_validity_changed_after_signing(env: Setup, verifier: MdocVerifier) -> None:
    """validityInfo is inside the signed MSO: extending validUntil breaks the issuer signature."""
    doc = _doc(env)
    auth = decode_sign1(doc["issuerSigned"]["issuerAuth"])
    mso = cbor2.loads(cbor2.loads(auth.payload or b"").value)
    mso["validityInfo"]["validUntil"] = NOW + timedelta(days=3650)
    payload = cbor2.dumps(cbor2.CBORTag(24, cbor2.dumps(mso)))
    doc["issuerSigned"]["issuerAuth"] = [auth.protected_bytes, dict(auth.unprotected), payload, auth.signature]
    with pytest.raises(FormatError) as exc:
        verifier.verify_device_response(
            build_device_response([doc]), session_transcript=TRANSCRIPT, now=NOW + timedelta(days=40)
        )
    assert _code(exc) == "cose_bad_signature"


@pytest.mark.parametrize(
    "transcript",
    [
        openid4vp_session_transcript(CLIENT_ID, "other-nonce", None, RESPONSE_URI),
        openid4vp_session_transcript("x509_san_dns:evil.example", NONCE, None, RESPONSE_URI),
        openid4vp_session_transcript(CLIENT_ID, NONCE, None, "https://evil.example/response"),
        openid4vp_session_transcript(CLIENT_ID, NONCE, b"\x01" * 32, RESPONSE_URI),
    ],
    ids=["wrong_nonce", "wrong_client_id", "wrong_response_uri", "wrong_jwk_thumbprint"],
)
def test_rejects_device_signature_for_another_session(env: Setup, verifier: MdocVerifier, transcript: bytes) -> None:
    with pytest.raises(FormatError) as exc:
        verifier.verify_device_response(_present(env), session_transcript=transcript, now=NOW)
    assert _code(exc) == "mdoc_bad_device_signature"


def test_rejects_device_signature_by_another_key(env: Setup, verifier: MdocVerifier) -> None:
    doc = _doc(env)
    dab = device_authentication_bytes(TRANSCRIPT, DOCTYPE_PID, cbor2.dumps(cbor2.CBORTag(24, b"\xa0")))
    forged = sign1(dab, ec.generate_private_key(ec.SECP256R1()), detached=True, tagged=False)
    doc["deviceSigned"]["deviceAuth"]["deviceSignature"] = forged.to_cbor_obj()
    with pytest.raises(FormatError) as exc:
        verifier.verify_device_response(build_device_response([doc]), session_transcript=TRANSCRIPT, now=NOW)
    assert _code(exc) == "mdoc_bad_device_signature"


def test_rejects_issuer_alg_outside_allow_list(env: Setup) -> None:
    strict = MdocVerifier([env.iaca.certificate], allowed_issuer_algs={ALG_ES384})
    with pytest.raises(FormatError) as exc:
        strict.verify_device_response(_present(env), session_transcript=TRANSCRIPT, now=NOW)
    assert _code(exc) == "cose_alg_not_allowed"


def test_rejects_device_alg_outside_allow_list(env: Setup) -> None:
    strict = MdocVerifier([env.iaca.certificate], allowed_device_algs={ALG_EDDSA})
    with pytest.raises(FormatError) as exc:
        strict.verify_device_response(_present(env), session_transcript=TRANSCRIPT, now=NOW)
    assert _code(exc) == "cose_alg_not_allowed"


def test_rejects_algorithm_confusion_in_issuer_auth(env: Setup, verifier: MdocVerifier) -> None:
    """issuerAuth relabelled ES384 (or EdDSA) while the DS key is P-256: refused before any signature check."""
    for alg in (ALG_ES384, ALG_EDDSA):
        doc = _doc(env)
        auth = decode_sign1(doc["issuerSigned"]["issuerAuth"])
        doc["issuerSigned"]["issuerAuth"] = [
            cbor2.dumps({1: alg}),
            dict(auth.unprotected),
            auth.payload,
            auth.signature,
        ]
        with pytest.raises(FormatError) as exc:
            verifier.verify_device_response(build_device_response([doc]), session_transcript=TRANSCRIPT, now=NOW)
        assert _code(exc) == "cose_alg_key_mismatch"


def test_rejects_attached_device_payload(env: Setup, verifier: MdocVerifier) -> None:
    doc = _doc(env)
    sig = decode_sign1(doc["deviceSigned"]["deviceAuth"]["deviceSignature"])
    doc["deviceSigned"]["deviceAuth"]["deviceSignature"] = [sig.protected_bytes, {}, b"payload", sig.signature]
    with pytest.raises(FormatError) as exc:
        verifier.verify_device_response(build_device_response([doc]), session_transcript=TRANSCRIPT, now=NOW)
    assert _code(exc) == "mdoc_malformed"


def test_rejects_device_mac(env: Setup, verifier: MdocVerifier) -> None:
    doc = _doc(env)
    doc["deviceSigned"]["deviceAuth"] = {"deviceMac": [b"", {}, None, b"\x00" * 32]}
    with pytest.raises(FormatError) as exc:
        verifier.verify_device_response(build_device_response([doc]), session_transcript=TRANSCRIPT, now=NOW)
    assert _code(exc) == "mdoc_device_mac_unsupported"


def test_rejects_device_signed_elements(env: Setup, verifier: MdocVerifier) -> None:
    doc = _doc(env)
    doc["deviceSigned"]["nameSpaces"] = cbor2.CBORTag(24, cbor2.dumps({NAMESPACE_PID: {"age_over_18": True}}))
    with pytest.raises(FormatError) as exc:
        verifier.verify_device_response(build_device_response([doc]), session_transcript=TRANSCRIPT, now=NOW)
    assert _code(exc) == "mdoc_device_signed_elements_unsupported"


def test_rejects_response_status_not_ok(env: Setup, verifier: MdocVerifier) -> None:
    vp = build_device_response([_doc(env)], status=10)
    with pytest.raises(FormatError) as exc:
        verifier.verify_device_response(vp, session_transcript=TRANSCRIPT, now=NOW)
    assert _code(exc) == "mdoc_response_status"


def test_rejects_response_without_documents(verifier: MdocVerifier) -> None:
    with pytest.raises(FormatError) as exc:
        verifier.verify_device_response(build_device_response([]), session_transcript=TRANSCRIPT, now=NOW)
    assert _code(exc) == "mdoc_no_documents"


def test_rejects_wrong_response_version(env: Setup, verifier: MdocVerifier) -> None:
    vp = cbor2.dumps({"version": "2.0", "documents": [_doc(env)], "status": 0})
    with pytest.raises(FormatError) as exc:
        verifier.verify_device_response(vp, session_transcript=TRANSCRIPT, now=NOW)
    assert _code(exc) == "mdoc_unsupported_version"


def test_rejects_oversized_response(env: Setup) -> None:
    small = MdocVerifier([env.iaca.certificate], max_bytes=256)
    with pytest.raises(FormatError) as exc:
        small.verify_device_response(_present(env), session_transcript=TRANSCRIPT, now=NOW)
    assert _code(exc) == "cbor_too_large"


@pytest.mark.parametrize(
    "blob",
    [b"", b"\xff", b"\xa1", cbor2.dumps([1, 2]), cbor2.dumps({"version": "1.0"}), b"\x81" * 100 + b"\x00", "%%%"],
)
def test_rejects_malformed_cbor(verifier: MdocVerifier, blob: bytes | str) -> None:
    with pytest.raises(FormatError):
        verifier.verify_device_response(blob, session_transcript=TRANSCRIPT, now=NOW)


def test_rejects_mso_with_non_tdate_validity(env: Setup) -> None:
    """An MSO whose validUntil is an epoch number (not tag 0) is refused even when properly signed."""
    mso = {
        "version": "1.0",
        "digestAlgorithm": "SHA-256",
        "valueDigests": {NAMESPACE_PID: {}},
        "deviceKeyInfo": {"deviceKey": cose_key_from_public_key(env.device_key.public_key())},
        "docType": DOCTYPE_PID,
        "validityInfo": {"signed": NOW, "validFrom": NOW, "validUntil": 1893456000},
    }
    payload = cbor2.dumps(cbor2.CBORTag(24, cbor2.dumps(mso)))
    auth = sign1(payload, env.ds_key, x5chain=[env.ds_cert.public_bytes(Encoding.DER)], tagged=False)
    issuer_signed = cbor2.dumps({"nameSpaces": {}, "issuerAuth": auth.to_cbor_obj()})
    with pytest.raises(FormatError) as exc:
        MdocVerifier([env.iaca.certificate]).verify_issuer_signed(issuer_signed, now=NOW)
    assert _code(exc) == "mdoc_bad_validity"


def test_chain_validation_is_cached(env: Setup) -> None:
    from portfeil.pki.chains import ChainValidator

    validator = ChainValidator([env.iaca.certificate], Role.IACA)
    v = MdocVerifier(validator)
    vp = _present(env)
    for _ in range(3):
        v.verify_device_response(vp, session_transcript=TRANSCRIPT, now=NOW)
    assert validator.misses == 1
    assert validator.hits == 2


# ------------------------------------------------------------------------------------------ fuzz
_FUZZ_ENV = _make()
_FUZZ_VERIFIER = MdocVerifier([_FUZZ_ENV.iaca.certificate])
_FUZZ_VALID = Mdoc.parse(_FUZZ_ENV.issuer_signed).present(
    {NAMESPACE_PID: ["given_name", "birth_date"]}, device_key=_FUZZ_ENV.device_key, session_transcript=TRANSCRIPT
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_random_bytes_raise_only_format_error(blob: bytes) -> None:
    with contextlib.suppress(FormatError):
        _FUZZ_VERIFIER.verify_device_response(blob, session_transcript=TRANSCRIPT, now=NOW)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_FUZZ_VALID) - 1), st.integers(0, 255)), min_size=1, max_size=4))
def test_fuzz_mutated_response_raises_only_format_error(mutations: list[tuple[int, int]]) -> None:
    blob = bytearray(_FUZZ_VALID)
    for pos, byte in mutations:
        blob[pos] = byte
    with contextlib.suppress(FormatError):
        _FUZZ_VERIFIER.verify_device_response(bytes(blob), session_transcript=TRANSCRIPT, now=NOW)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_holder_parse_raises_only_format_error(blob: bytes) -> None:
    with contextlib.suppress(FormatError):
        Mdoc.parse(blob)


_json_like = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.text(max_size=8) | st.binary(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_json_like)
def test_fuzz_structured_garbage_raises_only_format_error(value: Any) -> None:
    doc = {"docType": DOCTYPE_PID, "issuerSigned": value, "deviceSigned": value}
    for blob in (cbor2.dumps(value), build_device_response([doc])):
        with contextlib.suppress(FormatError):
            _FUZZ_VERIFIER.verify_device_response(blob, session_transcript=TRANSCRIPT, now=NOW)


def test_public_jwk_thumbprint_of_generated_key_is_accepted() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    thumb = jwk_thumbprint(public_jwk(key.public_key()))
    assert cbor2.loads(openid4vp_session_transcript(CLIENT_ID, NONCE, thumb, RESPONSE_URI))[2][0] == "OpenID4VPHandover"


def test_cose_sign1_dataclass_is_reencoded_identically(env: Setup) -> None:
    auth = decode_sign1(cbor2.loads(env.issuer_signed)["issuerAuth"])
    assert isinstance(auth, CoseSign1)
    assert auth.encode(tagged=False) == cbor2.dumps(cbor2.loads(env.issuer_signed)["issuerAuth"])


@pytest.mark.parametrize(
    "payload_suffix",
    [b"\x00", b""],
    ids=["trailing_byte", "indefinite_bstr"],
)
def test_rejects_mso_payload_not_exactly_tag24_bstr(env: Setup, payload_suffix: bytes) -> None:
    """MobileSecurityObjectBytes must be exactly #6.24(bstr), even when the DS signed something else."""
    auth = decode_sign1(cbor2.loads(env.issuer_signed)["issuerAuth"])
    mso_raw = cbor2.loads(auth.payload or b"").value
    if payload_suffix:
        payload = cbor2.dumps(cbor2.CBORTag(24, mso_raw)) + payload_suffix
    else:  # indefinite-length byte string: d8 18 5f <chunk> ff
        payload = b"\xd8\x18\x5f" + cbor2.dumps(mso_raw) + b"\xff"
    forged = sign1(payload, env.ds_key, x5chain=[env.ds_cert.public_bytes(Encoding.DER)], tagged=False)
    issuer_signed = cbor2.dumps({"nameSpaces": {}, "issuerAuth": forged.to_cbor_obj()})
    with pytest.raises(FormatError) as exc:
        MdocVerifier([env.iaca.certificate]).verify_issuer_signed(issuer_signed, now=NOW)
    assert _code(exc) == "mdoc_malformed"


def test_rejects_expired_ds_certificate(env: Setup) -> None:
    """MSO still valid, DS certificate (365 days) expired: the chain check refuses it."""
    issuer_signed = issue_mdoc(
        DOCTYPE_PID,
        {NAMESPACE_PID: {"given_name": "X"}},
        issuer_key=env.ds_key,
        issuer_chain=[env.ds_cert],
        device_key=env.device_key.public_key(),
        now=NOW,
        valid_until=NOW + timedelta(days=500),
    )
    later = NOW + timedelta(days=400)
    vp = Mdoc.parse(issuer_signed).present(None, device_key=env.device_key, session_transcript=TRANSCRIPT)
    with pytest.raises(FormatError) as exc:
        MdocVerifier([env.iaca.certificate]).verify_device_response(vp, session_transcript=TRANSCRIPT, now=later)
    assert _code(exc) == "mdoc_untrusted_issuer"
    assert exc.value.details["pki_code"] == "certificate_expired"


def test_rejects_mso_signed_before_ds_certificate_validity(env: Setup) -> None:
    ds_key = ec.generate_private_key(ec.SECP256R1())
    ds_cert = issue_leaf(env.iaca, "Late DS", ds_key.public_key(), Role.IACA, now=NOW)
    issuer_signed = issue_mdoc(
        DOCTYPE_PID,
        {NAMESPACE_PID: {"given_name": "X"}},
        issuer_key=ds_key,
        issuer_chain=[ds_cert],
        device_key=env.device_key.public_key(),
        now=NOW - timedelta(days=2),  # back-dated "signed"
        valid_until=NOW + timedelta(days=30),
    )
    vp = Mdoc.parse(issuer_signed).present(None, device_key=env.device_key, session_transcript=TRANSCRIPT)
    with pytest.raises(FormatError) as exc:
        MdocVerifier([env.iaca.certificate]).verify_device_response(
            vp, session_transcript=TRANSCRIPT, now=NOW + timedelta(days=1)
        )
    assert _code(exc) == "mdoc_signed_outside_ds_validity"


def test_rejects_session_transcript_not_given_as_cbor_bytes(env: Setup, verifier: MdocVerifier) -> None:
    vp = _present(env)
    for bad in (cbor2.loads(TRANSCRIPT), b"", b"\xa0", "83f6f6"):
        with pytest.raises(FormatError) as exc:
            verifier.verify_device_response(vp, session_transcript=bad, now=NOW)  # type: ignore[arg-type]
        assert _code(exc) == "mdoc_bad_transcript_input"


def test_vp_token_is_base64url_of_device_response(env: Setup, verifier: MdocVerifier) -> None:
    vp = _present(env)
    token = encode_vp_token(vp)
    assert "=" not in token
    assert "+" not in token
    assert verifier.verify_device_response(token, session_transcript=TRANSCRIPT, now=NOW)
