"""Interop: Token Status List JWTs both ways with the independent @sd-jwt/jwt-status-list 0.19.0 (+ jose 6).

* ours -> peer: we build and sign (ES256) lists of 1, 2, 4 and 8 bits; the peer verifies the signature with
  ``typ`` ``statuslist+jwt``, decompresses with its own code and reads the same statuses at the same indexes.
* peer -> ours: the peer builds, compresses and signs; we verify and read the statuses it set.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from portfeil.formats.jws import public_jwk, public_key_from_jwk
from portfeil.formats.status_list import StatusList, issue_status_list_jwt, verify_status_list_jwt

pytestmark = pytest.mark.interop

NODE_DIR = Path(__file__).parent / "node"
HELPER = NODE_DIR / "status_list_peer.mjs"
URI = "https://status.portfeil.example/lists/7"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SIZE = 4096


def _run(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node runtime missing: install Node 20 to run status list interop")
    if not (NODE_DIR / "node_modules" / "@sd-jwt" / "jwt-status-list" / "package.json").exists():
        pytest.skip("node runtime missing: @sd-jwt/jwt-status-list not installed in tests/interop/node (npm install)")
    proc = subprocess.run(
        [node, str(HELPER)],
        input=json.dumps({"jobs": jobs}),
        capture_output=True,
        text=True,
        cwd=NODE_DIR,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results: list[dict[str, Any]] = json.loads(proc.stdout)["results"]
    for r in results:
        assert "error" not in r, r["error"]
    return results


def _random_statuses(bits: int, seed: int) -> dict[int, int]:
    rng = random.Random(seed)
    return {i: rng.randrange(1, 1 << bits) for i in rng.sample(range(SIZE), 200)}


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_peer_reads_our_status_list_jwt(bits: int) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    statuses = _random_statuses(bits, seed=bits)
    sl = StatusList(SIZE, bits=bits)
    for idx, value in statuses.items():
        sl.set(idx, value)
    token = issue_status_list_jwt(sl, uri=URI, key=key, now=NOW, exp=int(NOW.timestamp()) + 86400, ttl=3600)
    probe = sorted(statuses)[:100] + [i for i in range(0, SIZE, 97) if i not in statuses]
    [result] = _run([{"mode": "read", "jwt": token, "jwk": public_jwk(key.public_key()), "indices": probe}])
    assert result["typ"] == "statuslist+jwt"
    assert result["sub"] == URI
    assert result["bits"] == bits
    assert result["statuses"] == [sl.get(i) for i in probe]
    assert any(result["statuses"])  # the probe includes revoked entries


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_we_read_the_peers_status_list_jwt(bits: int) -> None:
    statuses = _random_statuses(bits, seed=100 + bits)
    ts = int(NOW.timestamp())
    [issued] = _run(
        [
            {
                "mode": "issue",
                "bits": bits,
                "size": SIZE,
                "set": sorted(statuses.items()),
                "uri": URI,
                "iat": ts,
                "exp": ts + 86400,
                "ttl": 43200,
            }
        ]
    )
    verified = verify_status_list_jwt(issued["jwt"], uri=URI, now=NOW, key=public_key_from_jwk(issued["jwk"]))
    assert verified.bits == bits
    assert verified.ttl == 43200
    assert verified.status_list.size >= SIZE
    for idx in range(SIZE):
        assert verified.status_of(idx) == statuses.get(idx, 0), idx


def test_peer_rejects_our_token_under_another_key() -> None:
    """The peer side really verifies: a token checked against the wrong key fails there too."""
    key = ec.generate_private_key(ec.SECP256R1())
    other = ec.generate_private_key(ec.SECP256R1())
    token = issue_status_list_jwt(StatusList(16), uri=URI, key=key, now=NOW)
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "@sd-jwt" / "jwt-status-list").exists():
        pytest.skip("node runtime missing: @sd-jwt/jwt-status-list not installed")
    proc = subprocess.run(
        [node, str(HELPER)],
        input=json.dumps(
            {"jobs": [{"mode": "read", "jwt": token, "jwk": public_jwk(other.public_key()), "indices": [0]}]}
        ),
        capture_output=True,
        text=True,
        cwd=NODE_DIR,
        timeout=60,
        check=False,
    )
    [result] = json.loads(proc.stdout)["results"]
    assert "error" in result
