"""SD-JWT VC interop, both directions, with @sd-jwt/sd-jwt-vc 0.19.0 (+ @sd-jwt/crypto-nodejs) under node.

* portfeil issues and presents (with a KB-JWT) -> the node library verifies (x5c chain, iss/SAN, KB-JWT);
* the node library issues and presents -> portfeil verifies it (verify_sd_jwt_vc with a ChainValidator).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from portfeil.formats import FormatError, jws, sdjwt
from portfeil.pki.ca import create_intermediate_ca, create_root_ca, issue_leaf
from portfeil.pki.chains import ChainValidator
from portfeil.pki.roles import Role

pytestmark = pytest.mark.interop

NODE_DIR = Path(__file__).parent / "node"
PEER = NODE_DIR / "sdjwt_peer.mjs"
NOW = datetime.now(UTC).replace(microsecond=0)  # the node library reads the wall clock for the KB-JWT check
ISS = "https://pid.portfeil.bg"
AUD = "x509_san_dns:verifier.example.bg"
NONCE = "interop-nonce-7f3a"
CLAIMS = {
    "given_name": "Иван",
    "family_name": "Петров",
    "birthdate": "1985-06-25",
    "address": {"locality": "София", "postal_code": "1000", "country": "BG"},
    "nationalities": ["BG", "DE"],
    "personal_administrative_number": "8506258485",
}


def _node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node runtime missing: install Node 20 to run the SD-JWT VC interop tests")
    if not (NODE_DIR / "node_modules" / "@sd-jwt" / "sd-jwt-vc").is_dir():
        pytest.skip("node runtime missing: run `npm ci` in tests/interop/node (no @sd-jwt/sd-jwt-vc)")
    return node


def peer(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    node = _node_or_skip()
    proc = subprocess.run([node, str(PEER)], input=json.dumps(ops), capture_output=True, text=True,
                          cwd=NODE_DIR, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    out: list[dict[str, Any]] = json.loads(proc.stdout)
    return out


def private_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    d = key.private_numbers().private_value.to_bytes(32, "big")
    return {**jws.public_jwk(key), "d": base64.urlsafe_b64encode(d).rstrip(b"=").decode()}


class Pki:
    def __init__(self) -> None:
        self.root = create_root_ca("Interop PID Root", Role.PID_PROVIDER, now=NOW - timedelta(days=10))
        self.ca = create_intermediate_ca(self.root, "Interop PID CA", Role.PID_PROVIDER, now=NOW - timedelta(days=10))
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.leaf = issue_leaf(self.ca, "Interop PID issuer", self.key.public_key(), Role.PID_PROVIDER,
                               now=NOW - timedelta(days=1), san_uris=[ISS])
        self.chain = self.ca.chain_for(self.leaf)
        self.trust = ChainValidator([self.root.certificate], Role.PID_PROVIDER)
        self.root_b64 = base64.b64encode(self.root.certificate.public_bytes(Encoding.DER)).decode()
        self.x5c = [base64.b64encode(c.public_bytes(Encoding.DER)).decode() for c in self.chain]


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki()


@pytest.fixture(scope="module")
def holder() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def test_portfeil_issued_presentation_verifies_in_node(pki: Pki, holder: ec.EllipticCurvePrivateKey) -> None:
    token = sdjwt.issue_sd_jwt_vc(CLAIMS, issuer_key=pki.key, issuer_chain=pki.chain, vct="urn:eudi:pid:1",
                                  iss=ISS, holder_jwk=jws.public_jwk(holder), now=NOW - timedelta(minutes=5),
                                  expires_in=timedelta(days=30), decoys=2)
    pres = sdjwt.present(token, [("given_name",), ("address", "locality"), ("nationalities", 1)],
                         holder_key=holder, aud=AUD, nonce=NONCE, now=NOW)
    tampered = pres.replace("~", "~" + sdjwt.make_disclosure("family_name", "X").encoded + "~", 1)
    res = peer([
        {"op": "verify", "presentation": pres, "rootDerB64": pki.root_b64, "aud": AUD, "nonce": NONCE,
         "currentDate": int(NOW.timestamp())},
        {"op": "verify", "presentation": pres, "rootDerB64": pki.root_b64, "aud": AUD, "nonce": "other",
         "currentDate": int(NOW.timestamp())},
        {"op": "verify", "presentation": tampered, "rootDerB64": pki.root_b64, "aud": AUD, "nonce": NONCE,
         "currentDate": int(NOW.timestamp())},
    ])
    good, wrong_nonce, bad_hash = res
    assert good["ok"], good
    claims = good["claims"]
    assert claims["given_name"] == "Иван"
    assert claims["address"] == {"locality": "София"}
    assert claims["nationalities"] == ["DE"]
    assert "family_name" not in claims
    assert claims["vct"] == "urn:eudi:pid:1"
    assert claims["iss"] == ISS
    assert good["header"]["typ"] == "dc+sd-jwt"
    assert not wrong_nonce["ok"]  # the peer is a real check, not a rubber stamp
    assert not bad_hash["ok"]


def test_node_issued_presentation_verifies_in_portfeil(pki: Pki, holder: ec.EllipticCurvePrivateKey) -> None:
    frame = {
        "_sd": ["given_name", "family_name", "birthdate", "address", "nationalities",
                "personal_administrative_number"],
        "address": {"_sd": ["locality", "postal_code", "country"]},
        "nationalities": {"_sd": [0, 1]},
    }
    (issued,) = peer([{"op": "issue", "claims": CLAIMS, "frame": frame, "issuerPrivateJwk": private_jwk(pki.key),
                       "x5c": pki.x5c, "holderPublicJwk": jws.public_jwk(holder), "iss": ISS, "vct": "urn:eudi:pid:1",
                       "iat": int(NOW.timestamp()) - 60, "exp": int(NOW.timestamp()) + 86400}])
    assert "sdjwt" in issued, issued
    presentation_frame = {"family_name": True, "address": {"postal_code": True}, "nationalities": {"0": True}}
    (presented,) = peer([{"op": "present", "sdjwt": issued["sdjwt"], "frame": presentation_frame,
                          "holderPrivateJwk": private_jwk(holder), "aud": AUD, "nonce": NONCE,
                          "iat": int(NOW.timestamp())}])
    assert "presentation" in presented, presented

    # the wallet side: the node-issued credential verifies without a KB-JWT
    wallet = sdjwt.verify_sd_jwt_vc(issued["sdjwt"], trust=pki.trust, now=NOW, require_key_binding=False)
    assert wallet.claims["address"] == CLAIMS["address"]
    assert wallet.claims["nationalities"] == ["BG", "DE"]

    # the verifier side, with the KB-JWT made by the node library
    out = sdjwt.verify_sd_jwt_vc(presented["presentation"], trust=pki.trust, now=NOW, aud=AUD, nonce=NONCE)
    assert out.claims["family_name"] == "Петров"
    assert out.claims["address"] == {"postal_code": "1000"}
    assert out.claims["nationalities"] == ["BG"]
    assert "given_name" not in out.claims
    assert out.vct == "urn:eudi:pid:1"
    assert out.iss == ISS
    assert out.leaf == pki.leaf
    assert out.key_binding is not None
    assert out.key_binding.nonce == NONCE

    # and portfeil's checks still bite on the peer's output
    with pytest.raises(FormatError) as err:
        sdjwt.verify_sd_jwt_vc(presented["presentation"], trust=pki.trust, now=NOW, aud=AUD, nonce="other")
    assert err.value.code == "kb_nonce_mismatch"


def test_portfeil_presents_node_issued_credential(pki: Pki, holder: ec.EllipticCurvePrivateKey) -> None:
    """Holder round trip: node issues, portfeil's wallet presents, both verifiers accept."""
    frame = {"_sd": ["given_name", "family_name", "address"], "address": {"_sd": ["locality", "country"]}}
    (issued,) = peer([{"op": "issue", "claims": CLAIMS, "frame": frame, "issuerPrivateJwk": private_jwk(pki.key),
                       "x5c": pki.x5c, "holderPublicJwk": jws.public_jwk(holder), "iss": ISS, "vct": "urn:eudi:pid:1",
                       "iat": int(NOW.timestamp()) - 60, "exp": int(NOW.timestamp()) + 86400}])
    pres = sdjwt.present(issued["sdjwt"], [("address", "country")], holder_key=holder, aud=AUD, nonce=NONCE, now=NOW)
    ours = sdjwt.verify_sd_jwt_vc(pres, trust=pki.trust, now=NOW, aud=AUD, nonce=NONCE)
    assert ours.claims["address"] == {"country": "BG", "postal_code": "1000"}  # postal_code was not SD
    (theirs,) = peer([{"op": "verify", "presentation": pres, "rootDerB64": pki.root_b64, "aud": AUD, "nonce": NONCE,
                       "currentDate": int(NOW.timestamp())}])
    assert theirs["ok"], theirs
    assert theirs["claims"]["address"] == {"country": "BG", "postal_code": "1000"}
