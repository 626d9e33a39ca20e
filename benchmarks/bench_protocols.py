"""Protocol-layer hot paths against raw ``cryptography`` baselines measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_protocols.py`` (single thread). Prints operations per second and the
ratio to the baseline: one raw ES256 verify (``cryptography`` ECDSA P-256 SHA-256, DER signature, no parsing)
for the signature checks, one raw ECDH P-256 exchange for the JWE decryption.

- ``DPoP verify``: RFC 9449 §4.3 checks (1 signature, JWK import, thumbprint, htu normalisation, jti callback).
- ``OpenID4VCI proof verify``: one JWT proof (1 signature) incl. request validation and nonce callback.
- ``client attestation + PoP``: 2 signatures + cached x5c chain validation.
- ``OpenID4VP request object (wallet)``: 1 signature + cached x5c chain + x509_san_dns checks.
- ``direct_post.jwt response decrypt``: ECDH-ES + A128GCM (joserfc) + JSON + vp_token checks.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from portfeil.pki.ca import create_root_ca, issue_leaf
from portfeil.pki.chains import ChainValidator
from portfeil.pki.keys import generate_private_key, public_jwk
from portfeil.pki.roles import Role
from portfeil.protocols import jwe, oid4vci, oid4vp
from portfeil.protocols.client_attestation import (
    create_client_attestation,
    create_client_attestation_pop,
    verify_client_attestation,
)
from portfeil.protocols.dpop import create_dpop_proof, verify_dpop_proof

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CA_TIME = datetime(2026, 1, 1, tzinfo=UTC)


def rate(fn: Callable[[int], object], seconds: float = 1.5) -> float:
    for i in range(30):
        fn(i)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for i in range(n, n + 100):
            fn(i)
        n += 100
    return n / (time.perf_counter() - start)


def main() -> None:
    counter = itertools.count()
    never_seen: Callable[[str], bool] = lambda _jti: False  # noqa: E731
    key = generate_private_key("ES256")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    data = b"x" * 200
    der_sig = key.sign(data, ec.ECDSA(hashes.SHA256()))
    pub = key.public_key()
    raw_verify = rate(lambda _i: pub.verify(der_sig, data, ec.ECDSA(hashes.SHA256())))
    peer = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw_ecdh = rate(lambda _i: key.exchange(ec.ECDH(), peer))

    dpop = create_dpop_proof(key, htm="POST", htu="https://issuer.example.bg/token", now=NOW)
    dpop_rate = rate(lambda _i: verify_dpop_proof(dpop, htm="POST", htu="https://issuer.example.bg/token", now=NOW,
                                                  seen=never_seen))

    proof = oid4vci.create_proof_jwt(key, audience="https://issuer.example.bg", now=NOW, nonce="n")
    body = {"credential_configuration_id": "pid", "proofs": {"jwt": [proof]}}

    def vci(_i: int) -> object:
        req = oid4vci.validate_credential_request(body, known_configuration_ids={"pid"})
        return oid4vci.verify_proofs(req, credential_issuer="https://issuer.example.bg", now=NOW,
                                     consume_nonce=lambda n: True)

    vci_rate = rate(vci)

    wp_root = create_root_ca("WP CA", Role.WALLET_PROVIDER, now=CA_TIME)
    wp_key = generate_private_key("ES256")
    wp_leaf = issue_leaf(wp_root, "WP", wp_key.public_key(), Role.WALLET_PROVIDER, now=CA_TIME, validity_days=700)
    wp_trust = ChainValidator([wp_root.certificate], Role.WALLET_PROVIDER)
    att = create_client_attestation(wp_key, issuer="https://wp", client_id="w", instance_jwk=public_jwk(key), now=NOW,
                                    x5c=[wp_leaf])
    pop = create_client_attestation_pop(key, client_id="w", audience="https://as", now=NOW)
    ca_rate = rate(lambda _i: verify_client_attestation(att, pop, trust=wp_trust, audience="https://as", now=NOW,
                                                        seen=never_seen))

    rp_root = create_root_ca("RP CA", Role.RP_ACCESS, now=CA_TIME)
    rp_key = generate_private_key("ES256")
    rp_leaf = issue_leaf(rp_root, "RP", rp_key.public_key(), Role.RP_ACCESS, now=CA_TIME, validity_days=700,
                         san_dns=["verifier.example.bg"])
    rp_trust = ChainValidator([rp_root.certificate], Role.RP_ACCESS)
    enc = jwe.generate_encryption_key()
    dcql = {"credentials": [{"id": "pid", "format": "dc+sd-jwt"}]}
    ro = oid4vp.build_request_object(rp_key, [rp_leaf], client_id="x509_san_dns:verifier.example.bg",
                                     response_uri="https://verifier.example.bg/r", nonce="n", state="s",
                                     dcql_query=dcql, now=NOW, client_metadata=oid4vp.build_client_metadata(enc.jwk))
    ro_rate = rate(lambda _i: oid4vp.verify_request_object(ro, trust=rp_trust, now=NOW))

    req = oid4vp.verify_request_object(ro, trust=rp_trust, now=NOW)
    form = oid4vp.build_authorization_response(req, {"pid": ["eyJ" + "a" * 1500]})
    resp_rate = rate(lambda _i: oid4vp.parse_authorization_response(
        form, response_mode="direct_post.jwt", expected_state="s", decryption_key=enc))
    next(counter)

    rows = [
        ("raw ES256 verify (baseline)", raw_verify, raw_verify),
        ("DPoP verify", dpop_rate, raw_verify),
        ("OpenID4VCI request + proof verify", vci_rate, raw_verify),
        ("client attestation + PoP (2 sigs, cached chain)", ca_rate, raw_verify),
        ("OpenID4VP request object (wallet)", ro_rate, raw_verify),
        ("raw ECDH P-256 (baseline)", raw_ecdh, raw_ecdh),
        ("direct_post.jwt response decrypt", resp_rate, raw_ecdh),
    ]
    print(f"{'operation':52} {'ops/s':>10} {'x baseline':>11}")
    for name, value, base in rows:
        print(f"{name:52} {value:10.0f} {value / base:11.2f}")
    print(json.dumps({name: round(value) for name, value, _ in rows}))


if __name__ == "__main__":
    main()
