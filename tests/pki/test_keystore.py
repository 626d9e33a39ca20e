"""The file keystore: encryption at rest, atomic writes, permissions, name validation."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from portfeil.pki.ca import create_root_ca
from portfeil.pki.errors import PKIError
from portfeil.pki.keys import generate_private_key, private_jwk
from portfeil.pki.keystore import FileKeyStore, KeyStore, MemoryKeyStore
from portfeil.pki.roles import Role

from .conftest import NOW


@pytest.fixture
def store(tmp_path: Path) -> FileKeyStore:
    return FileKeyStore(tmp_path / "keys", b"correct horse battery staple")


@pytest.mark.parametrize("alg", ["ES256", "ES384", "EdDSA"])
def test_round_trip(store: FileKeyStore, alg: str, tmp_path: Path) -> None:
    key = generate_private_key(alg)
    store.put_key("issuer-signing", key)
    fresh = FileKeyStore(tmp_path / "keys", b"correct horse battery staple")
    assert private_jwk(fresh.get_key("issuer-signing")) == private_jwk(key)  # type: ignore[arg-type]
    assert fresh.names() == ["issuer-signing"]


def test_key_file_is_encrypted_and_private(store: FileKeyStore) -> None:
    key = generate_private_key("ES256")
    store.put_key("k1", key)
    path = store.directory / "k1.key.pem"
    data = path.read_bytes()
    assert b"BEGIN ENCRYPTED PRIVATE KEY" in data
    assert private_jwk(key)["d"].encode() not in data
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700


def test_rejects_wrong_passphrase(store: FileKeyStore) -> None:
    store.put_key("k1", generate_private_key())
    other = FileKeyStore(store.directory, b"wrong")
    with pytest.raises(PKIError) as err:
        other.get_key("k1")
    assert err.value.code == "keystore_locked"
    with pytest.raises(PKIError, match="keystore_locked"):
        other.get_or_create_key("k1")  # never silently replaces a key it cannot read


def test_rejects_empty_passphrase(tmp_path: Path) -> None:
    with pytest.raises(PKIError, match="keystore_passphrase_required"):
        FileKeyStore(tmp_path, b"")


@pytest.mark.parametrize(
    "name", ["../evil", "a/b", "..", ".hidden", "", "a\x00b", "x" * 129, "a..b", "/abs", "é", "name\n"]
)
def test_rejects_path_traversal_names(store: FileKeyStore, name: str) -> None:
    with pytest.raises(PKIError) as err:
        store.put_key(name, generate_private_key())
    assert err.value.code == "invalid_key_name"
    with pytest.raises(PKIError, match="invalid_key_name"):
        store.get_key(name)
    with pytest.raises(PKIError, match="invalid_key_name"):
        store.get_certificates(name)
    assert list(store.directory.parent.glob("evil*")) == []


def test_get_or_create_is_stable(store: FileKeyStore, tmp_path: Path) -> None:
    a = store.get_or_create_key("wallet-provider", "ES384")
    b = store.get_or_create_key("wallet-provider")
    assert private_jwk(a) == private_jwk(b)
    other_process = FileKeyStore(tmp_path / "keys", b"correct horse battery staple")
    assert private_jwk(other_process.get_or_create_key("wallet-provider")) == private_jwk(a)


def test_get_or_create_never_overwrites_a_concurrent_creation(tmp_path: Path) -> None:
    """Two stores (two processes) racing: the second sees the file and adopts the first key."""
    s1 = FileKeyStore(tmp_path / "k", b"pw")
    s2 = FileKeyStore(tmp_path / "k", b"pw")
    assert s2.get_key("x") is None
    k1 = s1.get_or_create_key("x")
    assert private_jwk(s2.get_or_create_key("x")) == private_jwk(k1)


def test_atomic_write_leaves_no_partial_file(store: FileKeyStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash between writing the temporary file and the rename keeps the old key whole and leaves no debris."""
    old = generate_private_key()
    store.put_key("k1", old)
    before = (store.directory / "k1.key.pem").read_bytes()

    def crash(src: str, dst: str) -> None:
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        store.put_key("k1", generate_private_key())
    with pytest.raises(OSError, match="simulated crash"):
        store.put_key("k2", generate_private_key())
    monkeypatch.undo()
    assert (store.directory / "k1.key.pem").read_bytes() == before
    assert not (store.directory / "k2.key.pem").exists()
    assert sorted(p.name for p in store.directory.iterdir()) == ["k1.key.pem"]
    fresh = FileKeyStore(store.directory, b"correct horse battery staple")
    assert private_jwk(fresh.get_key("k1")) == private_jwk(old)  # type: ignore[arg-type]


def test_atomic_write_crash_during_write(store: FileKeyStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        store.put_key("k3", generate_private_key())
    monkeypatch.undo()
    assert list(store.directory.iterdir()) == []


def test_certificates(store: FileKeyStore) -> None:
    root = create_root_ca("r", Role.PID_PROVIDER, now=NOW)
    other = create_root_ca("o", Role.EID, now=NOW)
    assert store.get_certificates("pid") == []
    store.put_certificates("pid", [root.certificate, other.certificate])
    assert store.get_certificates("pid") == [root.certificate, other.certificate]
    assert store.names() == ["pid"]
    assert stat.S_IMODE((store.directory / "pid.certs.pem").stat().st_mode) == 0o600


def test_corrupt_certificate_file(store: FileKeyStore) -> None:
    (store.directory / "pid.certs.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    with pytest.raises(PKIError, match="keystore_corrupt"):
        store.get_certificates("pid")


def test_protocol_conformance(store: FileKeyStore) -> None:
    assert isinstance(store, KeyStore)
    mem = MemoryKeyStore()
    assert isinstance(mem, KeyStore)
    k = mem.get_or_create_key("a", "EdDSA")
    assert mem.get_or_create_key("a") is k
    assert mem.names() == ["a"]
    with pytest.raises(PKIError, match="invalid_key_name"):
        mem.put_key("../x", k)


def _create_in_child(directory: str, queue: object) -> None:
    store = FileKeyStore(Path(directory), b"pw")
    queue.put(private_jwk(store.get_or_create_key("shared"))["d"])  # type: ignore[attr-defined]


def test_get_or_create_across_processes(tmp_path: Path) -> None:
    """Four processes race to create one key: all end up with the same key (exclusive hard-link creation)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_create_in_child, args=(str(tmp_path / "k"), queue)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    results = {queue.get(timeout=5) for _ in procs}
    assert len(results) == 1
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == ["shared.key.pem"]


def test_rotated_key_is_reloaded(store: FileKeyStore, tmp_path: Path) -> None:
    first = store.get_or_create_key("rot")
    other_process = FileKeyStore(store.directory, b"correct horse battery staple")
    second = generate_private_key()
    other_process.put_key("rot", second)
    assert private_jwk(store.get_key("rot")) == private_jwk(second)  # type: ignore[arg-type]
    assert private_jwk(first) != private_jwk(second)
