"""The encrypted store: no personal data in any file, wrong passphrase refused, tampering detected, atomic writes."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import cbor2
import pytest

from portfeil.wallet.errors import WalletError
from portfeil.wallet.receive import accept_offer
from portfeil.wallet.store import WalletStore, atomic_write
from tests.wallet.conftest import FAST_KDF, IVAN, PASS, Env


def _encodings(text: str) -> list[bytes]:
    out = []
    for enc in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le"):
        raw = text.encode(enc)
        out += [raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw).rstrip(b"="), raw.hex().encode()]
    out.append(cbor2.dumps(text))
    out.append(text.encode("unicode_escape"))
    return out


async def test_no_personal_data_in_any_file(env: Env) -> None:
    uri, tx = await env.offer(["pid_sd_jwt", "pid_mdoc"])
    await accept_offer(env.wallet, uri, tx_code=tx)
    rec = next(r for r in env.wallet.credentials() if r["format"] == "dc+sd-jwt")
    family, given, birth = rec["claims"]["family_name"], rec["claims"]["given_name"], rec["claims"]["birthdate"]
    assert rec["claims"]["personal_administrative_number"] == IVAN
    secrets_ = [family, given, birth, IVAN, birth.replace("-", ""), family.upper()]
    files = [p for p in env.wallet_dir.rglob("*") if p.is_file()]
    assert len(files) >= 5
    for path in files:
        data = path.read_bytes()
        for s in secrets_:
            for needle in _encodings(s):
                assert needle not in data, f"{path.name} leaks personal data"
    # mdoc full-date (CBOR tag 1004) and the date as days
    import datetime as dt

    d = dt.date.fromisoformat(birth)
    for path in files:
        assert cbor2.dumps(cbor2.CBORTag(1004, birth)) not in path.read_bytes()
        assert cbor2.dumps(d) not in path.read_bytes()


def test_rejects_wrong_passphrase(tmp_path: Path) -> None:
    WalletStore.create(tmp_path / "w", PASS, kdf=FAST_KDF)
    with pytest.raises(WalletError) as exc:
        WalletStore.open(tmp_path / "w", "wrong")
    assert exc.value.code == "wrong_passphrase"
    assert WalletStore.open(tmp_path / "w", PASS).wallet_id


def test_rejects_tampered_and_swapped_files(tmp_path: Path) -> None:
    store = WalletStore.create(tmp_path / "w", PASS, kdf=FAST_KDF)
    store.write("a", b"alpha")
    store.write("b", b"beta")
    files = tmp_path / "w" / "files"
    (files / "a.enc").write_bytes((files / "b.enc").read_bytes())  # moving a file under another name is detected
    with pytest.raises(WalletError) as exc:
        store.read("a")
    assert exc.value.code == "wallet_file_corrupt"
    raw = bytearray(base64.b64decode((files / "b.enc").read_bytes()))
    raw[-1] ^= 1
    (files / "b.enc").write_bytes(base64.b64encode(bytes(raw)))
    with pytest.raises(WalletError):
        store.read("b")


def test_crash_during_write_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = WalletStore.create(tmp_path / "w", PASS, kdf=FAST_KDF)
    store.write("log", b"old")

    def crash(*_a: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        store.write("log", b"new")
    monkeypatch.undo()
    assert store.read("log") == b"old"
    assert not [p for p in (tmp_path / "w" / "files").iterdir() if p.name.startswith(".tmp-")]
    atomic_write(tmp_path / "x", b"1")
    assert (tmp_path / "x").read_bytes() == b"1"


def test_rejects_invalid_names(tmp_path: Path) -> None:
    store = WalletStore.create(tmp_path / "w", PASS, kdf=FAST_KDF)
    with pytest.raises(WalletError) as exc:
        store.write("../escape", b"x")
    assert exc.value.code == "invalid_name"


def test_refuses_second_wallet_in_same_dir(tmp_path: Path) -> None:
    WalletStore.create(tmp_path / "w", PASS, kdf=FAST_KDF)
    with pytest.raises(WalletError) as exc:
        WalletStore.create(tmp_path / "w", PASS, kdf=FAST_KDF)
    assert exc.value.code == "wallet_exists"
