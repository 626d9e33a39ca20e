"""Sector identifiers (Art. 4): a keyed one-way function of the electronic identifier, one key per sector.

``sector_id = "v<N>." + base32(HMAC-SHA256(K_sector_N, "portfeil-eid-sector|" + code + "|" + electronic_id))``
(lower case, no padding). HMAC-SHA256 (RFC 2104, FIPS 198-1) is a PRF: without the key the identifier can be
neither reversed to the electronic identifier nor linked across sectors. ``N`` is the key version: rotating a
sector's key adds version N+1 for holders seen for the first time, while every holder keeps the version recorded
at their first derivation (``eid_sector_bindings``), so identifiers never change silently.

Key storage: the keystore holds only asymmetric keys, so each sector key version is an EC private key named
``eid-sector-<code>-v<N>`` and the 32-byte HMAC key is HKDF-SHA256 (RFC 5869) of its private scalar
(info ``portfeil eid sector key``). This needs an extractable key; a PKCS#11 token would keep a native HMAC key
instead (not implemented, see docs/eid.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from portfeil.eid.errors import EidError
from portfeil.pki.keystore import KeyStore

SECTOR_CODE = re.compile(r"^[a-z][a-z0-9-]{1,30}$")
_SECTOR_ID = re.compile(r"^v([1-9][0-9]{0,3})\.([a-z2-7]{52})$")


def check_sector_code(code: str) -> str:
    if not isinstance(code, str) or not SECTOR_CODE.fullmatch(code):
        raise EidError("invalid_sector_code", "sector codes are 2-31 of a-z 0-9 - starting with a letter")
    return code


def key_name(code: str, version: int) -> str:
    return f"eid-sector-{check_sector_code(code)}-v{version}"


def derive(key: bytes, code: str, version: int, electronic_id: str) -> str:
    """The sector identifier of ``electronic_id`` in sector ``code`` with key version ``version``."""
    if len(key) < 32:
        raise EidError("weak_sector_key", "sector keys are at least 256 bits")
    mac = hmac.new(key, f"portfeil-eid-sector|{code}|{electronic_id}".encode(), hashlib.sha256).digest()
    return f"v{version}." + base64.b32encode(mac).decode().rstrip("=").lower()


def version_of(sector_id: str) -> int:
    """The key version encoded in a sector identifier (``invalid_sector_id`` if malformed)."""
    m = _SECTOR_ID.fullmatch(sector_id) if isinstance(sector_id, str) else None
    if m is None:
        raise EidError("invalid_sector_id", "not a sector identifier")
    return int(m.group(1))


def sector_key(keystore: KeyStore, code: str, version: int, *, create: bool = False) -> bytes:
    """The HMAC key of a sector's key version from the keystore (see the module docstring)."""
    name = key_name(code, version)
    key = keystore.get_or_create_key(name) if create else keystore.get_key(name)
    if key is None:
        raise EidError("sector_key_missing", "the sector key version is not in the keystore")
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise EidError("sector_key_missing", "the sector key has the wrong type")
    secret = key.private_numbers().private_value.to_bytes(66, "big")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"portfeil eid sector key").derive(secret)
