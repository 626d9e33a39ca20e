"""PKI hot paths against the raw ``cryptography`` ES256 verify baseline, measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_pki.py`` (single thread). Prints operations per second and the ratio to
one raw ES256 signature verification (``cryptography`` ECDSA-P256-SHA256, DER signature, no parsing).

- ``keys.verify ES256``: portfeil's JOSE verify (r||s -> DER conversion, alg/key checks) on the same data.
- ``ChainValidator uncached``: parse 2 DER certificates + path building to the anchor with cryptography's
  verifier and the role profile checks (leaf + 1 intermediate, cache disabled).
- ``ChainValidator cached (fresh bytes)``: a cache hit where each request carries freshly received bytes
  objects with the same content (hashing of the DER is included), plus the validity-window check.
- ``ChainValidator cached (same objects)``: a cache hit with the very same bytes objects (hash already cached).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from portfeil.pki.ca import cert_to_der, create_intermediate_ca, create_root_ca, issue_leaf
from portfeil.pki.chains import ChainValidator
from portfeil.pki.keys import generate_private_key, sign, verify
from portfeil.pki.roles import Role

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def rate(fn: Callable[[int], None], seconds: float = 1.5) -> float:
    """Operations per second of ``fn(i)`` over about ``seconds`` (after a short warm-up)."""
    for i in range(50):
        fn(i)
    n, start = 0, time.perf_counter()
    batch = 200
    while time.perf_counter() - start < seconds:
        for i in range(n, n + batch):
            fn(i)
        n += batch
    return n / (time.perf_counter() - start)


def main() -> None:
    data = b"header.payload" * 20
    raw_key = ec.generate_private_key(ec.SECP256R1())
    raw_pub = raw_key.public_key()
    der_sig = raw_key.sign(data, ec.ECDSA(hashes.SHA256()))
    algo = ec.ECDSA(hashes.SHA256())

    def raw_verify(_: int) -> None:
        raw_pub.verify(der_sig, data, algo)

    key = generate_private_key("ES256")
    jose_sig = sign(key, "ES256", data)
    pub = key.public_key()

    def our_verify(_: int) -> None:
        verify(pub, "ES256", jose_sig, data)

    root = create_root_ca("Bench root", Role.PID_PROVIDER, now=NOW)
    inter = create_intermediate_ca(root, "Bench CA", Role.PID_PROVIDER, now=NOW)
    leaf = issue_leaf(inter, "Bench issuer", generate_private_key().public_key(), Role.PID_PROVIDER, now=NOW,
                      san_uris=["https://issuer.example.bg"])
    chain = [cert_to_der(c) for c in inter.chain_for(leaf)]

    uncached = ChainValidator([root.certificate], Role.PID_PROVIDER, cache_size=0)
    cached = ChainValidator([root.certificate], Role.PID_PROVIDER)
    cached.validate(chain, now=NOW)

    def validate_uncached(_: int) -> None:
        uncached.validate(chain, now=NOW)

    fresh = [[bytes(bytearray(d)) for d in chain] for _ in range(60_000)]

    def cached_fresh_rate() -> float:
        """Each prepared copy is used exactly once, so every request pays for hashing its DER bytes."""
        start = time.perf_counter()
        for copy in fresh:
            cached.validate(copy, now=NOW)
        return len(fresh) / (time.perf_counter() - start)

    def validate_cached_same(_: int) -> None:
        cached.validate(chain, now=NOW)

    baseline = rate(raw_verify)
    rows = [
        ("raw cryptography ES256 verify (baseline)", baseline),
        ("portfeil keys.verify ES256", rate(our_verify)),
        ("ChainValidator uncached (leaf + 1 intermediate)", rate(validate_uncached)),
        ("ChainValidator cached, fresh bytes per request", cached_fresh_rate()),
        ("ChainValidator cached, same bytes objects", rate(validate_cached_same)),
    ]
    print(f"{'operation':52} {'ops/s':>12} {'x raw ES256 verify':>20}")
    for label, ops in rows:
        print(f"{label:52} {ops:12,.0f} {ops / baseline:20.2f}")


if __name__ == "__main__":
    main()
