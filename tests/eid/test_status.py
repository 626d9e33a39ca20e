"""Revocation status of eID certificates: the CRL (RFC 5280 §5) and the OCSP responder (RFC 6960), checked with
cryptography's parsers and with ``openssl ocsp`` against a live server."""

from __future__ import annotations

import asyncio
import base64
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from portfeil.app import create_app
from portfeil.context import AppContext
from portfeil.db import Database, migrate_sync
from portfeil.eid.demo import DemoSetup, IssuedToHolder, demo_desk, issue_to_person
from portfeil.eid.registry import EidRegistry
from portfeil.settings import Settings
from tests.eid.conftest import ELENA


@pytest.fixture
async def client(ctx: AppContext, reg: EidRegistry) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ctx)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


def _ocsp_request(leaf: x509.Certificate, issuer: x509.Certificate, nonce: bytes | None = None) -> bytes:
    b = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA256())
    if nonce is not None:
        b = b.add_extension(x509.OCSPNonce(nonce), critical=False)
    return b.build().public_bytes(Encoding.DER)


async def test_crl_lists_suspended_and_terminated_with_reasons(
    reg: EidRegistry, desk: DemoSetup, ivan: IssuedToHolder, client: httpx.AsyncClient, ctx: AppContext
) -> None:
    elena = await issue_to_person(reg, ELENA, setup=desk)
    keep = await issue_to_person(reg, ELENA, setup=desk)
    await reg.suspend(ivan.certificate.serial, "authority_cause", actor="authority")
    await reg.terminate(elena.certificate.serial, "compromise", actor="authority")
    r = await client.get("/eid/crl/eid-ca.crl")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(r.content)
    issuing = (await reg.issuing_ca()).certificate
    assert crl.is_signature_valid(issuing.public_key())  # type: ignore[arg-type]
    assert crl.issuer == issuing.subject
    assert crl.next_update_utc is not None
    assert crl.next_update_utc > ctx.clock.now()
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number > 0
    by_serial = {e.serial_number: e for e in crl}
    assert set(by_serial) == {int(ivan.certificate.serial, 16), int(elena.certificate.serial, 16)}
    assert int(keep.certificate.serial, 16) not in by_serial
    reason = by_serial[int(ivan.certificate.serial, 16)].extensions.get_extension_for_class(x509.CRLReason)
    assert reason.value.reason == x509.ReasonFlags.certificate_hold
    reason = by_serial[int(elena.certificate.serial, 16)].extensions.get_extension_for_class(x509.CRLReason)
    assert reason.value.reason == x509.ReasonFlags.key_compromise
    await reg.resume(ivan.certificate.serial, actor="desk", identity_checked=True)
    crl = x509.load_der_x509_crl((await client.get("/eid/crl/eid-ca.crl")).content)
    assert int(ivan.certificate.serial, 16) not in {e.serial_number for e in crl}, "resumed leaves the CRL"


async def test_ocsp_good_revoked_unknown_and_nonce(
    reg: EidRegistry, desk: DemoSetup, ivan: IssuedToHolder, client: httpx.AsyncClient
) -> None:
    issuing = (await reg.issuing_ca()).certificate
    leaf = ivan.holder.certificate
    assert leaf is not None
    req = _ocsp_request(leaf, issuing, nonce=b"\x01" * 16)
    r = await client.post("/eid/ocsp", content=req, headers={"content-type": "application/ocsp-request"})
    assert r.headers["content-type"] == "application/ocsp-response"
    resp = ocsp.load_der_ocsp_response(r.content)
    assert resp.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert resp.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert resp.serial_number == leaf.serial_number
    assert resp.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"\x01" * 16
    pub = issuing.public_key()
    assert isinstance(pub, ec.EllipticCurvePublicKey)
    pub.verify(resp.signature, resp.tbs_response_bytes, ec.ECDSA(hashes.SHA256()))
    await reg.terminate(ivan.certificate.serial, "compromise", actor="authority")
    encoded = quote(base64.b64encode(_ocsp_request(leaf, issuing)).decode(), safe="")
    resp = ocsp.load_der_ocsp_response((await client.get(f"/eid/ocsp/{encoded}")).content)
    assert resp.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert resp.revocation_reason == x509.ReasonFlags.key_compromise
    assert resp.revocation_time_utc is not None
    # a certificate signed by the CA key but not in the register (e.g. forged with a stolen key): unknown
    from portfeil.eid.certificates import build_eid_certificate, parse_csr
    from portfeil.eid.holder import generate_key, make_csr

    stray = build_eid_certificate(await reg.issuing_ca(), parse_csr(make_csr(generate_key())), "X" * 26,
                                  now=reg.clock.now(), crl_url="http://x/crl", ocsp_url="http://x/ocsp")
    resp = ocsp.load_der_ocsp_response((await client.post("/eid/ocsp", content=_ocsp_request(stray, issuing)))
                                       .content)
    assert resp.certificate_status == ocsp.OCSPCertStatus.UNKNOWN


async def test_ocsp_suspended_is_revoked_on_hold(reg: EidRegistry, ivan: IssuedToHolder,
                                                 client: httpx.AsyncClient) -> None:
    issuing = (await reg.issuing_ca()).certificate
    assert ivan.holder.certificate is not None
    await reg.suspend(ivan.certificate.serial, "authority_cause", actor="authority")
    resp = ocsp.load_der_ocsp_response(
        (await client.post("/eid/ocsp", content=_ocsp_request(ivan.holder.certificate, issuing))).content)
    assert resp.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert resp.revocation_reason == x509.ReasonFlags.certificate_hold


async def test_ocsp_rejects_malformed_request(reg: EidRegistry, client: httpx.AsyncClient) -> None:
    resp = ocsp.load_der_ocsp_response((await client.post("/eid/ocsp", content=b"\x30\x03junk")).content)
    assert resp.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    resp = ocsp.load_der_ocsp_response((await client.get("/eid/ocsp/%%%")).content)
    assert resp.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


async def test_ocsp_refuses_other_issuer(reg: EidRegistry, ivan: IssuedToHolder, client: httpx.AsyncClient) -> None:
    from portfeil.pki.ca import create_root_ca
    from portfeil.pki.roles import Role

    stranger = create_root_ca("Other CA", Role.EID, now=reg.clock.now())
    assert ivan.holder.certificate is not None
    resp = ocsp.load_der_ocsp_response(
        (await client.post("/eid/ocsp", content=_ocsp_request(ivan.holder.certificate, stranger.certificate)))
        .content)
    assert resp.response_status == ocsp.OCSPResponseStatus.UNAUTHORIZED


async def test_ca_certificates_published(reg: EidRegistry, client: httpx.AsyncClient) -> None:
    root = x509.load_pem_x509_certificate((await client.get("/eid/ca/eid-root-ca.pem")).content)
    issuing = x509.load_pem_x509_certificate((await client.get("/eid/ca/eid-issuing-ca.pem")).content)
    assert issuing.issuer == root.subject
    assert root == await reg.root_ca()


async def test_openssl_ocsp_against_live_server(tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl missing: cannot run the openssl ocsp interop check")
    from tests.browser.conftest import LiveServer, _free_port

    port = _free_port()
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'live.db'}"
    await asyncio.to_thread(migrate_sync, db_url)
    settings = Settings(data_dir=tmp_path / "data", port=port, public_url=f"http://127.0.0.1:{port}")
    prep = AppContext(settings=settings, db=Database(db_url))
    from portfeil.sources.seed import seed_demo_persons

    await seed_demo_persons(prep.db, clock=prep.clock)
    reg = EidRegistry.for_context(prep)
    desk = await demo_desk(reg)
    good = await issue_to_person(reg, "8506258485", setup=desk)
    bad = await issue_to_person(reg, "8506258485", setup=desk)
    await reg.terminate(bad.certificate.serial, "compromise", actor="authority")
    issuing = (await reg.issuing_ca()).certificate
    root = await reg.root_ca()
    await prep.db.dispose()
    (tmp_path / "issuer.pem").write_bytes(issuing.public_bytes(Encoding.PEM))
    (tmp_path / "ca.pem").write_bytes(root.public_bytes(Encoding.PEM) + issuing.public_bytes(Encoding.PEM))
    for name, h in (("good", good), ("bad", bad)):
        assert h.holder.certificate is not None
        (tmp_path / f"{name}.pem").write_bytes(h.holder.certificate.public_bytes(Encoding.PEM))
    server = LiveServer(AppContext(settings=settings, db=Database(db_url)), port)
    await asyncio.to_thread(server.start)
    try:
        outputs = {}
        for name in ("good", "bad"):
            proc = await asyncio.to_thread(
                subprocess.run,
                [openssl, "ocsp", "-issuer", str(tmp_path / "issuer.pem"), "-cert", str(tmp_path / f"{name}.pem"),
                 "-url", f"http://127.0.0.1:{port}/eid/ocsp", "-CAfile", str(tmp_path / "ca.pem"), "-resp_text"],
                capture_output=True, text=True, timeout=60, check=False,
            )
            outputs[name] = proc.stdout + proc.stderr
            assert proc.returncode == 0, outputs[name]
    finally:
        await asyncio.to_thread(server.stop)
    assert "Response verify OK" in outputs["good"]
    assert f"{tmp_path / 'good.pem'}: good" in outputs["good"]
    assert "Cert Status: good" in outputs["good"]
    assert f"{tmp_path / 'bad.pem'}: revoked" in outputs["bad"]
    assert "keyCompromise" in outputs["bad"]
    assert "OCSP Nonce" in outputs["good"], "openssl sends a nonce by default; we echo it"
