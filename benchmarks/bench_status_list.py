"""Token Status List at national scale: 10 million entries.

Measures, in one run on one core:
  * build      - an all-VALID list of N entries, then a revocation rate applied at random indices (set())
  * issue      - compress (ZLIB level 9) + base64url + sign as statuslist+jwt / statuslist+cwt
  * parse      - verify signature + claims, base64url-decode, decompress (with the size cap), then 1,000 lookups
  * baseline   - raw zlib.compress(level 9) / zlib.decompress of the very same byte array
  * allocator  - IndexAllocator.allocate() per second against raw HMAC-SHA-256 per second

Run: .venv/bin/python benchmarks/bench_status_list.py [N] [revocation_rate]
"""

from __future__ import annotations

import hashlib
import hmac
import random
import sys
import time
import zlib
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric import ec

from portfeil.formats.status_list import (
    INVALID,
    IndexAllocator,
    StatusList,
    issue_status_list_cwt,
    issue_status_list_jwt,
    verify_status_list_cwt,
    verify_status_list_jwt,
)

URI = "https://status.portfeil.example/lists/1"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def timed(fn, repeat: int = 3):  # type: ignore[no-untyped-def]
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def run(n: int, rate: float, bits: int) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    rng = random.Random(42)
    revoked = rng.sample(range(n), int(n * rate))

    def build() -> StatusList:
        sl = StatusList(n, bits=bits)
        sl.set_many(revoked, INVALID)
        return sl

    t_build, sl = timed(build, 1)
    raw = sl.to_bytes()
    t_zlib_c, compressed = timed(lambda: zlib.compress(raw, 9))
    t_zlib_d, _ = timed(lambda: zlib.decompress(compressed))
    t_jwt, jwt = timed(lambda: issue_status_list_jwt(sl, uri=URI, key=key, now=NOW, ttl=3600))
    t_cwt, cwt = timed(lambda: issue_status_list_cwt(sl, uri=URI, key=key, now=NOW, ttl=3600))
    pub = key.public_key()
    probes = rng.sample(range(n), 1000)

    def parse_jwt() -> int:
        tok = verify_status_list_jwt(jwt, uri=URI, now=NOW, key=pub, max_bytes=64 * 1024 * 1024)
        return sum(tok.status_of(i) for i in probes)

    def parse_cwt() -> int:
        tok = verify_status_list_cwt(cwt, uri=URI, now=NOW, key=pub, max_bytes=64 * 1024 * 1024)
        return sum(tok.status_of(i) for i in probes)

    t_pj, hits_j = timed(parse_jwt)
    t_pc, hits_c = timed(parse_cwt)
    assert hits_j == hits_c == sum(1 for i in probes if sl.get(i) == INVALID)

    print(f"\n== N = {n:,} entries, bits = {bits}, revoked {rate:.2%} ({len(revoked):,}) ==")
    print(f"byte array {len(raw) / 1e6:.2f} MB -> compressed {len(compressed) / 1e3:.1f} kB; "
          f"JWT {len(jwt) / 1e3:.1f} kB, CWT {len(cwt) / 1e3:.1f} kB")  # fmt: skip
    print(f"build (alloc + {len(revoked):,} set())      {t_build:7.3f} s")
    print(f"baseline zlib.compress(level 9)         {t_zlib_c:7.3f} s")
    print(f"issue statuslist+jwt (compress+sign)    {t_jwt:7.3f} s   ratio vs raw zlib {t_jwt / t_zlib_c:5.2f}x")
    print(f"issue statuslist+cwt (compress+sign)    {t_cwt:7.3f} s   ratio vs raw zlib {t_cwt / t_zlib_c:5.2f}x")
    print(f"build + issue jwt                       {t_build + t_jwt:7.3f} s")
    print(f"baseline zlib.decompress                {t_zlib_d:7.3f} s")
    print(f"parse+verify jwt + 1000 lookups         {t_pj:7.3f} s   ratio vs raw inflate {t_pj / t_zlib_d:5.2f}x")
    print(f"parse+verify cwt + 1000 lookups         {t_pc:7.3f} s   ratio vs raw inflate {t_pc / t_zlib_d:5.2f}x")


def bench_allocator(count: int = 100_000) -> None:
    alloc = IndexAllocator(10_000_000, key=b"k" * 32)
    t0 = time.perf_counter()
    for _ in range(count):
        alloc.allocate()
    t_alloc = time.perf_counter() - t0
    k = b"k" * 32
    t0 = time.perf_counter()
    for i in range(count):
        hmac.new(k, i.to_bytes(8, "big"), hashlib.sha256).digest()
    t_hmac = time.perf_counter() - t0
    print(f"\n== IndexAllocator over 10,000,000 entries ({count:,} allocations) ==")
    print(f"allocate()      {count / t_alloc:10,.0f} /s")
    print(f"raw HMAC-SHA256 {count / t_hmac:10,.0f} /s   (one allocation costs {t_alloc / t_hmac:.1f} HMACs)")


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 0.01
    run(n, rate, bits=1)
    run(n, rate, bits=2)
    bench_allocator()
