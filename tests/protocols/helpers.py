"""Tiny JWT helpers for crafting (also malformed) test tokens."""

from __future__ import annotations

import json
from typing import Any

from portfeil.formats.jws import b64url_encode, sign_compact
from portfeil.pki.keys import PrivateKey


def jwt(payload: dict[str, Any], key: PrivateKey, *, typ: str | None, header: dict[str, Any] | None = None) -> str:
    return sign_compact(payload, key, typ=typ, header=header)


def unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
    def enc(obj: dict[str, Any]) -> str:
        return b64url_encode(json.dumps(obj).encode())

    return f"{enc(header)}.{enc(payload)}."
