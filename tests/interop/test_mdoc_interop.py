"""mdoc interop, both directions, with the OpenID4VP 1.0 Annex B SessionTranscript.

Peers: node ``@owf/mdoc`` 0.6.0 (tests/interop/node, driven by ``mdoc_peer.mjs`` with a node:crypto context)
and the PyPI ``isomdoc`` package (verify_device_response; create_mdoc builds IssuerSigned only).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from portfeil.formats import FormatError
from portfeil.formats.mdoc import (
    DOCTYPE_PID,
    NAMESPACE_PID,
    Mdoc,
    MdocVerifier,
    issue_mdoc,
    openid4vp_dc_api_session_transcript,
    openid4vp_session_transcript,
)
from portfeil.pki.ca import create_root_ca, issue_leaf
from portfeil.pki.keys import jwk_thumbprint, private_jwk, public_jwk
from portfeil.pki.roles import Role

pytestmark = pytest.mark.interop

NODE_DIR = Path(__file__).parent / "node"
PEER = NODE_DIR / "mdoc_peer.mjs"
NOW = datetime.now(UTC).replace(microsecond=0)  # node's X509Certificate has no injectable clock for parsing
CLIENT_ID = "x509_san_dns:verifier.portfeil.bg"
NONCE = "gq3V8bY2-nonce"
RESPONSE_URI = "https://verifier.portfeil.bg/oid4vp/response"
ENC_KEY = ec.generate_private_key(ec.SECP256R1())
THUMB = jwk_thumbprint(public_jwk(ENC_KEY.public_key()))
TRANSCRIPT = openid4vp_session_transcript(CLIENT_ID, NONCE, THUMB, RESPONSE_URI)

CLAIMS: dict[str, Any] = {
    "family_name": "Georgieva",
    "given_name": "Elena",
    "birth_date": date(1990, 3, 14),
    "issuing_country": "BG",
    "issuing_authority": "MVR",
    "age_over_18": True,
    "personal_administrative_number": "9003146480",
    "nationality": "BG",
    "resident_city": "Plovdiv",
    "sex": 2,
}


def _node_available() -> str | None:
    if shutil.which("node") is None:
        return "node runtime missing: `node` is not on PATH"
    if not (NODE_DIR / "node_modules" / "@owf" / "mdoc").is_dir():
        return "node runtime missing: tests/interop/node/node_modules/@owf/mdoc not installed (npm install)"
    return None


def _peer(command: str, payload: dict[str, Any]) -> dict[str, Any]:
    reason = _node_available()
    if reason:
        pytest.skip(reason)
    proc = subprocess.run(
        ["node", str(PEER), command],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=NODE_DIR,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.fixture(scope="module")
def pki() -> dict[str, Any]:
    iaca = create_root_ca("Portfeil Interop IACA", Role.IACA, now=NOW - timedelta(days=2))
    ds_key = ec.generate_private_key(ec.SECP256R1())
    ds_cert = issue_leaf(iaca, "Portfeil Interop DS", ds_key.public_key(), Role.IACA, now=NOW - timedelta(days=1))
    device_key = ec.generate_private_key(ec.SECP256R1())
    return {"iaca": iaca, "ds_key": ds_key, "ds_cert": ds_cert, "device_key": device_key}


def _ours(pki: dict[str, Any], disclose: dict[str, list[str]] | None = None) -> bytes:
    issuer_signed = issue_mdoc(
        DOCTYPE_PID,
        {NAMESPACE_PID: CLAIMS},
        issuer_key=pki["ds_key"],
        issuer_chain=[pki["ds_cert"]],
        device_key=pki["device_key"].public_key(),
        now=NOW - timedelta(hours=1),
        valid_until=NOW + timedelta(days=30),
    )
    return Mdoc.parse(issuer_signed).present(disclose, device_key=pki["device_key"], session_transcript=TRANSCRIPT)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _verify_payload(pki: dict[str, Any], vp: bytes, **overrides: Any) -> dict[str, Any]:
    payload = {
        "deviceResponse": _b64url(vp),
        "trusted": [base64.b64encode(pki["iaca"].certificate.public_bytes(Encoding.DER)).decode()],
        "clientId": CLIENT_ID,
        "nonce": NONCE,
        "jwkThumbprint": THUMB,
        "responseUri": RESPONSE_URI,
        "now": NOW.isoformat(),
    }
    payload.update(overrides)
    return payload


# ------------------------------------------------------------------------------------- @owf/mdoc (node)
def test_owf_transcript_equals_ours() -> None:
    out = _peer(
        "transcript", {"clientId": CLIENT_ID, "nonce": NONCE, "jwkThumbprint": THUMB, "responseUri": RESPONSE_URI}
    )
    assert out["ok"], out
    assert bytes.fromhex(out["transcript"]) == TRANSCRIPT


@pytest.mark.parametrize("thumb", [THUMB, None], ids=["encrypted", "unencrypted"])
def test_owf_dc_api_transcript_equals_ours(thumb: str | None) -> None:
    out = _peer("transcript-dcapi", {"origin": "https://verifier.portfeil.bg", "nonce": NONCE, "jwkThumbprint": thumb})
    assert out["ok"], out
    assert bytes.fromhex(out["transcript"]) == openid4vp_dc_api_session_transcript(
        "https://verifier.portfeil.bg", NONCE, thumb
    )


def test_owf_verifies_our_device_response(pki: dict[str, Any]) -> None:
    vp = _ours(pki, {NAMESPACE_PID: ["given_name", "birth_date", "age_over_18", "issuing_country"]})
    out = _peer("verify", _verify_payload(pki, vp))
    assert out["ok"], out
    assert out["claims"][NAMESPACE_PID]["given_name"] == "Elena"
    assert set(out["claims"][NAMESPACE_PID]) == {"given_name", "birth_date", "age_over_18", "issuing_country"}


def test_owf_rejects_our_device_response_for_another_nonce(pki: dict[str, Any]) -> None:
    """The peer is a real check: the same response under a different nonce fails there too."""
    out = _peer("verify", _verify_payload(pki, _ours(pki), nonce="another-nonce"))
    assert not out["ok"]


def test_owf_rejects_our_device_response_with_untrusted_anchor(pki: dict[str, Any]) -> None:
    other = create_root_ca("Other IACA", Role.IACA, now=NOW - timedelta(days=1))
    trusted = [base64.b64encode(other.certificate.public_bytes(Encoding.DER)).decode()]
    out = _peer("verify", _verify_payload(pki, _ours(pki), trusted=trusted))
    assert not out["ok"]


def _owf_issue_present(pki: dict[str, Any], disclose: list[str], device_alg: str | None = "ES256") -> dict[str, Any]:
    claims = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in CLAIMS.items()}
    out = _peer(
        "issue-present",
        {
            "dsPrivateJwk": {**private_jwk(pki["ds_key"]), "alg": "ES256"},
            "dsCertificate": base64.b64encode(pki["ds_cert"].public_bytes(Encoding.DER)).decode(),
            # without "alg" in the JWK, @owf/mdoc 0.6.0 writes {1: undefined} as the deviceSignature protected
            # header, which we refuse (cose_missing_alg): see test_we_refuse_owf_response_without_device_alg
            "devicePrivateJwk": {**private_jwk(pki["device_key"]), "alg": device_alg}
            if device_alg
            else private_jwk(pki["device_key"]),
            "docType": DOCTYPE_PID,
            "namespaces": {NAMESPACE_PID: claims},
            "dates": [[NAMESPACE_PID, "birth_date"]],
            "signed": (NOW - timedelta(hours=1)).isoformat(),
            "validFrom": (NOW - timedelta(hours=1)).isoformat(),
            "validUntil": (NOW + timedelta(days=30)).isoformat(),
            "disclose": {NAMESPACE_PID: disclose},
            "clientId": CLIENT_ID,
            "nonce": NONCE,
            "jwkThumbprint": THUMB,
            "responseUri": RESPONSE_URI,
        },
    )
    assert out["ok"], out
    return out


def test_we_verify_owf_device_response(pki: dict[str, Any]) -> None:
    out = _owf_issue_present(pki, ["family_name", "birth_date", "sex"])
    verifier = MdocVerifier([pki["iaca"].certificate])
    (doc,) = verifier.verify_device_response(out["deviceResponse"], session_transcript=TRANSCRIPT, now=NOW)
    assert doc.doctype == DOCTYPE_PID
    assert dict(doc.namespaces[NAMESPACE_PID]) == {
        "family_name": "Georgieva",
        "birth_date": date(1990, 3, 14),
        "sex": 2,
    }
    wrong = openid4vp_session_transcript(CLIENT_ID, NONCE, THUMB, "https://evil.example/response")
    with pytest.raises(FormatError) as exc:
        verifier.verify_device_response(out["deviceResponse"], session_transcript=wrong, now=NOW)
    assert exc.value.code == "mdoc_bad_device_signature"


def test_we_refuse_owf_response_without_device_alg(pki: dict[str, Any]) -> None:
    out = _owf_issue_present(pki, ["family_name"], device_alg=None)
    with pytest.raises(FormatError) as exc:
        MdocVerifier([pki["iaca"].certificate]).verify_device_response(
            out["deviceResponse"], session_transcript=TRANSCRIPT, now=NOW
        )
    assert exc.value.code == "cose_missing_alg"


def test_our_holder_presents_owf_issued_mdoc(pki: dict[str, Any]) -> None:
    out = _owf_issue_present(pki, ["given_name"])
    mdoc = Mdoc.parse(out["issuerSigned"])
    assert mdoc.claims()[NAMESPACE_PID]["birth_date"] == date(1990, 3, 14)
    vp = mdoc.present({NAMESPACE_PID: ["age_over_18"]}, device_key=pki["device_key"], session_transcript=TRANSCRIPT)
    (doc,) = MdocVerifier([pki["iaca"].certificate]).verify_device_response(vp, session_transcript=TRANSCRIPT, now=NOW)
    assert dict(doc.namespaces[NAMESPACE_PID]) == {"age_over_18": True}


# ------------------------------------------------------------------------------------- isomdoc (PyPI)
def test_isomdoc_verifies_our_device_response(pki: dict[str, Any]) -> None:
    isomdoc = pytest.importorskip("isomdoc")
    vp = _ours(pki, {NAMESPACE_PID: ["family_name", "birth_date", "age_over_18"]})
    response = isomdoc.verify_device_response(vp, cbor2.loads(TRANSCRIPT))
    (document,) = response.documents
    assert document.doctype == DOCTYPE_PID
    assert document.issuer_signed.get_element_value(NAMESPACE_PID, "family_name") == "Georgieva"
    assert document.issuer_signed.get_element_value(NAMESPACE_PID, "birth_date") == date(1990, 3, 14)
    wrong = cbor2.loads(openid4vp_session_transcript(CLIENT_ID, "other", THUMB, RESPONSE_URI))
    with pytest.raises(Exception):  # noqa: B017 - isomdoc raises cryptography's InvalidSignature
        isomdoc.verify_device_response(vp, wrong)


def test_we_verify_isomdoc_issued_mdoc(pki: dict[str, Any]) -> None:
    isomdoc = pytest.importorskip("isomdoc")
    builder = isomdoc.create_mdoc(DOCTYPE_PID, [pki["ds_cert"]], pki["ds_key"])
    for key in ("family_name", "given_name", "birth_date", "age_over_18"):
        builder.add_data_item(NAMESPACE_PID, key, CLAIMS[key])
    issuer_signed = builder.generate_credential(
        pki["device_key"].public_key(),
        signed_datetime=NOW - timedelta(hours=1),
        valid_from_datetime=NOW - timedelta(hours=1),
        valid_until_datetime=NOW + timedelta(days=30),
    )
    verifier = MdocVerifier([pki["iaca"].certificate])
    verified = verifier.verify_issuer_signed(issuer_signed, now=NOW, doctype=DOCTYPE_PID)
    assert verified.namespaces[NAMESPACE_PID]["birth_date"] == date(1990, 3, 14)
    vp = Mdoc.parse(issuer_signed).present(
        {NAMESPACE_PID: ["given_name"]}, device_key=pki["device_key"], session_transcript=TRANSCRIPT
    )
    (doc,) = verifier.verify_device_response(vp, session_transcript=TRANSCRIPT, now=NOW)
    assert dict(doc.namespaces[NAMESPACE_PID]) == {"given_name": "Elena"}
    # and isomdoc agrees on the response our holder built from its mdoc
    isomdoc.verify_device_response(vp, cbor2.loads(TRANSCRIPT))
