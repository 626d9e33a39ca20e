"""The wallet's encrypted directory: every file authenticated-encrypted, atomic writes.

Layout of a wallet directory::

    wallet.json          header (plain): format version, KDF name and parameters, salt, a check blob
    files/<name>.enc     one encrypted file per object (keys, metadata, credentials, log)

* Key derivation: Argon2id (RFC 9106, memory-hard) through argon2-cffi's ``hash_secret_raw``; its parameters
  and the 16-byte salt are stored in the header, so they can be raised later without breaking old wallets.
* Encryption: AES-256-GCM (NIST SP 800-38D) with a fresh 96-bit nonce per write; the AAD binds the wallet id,
  the file's name and the format version, so a file cannot be swapped for another (or moved between wallets)
  without detection.
* File names carry no personal data (credentials are named by random ids).
* Atomic writes: temp file in the same directory, ``fsync``, ``os.replace``, then ``fsync`` of the directory;
  a crash leaves either the old or the new file, never a torn one.
* A wrong passphrase is refused with ``wrong_passphrase`` (the check blob does not decrypt); a tampered file
  with ``wallet_file_corrupt``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from portfeil.wallet.errors import WalletError

__all__ = ["HEADER", "KdfParams", "WalletStore"]

HEADER: Final[str] = "wallet.json"
FORMAT: Final[str] = "portfeil-wallet/1"
_NAME_RE: Final[re.Pattern[str]] = re.compile(r"[a-z0-9][a-z0-9_.-]{0,120}")
_CHECK: Final[bytes] = b"portfeil wallet key check"


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id parameters (RFC 9106 §4: the second recommended option is t=3, m=64 MiB, p=4)."""

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 4

    def to_dict(self) -> dict[str, Any]:
        return {"name": "argon2id", "time_cost": self.time_cost, "memory_kib": self.memory_kib,
                "parallelism": self.parallelism}

    @classmethod
    def from_dict(cls, d: object) -> KdfParams:
        if not isinstance(d, dict) or d.get("name") != "argon2id":
            raise WalletError("wallet_header_invalid", "unsupported key derivation")
        try:
            p = cls(int(d["time_cost"]), int(d["memory_kib"]), int(d["parallelism"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise WalletError("wallet_header_invalid", "malformed key derivation parameters") from exc
        if not (1 <= p.time_cost <= 20 and 8 * 1024 <= p.memory_kib <= 4 * 1024 * 1024 and 1 <= p.parallelism <= 16):
            raise WalletError("wallet_header_invalid", "key derivation parameters out of range")
        return p


def _derive(passphrase: str, salt: bytes, p: KdfParams) -> bytes:
    if not passphrase:
        raise WalletError("passphrase_required", "a passphrase is required")
    return hash_secret_raw(passphrase.encode("utf-8"), salt, time_cost=p.time_cost, memory_cost=p.memory_kib,
                           parallelism=p.parallelism, hash_len=32, type=Type.ID)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash never leaves a partial file (temp + fsync + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


class WalletStore:
    """An opened (unlocked) wallet directory. Create with :meth:`create`, open with :meth:`open`."""

    def __init__(self, root: Path, wallet_id: str, key: bytes) -> None:
        self.root = root
        self.wallet_id = wallet_id
        self._aead = AESGCM(key)

    # -- lifecycle ------------------------------------------------------------------------------------------
    @staticmethod
    def exists(root: Path) -> bool:
        return (Path(root) / HEADER).is_file()

    @classmethod
    def create(cls, root: Path, passphrase: str, *, kdf: KdfParams | None = None) -> WalletStore:
        root = Path(root)
        if cls.exists(root):
            raise WalletError("wallet_exists", "a wallet already exists in this directory")
        kdf = kdf or KdfParams()
        salt = secrets.token_bytes(16)
        wallet_id = secrets.token_hex(16)
        store = cls(root, wallet_id, _derive(passphrase, salt, kdf))
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o700)
        header = {"format": FORMAT, "wallet_id": wallet_id, "kdf": kdf.to_dict(),
                  "salt": base64.b64encode(salt).decode(), "check": store._seal("_check", _CHECK)}
        atomic_write(root / HEADER, json.dumps(header, indent=2).encode())
        return store

    @classmethod
    def open(cls, root: Path, passphrase: str) -> WalletStore:
        root = Path(root)
        try:
            header = json.loads((root / HEADER).read_bytes())
        except FileNotFoundError:
            raise WalletError("wallet_not_found", "no wallet in this directory") from None
        except ValueError:
            raise WalletError("wallet_header_invalid", "the wallet header is not JSON") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise WalletError("wallet_header_invalid", "unknown wallet format")
        try:
            salt = base64.b64decode(header["salt"], validate=True)
            wallet_id = header["wallet_id"]
            check = header["check"]
        except (KeyError, ValueError, TypeError) as exc:
            raise WalletError("wallet_header_invalid", "malformed wallet header") from exc
        if len(salt) < 16 or not isinstance(wallet_id, str) or not isinstance(check, str):
            raise WalletError("wallet_header_invalid", "malformed wallet header")
        store = cls(root, wallet_id, _derive(passphrase, salt, KdfParams.from_dict(header.get("kdf"))))
        try:
            ok = store._open_blob("_check", check) == _CHECK
        except WalletError:
            ok = False
        if not ok:
            raise WalletError("wrong_passphrase", "the passphrase does not open this wallet")
        return store

    # -- encryption -----------------------------------------------------------------------------------------
    def _aad(self, name: str) -> bytes:
        return f"{FORMAT}|{self.wallet_id}|{name}".encode()

    def _seal(self, name: str, data: bytes) -> str:
        nonce = secrets.token_bytes(12)
        return base64.b64encode(nonce + self._aead.encrypt(nonce, data, self._aad(name))).decode()

    def _open_blob(self, name: str, blob: str | bytes) -> bytes:
        try:
            raw = base64.b64decode(blob, validate=True)
            if len(raw) < 28:
                raise ValueError("short")
            return self._aead.decrypt(raw[:12], raw[12:], self._aad(name))
        except (InvalidTag, ValueError) as exc:
            raise WalletError("wallet_file_corrupt", "a wallet file does not decrypt (tampered or damaged)") from exc

    # -- files ----------------------------------------------------------------------------------------------
    def _path(self, name: str) -> Path:
        if not _NAME_RE.fullmatch(name):
            raise WalletError("invalid_name", "invalid wallet file name")
        return self.root / "files" / f"{name}.enc"

    def write(self, name: str, data: bytes) -> None:
        atomic_write(self._path(name), self._seal(name, data).encode())

    def read(self, name: str) -> bytes | None:
        try:
            blob = self._path(name).read_bytes()
        except FileNotFoundError:
            return None
        return self._open_blob(name, blob)

    def write_json(self, name: str, obj: Any) -> None:
        self.write(name, json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode())

    def read_json(self, name: str, default: Any = None) -> Any:
        raw = self.read(name)
        return default if raw is None else json.loads(raw)

    def delete(self, name: str) -> bool:
        path = self._path(name)
        try:
            size = path.stat().st_size
            # overwrite before unlinking (best effort: SSDs and journaling may keep old blocks)
            atomic_write(path, secrets.token_bytes(size))
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def names(self, prefix: str = "") -> Iterator[str]:
        folder = self.root / "files"
        if not folder.is_dir():
            return
        for p in sorted(folder.glob("*.enc")):
            name = p.name[:-4]
            if name.startswith(prefix):
                yield name
