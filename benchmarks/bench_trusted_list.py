"""Trusted lists: parse and verify time of the REAL Bulgarian list and EU LOTL (tests/fixtures).

Baselines measured in the same run: a bare lxml parse of the same bytes, and the raw cryptographic work of the
signature (exclusive C14N of the list, SHA-512 of it, one RSA signature verification with ``cryptography``).
Run: ``.venv/bin/python benchmarks/bench_trusted_list.py``
"""

from __future__ import annotations

import base64
import hashlib
import re
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from portfeil.formats.trusted_list import parse_trusted_list, verify_trusted_list

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
NOW = datetime(2026, 8, 10, 12, 0, tzinfo=UTC)
DS = "{http://www.w3.org/2000/09/xmldsig#}"


def best_ms(fn: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1000


def raw_crypto(xml: bytes, cert: x509.Certificate) -> Callable[[], None]:
    """What any verifier must at least do: C14N the list without its signature, hash it, verify one signature."""
    root = etree.fromstring(xml)
    sig = root.find(f"{DS}Signature")
    assert sig is not None
    si = sig.find(f"{DS}SignedInfo")
    assert si is not None
    signed_info = etree.tostring(si, method="c14n", exclusive=True)
    signature = base64.b64decode("".join((sig.findtext(f"{DS}SignatureValue") or "").split()))
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)

    def run() -> None:
        r = etree.fromstring(xml)
        r.remove(r.find(f"{DS}Signature"))  # type: ignore[arg-type]
        hashlib.sha512(etree.tostring(r, method="c14n", exclusive=True)).digest()
        key.verify(signature, signed_info, padding.PKCS1v15(), hashes.SHA512())

    return run


def main() -> None:
    print(f"{'list':11} {'size':>8} {'lxml':>8} {'raw':>8} {'parse':>8} {'verify':>8} {'verify/raw':>10}")
    for name in ("TSL_BG.xml", "eu-lotl.xml"):
        xml = (FIXTURES / name).read_bytes()
        m = re.search(rb"<ds:KeyInfo><ds:X509Data><ds:X509Certificate>([^<]+)<", xml)
        assert m is not None
        cert = x509.load_der_x509_certificate(base64.b64decode(m.group(1)))
        verify_trusted_list(xml, cert, now=NOW)  # warm up + sanity
        lxml_ms = best_ms(lambda xml=xml: etree.fromstring(xml), 20)  # type: ignore[misc]
        raw_ms = best_ms(raw_crypto(xml, cert), 10)
        parse_ms = best_ms(lambda xml=xml: parse_trusted_list(xml), 10)  # type: ignore[misc]
        verify_ms = best_ms(lambda xml=xml, cert=cert: verify_trusted_list(xml, cert, now=NOW), 10)  # type: ignore[misc]
        print(
            f"{name:11} {len(xml) // 1024:>6}KB {lxml_ms:>6.1f}ms {raw_ms:>6.1f}ms {parse_ms:>6.1f}ms "
            f"{verify_ms:>6.1f}ms {verify_ms / raw_ms:>9.1f}x"
        )


if __name__ == "__main__":
    main()
