"""eID registry hot paths against raw cryptography baselines measured in the same run (one thread).

- authentication check (chain validation, cached, + ECDSA verify of the challenge signature) vs raw ES256 verify;
- OCSP response (parse request, sign response) vs raw ES256 sign;
- CRL of 10,000 revoked certificates: build + sign time;
- sector identifier derivation (HMAC-SHA256 + base32) vs raw HMAC-SHA256.

Run: ``.venv/bin/python benchmarks/bench_eid.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from portfeil.eid import sectors
from portfeil.eid.certificates import (
    OcspStatus,
    RevokedEntry,
    build_crl,
    build_eid_certificate,
    ocsp_response,
    parse_csr,
)
from portfeil.eid.holder import generate_key, make_csr
from portfeil.eid.registry import EidRegistry
from portfeil.pki.ca import create_intermediate_ca, create_root_ca
from portfeil.pki.chains import ChainValidator
from portfeil.pki.roles import Role

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def rate(fn: object, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()  # type: ignore[operator]
    return n / (time.perf_counter() - start)


def main() -> None:
    root = create_root_ca("r", Role.EID, now=NOW)
    issuing = create_intermediate_ca(root, "i", Role.EID, now=NOW)
    key = generate_key()
    leaf = build_eid_certificate(issuing, parse_csr(make_csr(key)), "A" * 26, now=NOW, crl_url="http://x/c",
                                 ocsp_url="http://x/o")
    chain = [leaf.public_bytes(Encoding.DER), issuing.certificate.public_bytes(Encoding.DER)]
    validator = ChainValidator([root.certificate], Role.EID)
    challenge = "c" * 43
    sig = key.sign(challenge.encode(), ec.ECDSA(hashes.SHA256()))
    pub = key.public_key()

    raw_verify = rate(lambda: pub.verify(sig, challenge.encode(), ec.ECDSA(hashes.SHA256())), 3000)

    def auth() -> None:
        cert = validator.validate(chain, now=NOW)
        EidRegistry._check_signature(cert, challenge, __import__("base64").urlsafe_b64encode(sig).decode())

    auth_rate = rate(auth, 3000)
    raw_sign = rate(lambda: issuing.key.sign(b"x" * 200, ec.ECDSA(hashes.SHA256())), 3000)
    req = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuing.certificate, hashes.SHA256()).build()
    req_der = req.public_bytes(Encoding.DER)
    ocsp_rate = rate(lambda: ocsp_response(issuing, req_der, lambda _n: OcspStatus("good"), now=NOW), 2000)
    entries = [RevokedEntry(i + 1, NOW - timedelta(days=1), "key_compromise") for i in range(10_000)]
    start = time.perf_counter()
    crl = build_crl(issuing, entries, number=1, now=NOW)
    crl_s = time.perf_counter() - start
    skey = b"k" * 32
    raw_hmac = rate(lambda: hmac.new(skey, b"portfeil-eid-sector|health|" + b"A" * 26, hashlib.sha256).digest(),
                    100_000)
    sector_rate = rate(lambda: sectors.derive(skey, "health", 1, "A" * 26), 100_000)
    print(f"raw ES256 verify            {raw_verify:10.0f}/s")
    print(f"eID authentication check    {auth_rate:10.0f}/s  ({auth_rate / raw_verify:.2f}x raw verify)")
    print(f"raw ES256 sign              {raw_sign:10.0f}/s")
    print(f"OCSP response               {ocsp_rate:10.0f}/s  ({ocsp_rate / raw_sign:.2f}x raw sign)")
    print(f"CRL, 10,000 entries         {crl_s:10.3f} s   ({len(crl.public_bytes(Encoding.DER)) / 1024:.0f} KiB)")
    print(f"raw HMAC-SHA256             {raw_hmac:10.0f}/s")
    print(f"sector identifier           {sector_rate:10.0f}/s  ({sector_rate / raw_hmac:.2f}x raw HMAC)")
    assert isinstance(crl, x509.CertificateRevocationList)


if __name__ == "__main__":
    main()
