"""Trust registry hot paths against raw ``cryptography`` in the same run.

* access-certificate validation (the free validation service, Art. 5a(8)(b)): the registry's cached
  ``ChainValidator`` for rp-access, per chain, vs one raw ECDSA P-256 verify;
* wallet-unit proof of possession check (parse + verify of the PoP JWT), vs one raw ECDSA verify;
* the wallet-unit status list token (262,144 entries, 2 bits, 1% revoked): build + sign, once.

Run: ``.venv/bin/python benchmarks/bench_trust.py``
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from portfeil.clock import FrozenClock
from portfeil.context import AppContext
from portfeil.db import Database
from portfeil.formats.jws import public_jwk, sign_compact
from portfeil.formats.status_list import StatusList, issue_status_list_jwt
from portfeil.pki.ca import create_root_ca, issue_leaf
from portfeil.pki.certs import cert_to_der
from portfeil.pki.chains import ChainValidator
from portfeil.pki.keys import generate_private_key
from portfeil.pki.keystore import MemoryKeyStore
from portfeil.pki.roles import Role
from portfeil.settings import Settings
from portfeil.trust.registry import TrustRegistry
from portfeil.trust.wallet_provider import POP_TYP

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def rate(fn: Callable[[], object], seconds: float = 1.5) -> float:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(50):
            fn()
        n += 50
    return n / (time.perf_counter() - start)


def main() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    data = b"x" * 200
    sig = key.sign(data, ec.ECDSA(hashes.SHA256()))
    pub = key.public_key()
    raw = rate(lambda: pub.verify(sig, data, ec.ECDSA(hashes.SHA256())))

    root = create_root_ca("rp-access", Role.RP_ACCESS, now=NOW)
    leaf = issue_leaf(root, "shop", generate_private_key().public_key(), Role.RP_ACCESS, now=NOW,
                      san_dns=["shop.example"])
    chain = [cert_to_der(leaf)]
    cached = ChainValidator([root.certificate], Role.RP_ACCESS)
    uncached = ChainValidator([root.certificate], Role.RP_ACCESS, cache_size=0)
    v_cached = rate(lambda: cached.validate(chain, now=NOW))
    v_uncached = rate(lambda: uncached.validate(chain, now=NOW))

    clock = FrozenClock(NOW)
    registry = TrustRegistry(
        AppContext(settings=Settings(public_url="http://bench"), db=Database("sqlite+aiosqlite:///:memory:"),
                   clock=clock),
        keystore=MemoryKeyStore(),
    )
    wkey = generate_private_key()
    pop = sign_compact({"aud": registry.wallet_provider_id, "nonce": "n" * 43, "iat": clock.timestamp()}, wkey,
                       typ=POP_TYP, header={"jwk": public_jwk(wkey.public_key())})
    v_pop = rate(lambda: registry.wallet_provider._check_proof(pop))

    sl = StatusList(1 << 18, 2)
    rnd = random.Random(1)
    for idx in rnd.sample(range(1 << 18), (1 << 18) // 100):
        sl.set(idx, 1)
    start = time.perf_counter()
    token = issue_status_list_jwt(sl, uri="http://bench/trust/status/wallet-units", key=wkey, now=NOW, ttl=300)
    build_ms = (time.perf_counter() - start) * 1000

    print(f"raw ECDSA P-256 verify                 {raw:10,.0f}/s   1.00x")
    print(f"access cert validation, cached path    {v_cached:10,.0f}/s   {v_cached / raw:.2f}x")
    print(f"access cert validation, full path      {v_uncached:10,.0f}/s   {v_uncached / raw:.2f}x")
    print(f"wallet PoP check (parse + verify)      {v_pop:10,.0f}/s   {v_pop / raw:.2f}x")
    print(f"status list token, 262,144 x 2 bits, 1% revoked: {build_ms:.1f} ms, {len(token):,} characters")


if __name__ == "__main__":
    main()
