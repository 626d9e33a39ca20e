"""Proof by others: portfeil's wallet RECEIVES both formats from an independent OpenID4VCI 1.0 issuer built on
@openid4vc/openid4vci 0.4.6 + @openid4vc/oauth2 0.4.6 (tests/interop/node/wallet_issuer.mjs): credential offer by
value, pre-authorized code with tx_code, DPoP-bound access token with a server DPoP nonce, a fresh c_nonce from the
nonce endpoint, a batch of two JWT proofs verified by the library, an SD-JWT VC from @sd-jwt/sd-jwt-vc (x5c) and an
mdoc IssuerSigned from @owf/mdoc. The PKI (PID provider CA, IACA + document signer) comes from portfeil.pki.ca;
the wallet trusts the two roots through its trust API. The received credentials are then presented with
portfeil.formats (KB-JWT / DeviceResponse) and the presentations verified."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from portfeil.formats.mdoc import Mdoc, MdocVerifier, openid4vp_session_transcript
from portfeil.formats.sdjwt import present, verify_sd_jwt_vc
from portfeil.pki.ca import create_root_ca, issue_leaf
from portfeil.pki.certs import cert_to_pem
from portfeil.pki.keys import generate_private_key, key_from_jwk, private_jwk
from portfeil.pki.roles import Role
from portfeil.wallet.core import Wallet
from portfeil.wallet.errors import WalletError
from portfeil.wallet.receive import accept_offer
from portfeil.wallet.store import KdfParams

pytestmark = pytest.mark.interop

NODE_DIR = Path(__file__).parent / "node"
FAST_KDF = KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)
DOCTYPE = "eu.europa.ec.eudi.pid.1"
VCT = "urn:eudi:pid:1"
ISSUED_SD = {"family_name": "Petrova", "given_name": "Maria", "birthdate": "1990-04-12", "nationalities": ["BG"],
             "age_equal_or_over": {"18": True}}
ISSUED_MDOC = {"family_name": "Petrova", "given_name": "Maria", "birth_date": "1990-04-12", "issuing_country": "BG",
               "age_over_18": True}


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node runtime missing: `node` is not on PATH")
    for pkg in ("@openid4vc/openid4vci", "@openid4vc/oauth2", "@sd-jwt/sd-jwt-vc", "@owf/mdoc"):
        if not (NODE_DIR / "node_modules" / pkg).is_dir():
            pytest.skip(f"node runtime missing: tests/interop/node/node_modules/{pkg} not installed")
    return node


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _b64(cert: Any) -> str:
    return base64.b64encode(cert.public_bytes(Encoding.DER)).decode()


@dataclass
class NodeIssuer:
    proc: asyncio.subprocess.Process
    port: int
    offer: str
    offer_by_reference: str
    tx_code: str
    pid_root_pem: bytes
    iaca_pem: bytes

    async def event(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        assert line, "node issuer exited"
        out: dict[str, Any] = json.loads(line)
        return out


@pytest.fixture
async def node_issuer() -> AsyncIterator[NodeIssuer]:
    node = _node()
    port = _port()
    base = f"http://localhost:{port}"
    now = datetime.now(UTC) - timedelta(minutes=5)
    pid_root = create_root_ca("Interop node PID CA", Role.PID_PROVIDER, now=now)
    leaf_key = generate_private_key("ES256")
    leaf = issue_leaf(pid_root, "Interop node PID issuer", leaf_key.public_key(), Role.PID_PROVIDER, now=now,
                      san_uris=[base])  # SD-JWT VC iss == a SAN URI of the x5c leaf
    iaca = create_root_ca("Interop node IACA", Role.IACA, now=now)
    ds_key = generate_private_key("ES256")
    ds = issue_leaf(iaca, "Interop node DS", ds_key.public_key(), Role.IACA, now=now)
    tx_code = f"{secrets.randbelow(10**6):06d}"
    proc = await asyncio.create_subprocess_exec(
        node, str(NODE_DIR / "wallet_issuer.mjs"), cwd=NODE_DIR, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write(json.dumps({
        "port": port, "txCode": tx_code,
        "sdJwt": {"leafPrivateJwk": private_jwk(leaf_key), "x5c": [_b64(leaf)]},
        "mdoc": {"dsPrivateJwk": private_jwk(ds_key), "dsCertificate": _b64(ds)},
    }).encode())
    proc.stdin.close()
    try:
        first = await asyncio.wait_for(proc.stdout.readline(), 30)
        if not first:
            err = await proc.stderr.read() if proc.stderr else b""
            pytest.fail(f"node issuer did not start: {err.decode()[-2000:]}")
        ready = json.loads(first)
        assert ready["port"] == port
        assert ready["offer"].startswith("openid-credential-offer://")
        yield NodeIssuer(proc, port, ready["offer"], ready["offerByReference"], tx_code,
                         cert_to_pem(pid_root.certificate), cert_to_pem(iaca.certificate))
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()


@pytest.fixture
async def wallet(tmp_path: Path) -> AsyncIterator[Wallet]:
    async with httpx.AsyncClient(timeout=30) as client:  # real HTTP to 127.0.0.1
        yield Wallet.create(tmp_path / "wallet", "correct horse battery staple", kdf=FAST_KDF, http=client)


def _trust(wallet: Wallet, peer: NodeIssuer) -> None:
    wallet.anchors.add(Role.PID_PROVIDER.value, peer.pid_root_pem)
    wallet.anchors.add(Role.IACA.value, peer.iaca_pem)


@pytest.mark.parametrize("by_reference", [False, True], ids=["offer_by_value", "offer_by_reference"])
async def test_wallet_receives_both_formats_from_node_issuer(wallet: Wallet, node_issuer: NodeIssuer,
                                                             by_reference: bool) -> None:
    _trust(wallet, node_issuer)
    offer = node_issuer.offer_by_reference if by_reference else node_issuer.offer
    assert ("credential_offer_uri=" in offer) == by_reference
    out = await accept_offer(wallet, offer, tx_code=node_issuer.tx_code, batch=2)

    # what the node issuer saw: a DPoP nonce challenge at the token endpoint (RFC 9449 §8) answered by a retry, a
    # DPoP-bound token, then per configuration one request with two proofs that the library verified (a fresh
    # c_nonce each; the DPoP nonce from the token response reused at the credential endpoint, so no second challenge)
    events = [await node_issuer.event() for _ in range(4)]
    assert [e.get("event") for e in events] == ["dpop_nonce_challenge", "token", "credential", "credential"], events
    events = events[1:]
    assert events[0]["token_type"] == "DPoP"
    assert {e["configuration_id"] for e in events[1:]} == {"pid_sd_jwt", "pid_mdoc"}
    assert all(e["proofs"] == 2 and e["scheme"] == "DPoP" for e in events[1:])

    assert out["issuer"] == f"http://localhost:{node_issuer.port}"
    assert out["issuer_name"] == "Node издател"  # issuer display metadata kept (bg first)
    assert {c["format"]: c["unused"] for c in out["credentials"]} == {"dc+sd-jwt": 2, "mso_mdoc": 2}

    recs = {r["format"]: r for r in wallet.credentials()}
    sd, md = recs["dc+sd-jwt"], recs["mso_mdoc"]
    # verified on receipt and stored with the claims exactly as the node issuer put them in
    assert {k: sd["claims"][k] for k in ISSUED_SD} == ISSUED_SD
    assert sd["claims"]["iss"] == out["issuer"]
    assert sd["vct"] == VCT
    ns = dict(md["claims"][DOCTYPE])
    assert ns == ISSUED_MDOC  # full-date (tag 1004) stored as its ISO string
    assert md["doctype"] == DOCTYPE
    # each one-time instance is bound to its own wallet key, the ones the node issuer took from the proofs
    by_config = {e["configuration_id"]: e["holder_keys"] for e in events[1:]}
    assert [i["key"]["x"] for i in sd["instances"]] == by_config["pid_sd_jwt"]
    assert [i["key"]["x"] for i in md["instances"]] == by_config["pid_mdoc"]
    assert len(set(by_config["pid_sd_jwt"] + by_config["pid_mdoc"])) == 4
    assert [e["kind"] for e in wallet.log.entries()] == ["issuance", "issuance"]

    # presentable: SD-JWT VC with a KB-JWT disclosing only family_name, verified against the same trust anchor
    now = datetime.now(UTC)
    inst = sd["instances"][0]
    holder = key_from_jwk(inst["key"])
    pres = present(inst["credential"], [("family_name",)], holder_key=holder,  # type: ignore[arg-type]
                   aud="x509_san_dns:verifier.example", nonce="n-123", now=now)
    v = verify_sd_jwt_vc(pres, now=now, trust=wallet.anchors.validator(Role.PID_PROVIDER),
                         aud="x509_san_dns:verifier.example", nonce="n-123", vct=VCT, require_key_binding=True)
    assert v.claims["family_name"] == "Petrova"
    assert "given_name" not in v.claims
    assert "birthdate" not in v.claims

    # ... and the mdoc as an OpenID4VP DeviceResponse with a device signature over the session transcript
    minst = md["instances"][0]
    transcript = openid4vp_session_transcript("x509_san_dns:verifier.example", "n-456", None,
                                              "https://verifier.example/response")
    resp = Mdoc.parse(minst["credential"]).present({DOCTYPE: ["family_name", "age_over_18"]},
                                                   device_key=key_from_jwk(minst["key"]),  # type: ignore[arg-type]
                                                   session_transcript=transcript)
    (doc,) = MdocVerifier(wallet.anchors.validator(Role.IACA)).verify_device_response(
        resp, session_transcript=transcript, now=now, expected_doctypes=[DOCTYPE])
    assert dict(doc.namespaces[DOCTYPE]) == {"family_name": "Petrova", "age_over_18": True}


async def test_rejects_wrong_tx_code(wallet: Wallet, node_issuer: NodeIssuer) -> None:
    _trust(wallet, node_issuer)
    wrong = f"{(int(node_issuer.tx_code) + 1) % 10**6:06d}"
    with pytest.raises(WalletError) as exc:
        await accept_offer(wallet, node_issuer.offer, tx_code=wrong)
    assert exc.value.code == "issuance_failed"
    assert wallet.credentials() == []
    assert (await node_issuer.event())["event"] == "dpop_nonce_challenge"
    event = await node_issuer.event()
    assert (event["event"], event["path"], event["error"]) == ("error", "/token", "invalid_grant")


@pytest.mark.parametrize("untrusted", ["sd-jwt", "mdoc"])
async def test_rejects_credentials_from_untrusted_issuer(wallet: Wallet, node_issuer: NodeIssuer,
                                                         untrusted: str) -> None:
    """With another CA in place of the node issuer's PID root (or IACA) the wallet refuses what it receives, after
    the node issuer has issued it, and stores nothing of the offer."""
    other = cert_to_pem(create_root_ca("Some other CA", Role.IACA if untrusted == "mdoc" else Role.PID_PROVIDER,
                                       now=datetime.now(UTC) - timedelta(minutes=5)).certificate)
    if untrusted == "mdoc":
        wallet.anchors.add(Role.PID_PROVIDER.value, node_issuer.pid_root_pem)
        wallet.anchors.add(Role.IACA.value, other)
    else:
        wallet.anchors.add(Role.PID_PROVIDER.value, other)  # no attestation-provider anchors at all
        wallet.anchors.add(Role.IACA.value, node_issuer.iaca_pem)
    with pytest.raises(WalletError) as exc:
        await accept_offer(wallet, node_issuer.offer, tx_code=node_issuer.tx_code)
    assert exc.value.code == "invalid_credential"
    assert wallet.credentials() == []
    assert wallet.log.entries() == []
    events = [await node_issuer.event() for _ in range(4 if untrusted == "mdoc" else 3)]
    assert events[-1]["event"] == "credential"  # the peer did issue; the refusal is the wallet's own check
