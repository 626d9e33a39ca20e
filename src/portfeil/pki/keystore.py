"""Where services keep their private keys and certificates.

:class:`KeyStore` is the one interface; :class:`FileKeyStore` keeps each key as an encrypted PKCS#8 PEM
(RFC 5958, PBES2 via ``BestAvailableEncryption``) and each certificate list as a PEM bundle in one directory.
Files are written atomically (temporary file in the same directory, fsync, ``os.replace``, fsync of the
directory) with mode 0600 in a 0700 directory, so a crash never leaves a partial key. Names are restricted to
``[A-Za-z0-9][A-Za-z0-9._-]{0,127}`` without ``..``, so they can never leave the directory.
:class:`MemoryKeyStore` is the same interface in memory (tests, ephemeral demo keys).

A PKCS#11 backend is not provided yet (see the project notes); the :class:`KeyStore` protocol is what it
would implement. Error codes: ``invalid_key_name``, ``keystore_locked`` (wrong passphrase or undecryptable
key file), ``keystore_corrupt``, ``keystore_passphrase_required``, ``unsupported_alg``.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    PrivateFormat,
    load_pem_private_key,
)

from portfeil.pki.certs import cert_to_pem, certs_from_pem
from portfeil.pki.errors import PKIError
from portfeil.pki.keys import PrivateKey, generate_private_key

__all__ = ["FileKeyStore", "KeyStore", "MemoryKeyStore", "validate_key_name"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_KEY_SUFFIX = ".key.pem"
_CERT_SUFFIX = ".certs.pem"


def validate_key_name(name: str) -> str:
    """A key name usable as a file name: ``[A-Za-z0-9][A-Za-z0-9._-]{0,127}``, no ``..``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise PKIError("invalid_key_name", "key names are 1-128 of A-Z a-z 0-9 . _ - (no '..')")
    return name


def _check_key(key: object) -> PrivateKey:
    if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise PKIError("unsupported_alg", "only ECDSA and Ed25519 private keys are stored")
    return key


@runtime_checkable
class KeyStore(Protocol):
    """Named private keys and certificate lists (leaf first)."""

    def get_key(self, name: str) -> PrivateKey | None: ...

    def put_key(self, name: str, key: PrivateKey) -> None: ...

    def get_or_create_key(self, name: str, alg: str = "ES256") -> PrivateKey: ...

    def get_certificates(self, name: str) -> list[x509.Certificate]: ...

    def put_certificates(self, name: str, certs: Sequence[x509.Certificate]) -> None: ...

    def names(self) -> list[str]: ...


class MemoryKeyStore:
    """A :class:`KeyStore` in memory."""

    def __init__(self) -> None:
        self._keys: dict[str, PrivateKey] = {}
        self._certs: dict[str, list[x509.Certificate]] = {}
        self._lock = threading.Lock()

    def get_key(self, name: str) -> PrivateKey | None:
        return self._keys.get(validate_key_name(name))

    def put_key(self, name: str, key: PrivateKey) -> None:
        self._keys[validate_key_name(name)] = _check_key(key)

    def get_or_create_key(self, name: str, alg: str = "ES256") -> PrivateKey:
        validate_key_name(name)
        with self._lock:
            key = self._keys.get(name)
            if key is None:
                key = self._keys[name] = generate_private_key(alg)
            return key

    def get_certificates(self, name: str) -> list[x509.Certificate]:
        return list(self._certs.get(validate_key_name(name), []))

    def put_certificates(self, name: str, certs: Sequence[x509.Certificate]) -> None:
        if not all(isinstance(c, x509.Certificate) for c in certs):
            raise PKIError("malformed_certificate", "certificates expected")
        self._certs[validate_key_name(name)] = list(certs)

    def names(self) -> list[str]:
        return sorted({*self._keys, *self._certs})


class FileKeyStore:
    """A :class:`KeyStore` in one directory of passphrase-encrypted PKCS#8 PEM files.

    Decrypted keys are kept in memory after the first read (the key derivation is deliberately slow) and read
    again when the file changes. Safe for several processes sharing the directory: writes are atomic and
    :meth:`get_or_create_key` never overwrites a key another process created first.
    """

    def __init__(self, directory: Path, passphrase: bytes) -> None:
        if not isinstance(passphrase, bytes) or not passphrase:
            raise PKIError("keystore_passphrase_required", "the keystore needs a non-empty passphrase")
        self.directory = Path(directory)
        self._passphrase = passphrase
        self._lock = threading.RLock()
        self._cache: dict[str, tuple[PrivateKey, tuple[int, int, int]]] = {}
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    # -- paths and atomic writes ----------------------------------------------------------------------------

    def _path(self, name: str, suffix: str) -> Path:
        return self.directory / f"{validate_key_name(name)}{suffix}"

    def _write_temp(self, data: bytes) -> str:
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".part")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return tmp

    def _fsync_dir(self) -> None:
        with contextlib.suppress(OSError):  # some file systems cannot fsync a directory
            dfd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    def _atomic_write(self, path: Path, data: bytes) -> None:
        """Replace ``path`` with ``data`` atomically: readers see the old file or the new one, never a part."""
        tmp = self._write_temp(data)
        try:
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        self._fsync_dir()

    def _atomic_create(self, path: Path, data: bytes) -> bool:
        """Create ``path`` atomically unless it exists (hard link, never overwrites); True if created."""
        tmp = self._write_temp(data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        self._fsync_dir()
        return True

    # -- keys -----------------------------------------------------------------------------------------------

    def _encrypt(self, key: PrivateKey) -> bytes:
        return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(self._passphrase))

    def _load(self, data: bytes) -> PrivateKey:
        try:
            key = load_pem_private_key(data, password=self._passphrase)
        except (ValueError, TypeError) as exc:
            raise PKIError("keystore_locked", "the key file cannot be decrypted with this passphrase") from exc
        except Exception as exc:  # unsupported algorithms and other loader failures
            raise PKIError("keystore_corrupt", "the key file cannot be read") from exc
        return _check_key(key)

    def get_key(self, name: str) -> PrivateKey | None:
        """The key, decrypted once and then served from memory while the file stays the same (a key rotated
        by another process, i.e. a replaced file, is read again)."""
        path = self._path(name, _KEY_SUFFIX)
        with self._lock:
            try:
                st = path.stat()
            except FileNotFoundError:
                self._cache.pop(name, None)
                return None
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
            cached = self._cache.get(name)
            if cached is not None and cached[1] == stamp:
                return cached[0]
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                return None
            key = self._load(data)
            self._cache[name] = (key, stamp)
            return key

    def _remember(self, name: str, key: PrivateKey, path: Path) -> None:
        st = path.stat()
        self._cache[name] = (key, (st.st_ino, st.st_mtime_ns, st.st_size))

    def put_key(self, name: str, key: PrivateKey) -> None:
        path = self._path(name, _KEY_SUFFIX)
        data = self._encrypt(_check_key(key))
        with self._lock:
            self._atomic_write(path, data)
            self._remember(name, key, path)

    def get_or_create_key(self, name: str, alg: str = "ES256") -> PrivateKey:
        path = self._path(name, _KEY_SUFFIX)
        with self._lock:
            existing = self.get_key(name)
            if existing is not None:
                return existing
            key = generate_private_key(alg)
            if not self._atomic_create(path, self._encrypt(key)):
                # Another process created it first: use theirs, so both agree on one key.
                self._cache.pop(name, None)
                theirs = self.get_key(name)
                if theirs is None:  # pragma: no cover - deleted in between
                    raise PKIError("keystore_corrupt", "the key vanished while being created")
                return theirs
            self._remember(name, key, path)
            return key

    # -- certificates ---------------------------------------------------------------------------------------

    def get_certificates(self, name: str) -> list[x509.Certificate]:
        path = self._path(name, _CERT_SUFFIX)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return []
        if not data.strip():
            return []
        try:
            return certs_from_pem(data)
        except PKIError as exc:
            raise PKIError("keystore_corrupt", "the certificate file cannot be read") from exc

    def put_certificates(self, name: str, certs: Sequence[x509.Certificate]) -> None:
        if not all(isinstance(c, x509.Certificate) for c in certs):
            raise PKIError("malformed_certificate", "certificates expected")
        path = self._path(name, _CERT_SUFFIX)
        with self._lock:
            self._atomic_write(path, b"".join(cert_to_pem(c) for c in certs))

    def names(self) -> list[str]:
        found: set[str] = set()
        for entry in self.directory.iterdir():
            for suffix in (_KEY_SUFFIX, _CERT_SUFFIX):
                if entry.name.endswith(suffix) and not entry.name.startswith("."):
                    stem = entry.name[: -len(suffix)]
                    if _NAME.fullmatch(stem) and ".." not in stem:
                        found.add(stem)
        return sorted(found)
