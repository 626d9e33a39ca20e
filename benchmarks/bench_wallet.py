"""Wallet store: unlock cost (Argon2id, default parameters) and encrypted file writes/reads against a raw
``cryptography`` AES-256-GCM baseline measured in the same run.

    .venv/bin/python benchmarks/bench_wallet.py
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from portfeil.wallet.store import WalletStore

N = 300
DATA = secrets.token_bytes(4096)


def main() -> None:
    root = Path(tempfile.mkdtemp()) / "w"
    t0 = time.perf_counter()
    WalletStore.create(root, "benchmark passphrase")
    t1 = time.perf_counter()
    store = WalletStore.open(root, "benchmark passphrase")
    t2 = time.perf_counter()
    print(f"create (Argon2id t=3 m=64MiB p=4): {t1 - t0:.3f} s; unlock: {t2 - t1:.3f} s")

    aead = AESGCM(secrets.token_bytes(32))
    start = time.perf_counter()
    for i in range(N):
        nonce = os.urandom(12)
        ct = aead.encrypt(nonce, DATA, b"aad")
        aead.decrypt(nonce, ct, b"aad")
        p = root / f"raw-{i}"
        with open(p, "wb") as f:  # the baseline also writes with fsync, without temp file and rename
            f.write(ct)
            f.flush()
            os.fsync(f.fileno())
    raw = (time.perf_counter() - start) / N
    start = time.perf_counter()
    for i in range(N):
        store.write(f"bench-{i}", DATA)
        store.read(f"bench-{i}")
    ours = (time.perf_counter() - start) / N
    print(f"4 KiB file write+read: raw AESGCM+fsync {raw * 1e3:.3f} ms, wallet store {ours * 1e3:.3f} ms "
          f"(ratio {ours / raw:.2f}x: atomic rename, directory fsync, base64)")


if __name__ == "__main__":
    main()
