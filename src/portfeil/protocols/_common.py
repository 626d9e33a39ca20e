"""Small shared helpers of the protocol layer: JWT signing/verification with error mapping, claim checks,
random values and strict field access on parsed JSON. Internal: the public names live in the modules."""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from cryptography import x509

from portfeil.errors import PortfeilError
from portfeil.formats import jws
from portfeil.protocols.errors import ProtocolError

__all__ = [
    "MAX_STRING",
    "JWSPrivateKey",
    "JWSPublicKey",
    "b64url_decode",
    "b64url_encode",
    "check_exp",
    "check_iat",
    "is_https_url",
    "normalize_url",
    "opt_str",
    "random_token",
    "req_str",
    "sign_jwt",
    "timestamp",
    "verify_jwt",
]

JWSPrivateKey = jws.JWSPrivateKey
JWSPublicKey = jws.JWSPublicKey
ALLOWED_ALGS: Final[frozenset[str]] = jws.ALLOWED_ALGORITHMS
MAX_STRING: Final[int] = 8192
"""Upper bound for any single string parameter (ids, nonces, URLs) we accept."""

JtiSeen = Callable[[str], bool]
"""A replay check: returns True when the value was already seen (and records it otherwise)."""


def one_of(value: object, allowed: Collection[str]) -> bool:
    """``value`` is a string in ``allowed`` (membership tests on untrusted JSON values must not hash lists)."""
    return isinstance(value, str) and value in allowed


def b64url_encode(data: bytes) -> str:
    return jws.b64url_encode(data)


def b64url_decode(text: str, *, code: str, what: str = "value") -> bytes:
    try:
        return jws.b64url_decode(text, what=what)
    except PortfeilError as exc:
        raise ProtocolError(code, f"{what} is not base64url", reason=exc.code) from exc


def random_token(nbytes: int = 32) -> str:
    """A fresh unguessable value (base64url of ``nbytes`` random octets, RFC 6749 §10.10)."""
    return secrets.token_urlsafe(nbytes)


def sha256_b64url(data: bytes) -> str:
    return b64url_encode(hashlib.sha256(data).digest())


def timestamp(now: datetime) -> int:
    """Whole seconds since the epoch of a timezone-aware ``now`` (RFC 7519 §2 NumericDate)."""
    if now.tzinfo is None:
        raise ProtocolError("server_error", "now must be timezone-aware")
    return int(now.astimezone(UTC).timestamp())


def sign_jwt(
    payload: Mapping[str, Any],
    key: JWSPrivateKey,
    *,
    typ: str,
    header: Mapping[str, Any] | None = None,
    x5c: Sequence[x509.Certificate] = (),
    alg: str | None = None,
) -> str:
    """Sign ``payload`` as a compact JWS (RFC 7515 §7.1) with an explicit ``typ`` (RFC 8725 §3.11)."""
    try:
        return jws.sign_compact(payload, key, alg=alg, typ=typ, x5c=x5c, header=header)
    except PortfeilError as exc:
        raise ProtocolError("server_error", "could not sign the JWT", reason=exc.code) from exc


def parse_jwt(
    token: object, *, code: str, typ: str | Collection[str] | None, algorithms: Collection[str] = ALLOWED_ALGS,
    max_size: int = jws.MAX_JWS_SIZE,
) -> jws.ParsedJWS:
    """Split and decode a compact JWS (not yet verified); any failure is ``ProtocolError(code)``."""
    if not isinstance(token, str):
        raise ProtocolError(code, "JWT must be a string")
    try:
        return jws.parse_compact(token, max_size=max_size, algorithms=algorithms, typ=typ)
    except PortfeilError as exc:
        raise ProtocolError(code, "JWT is malformed or of the wrong type", reason=exc.code) from exc


def verify_parsed(
    parsed: jws.ParsedJWS, *, code: str, key: JWSPublicKey | None = None, trust: jws.ChainValidatorLike | None = None,
    now: datetime | None = None,
) -> jws.VerifiedJWS:
    """Check the signature with ``key`` or via the ``x5c`` chain (RFC 7515 §5.2 step 8)."""
    try:
        return jws.verify_parsed(parsed, key=key, trust=trust, now=now)
    except PortfeilError as exc:
        raise ProtocolError(code, "JWT signature or certificate chain does not verify", reason=exc.code) from exc


def verify_jwt(
    token: object, *, code: str, typ: str | Collection[str] | None, key: JWSPublicKey | None = None,
    trust: jws.ChainValidatorLike | None = None, now: datetime | None = None,
    algorithms: Collection[str] = ALLOWED_ALGS,
) -> jws.VerifiedJWS:
    return verify_parsed(parse_jwt(token, code=code, typ=typ, algorithms=algorithms), code=code, key=key,
                         trust=trust, now=now)


def key_from_jwk(jwk: object, *, code: str) -> JWSPublicKey:
    """A public key from a JWK; private members are refused (RFC 9449 §4.2, RFC 7800 §3.2)."""
    if not isinstance(jwk, Mapping):
        raise ProtocolError(code, "jwk must be a JSON object")
    try:
        return jws.public_key_from_jwk(jwk)
    except PortfeilError as exc:
        raise ProtocolError(code, "jwk is not an acceptable public key", reason=exc.code) from exc


def jwk_thumbprint(jwk: Mapping[str, Any], *, code: str) -> str:
    """RFC 7638 §3 SHA-256 thumbprint."""
    from portfeil.pki.keys import jwk_thumbprint as _thumb

    try:
        return _thumb(jwk)
    except PortfeilError as exc:
        raise ProtocolError(code, "jwk has no thumbprint", reason=exc.code) from exc


def public_jwk(key: JWSPrivateKey | JWSPublicKey) -> dict[str, str]:
    return jws.public_jwk(key)


def _numeric(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return int(value)


def numeric_claim(payload: Mapping[str, Any], name: str, *, code: str, required: bool = True) -> int | None:
    """A NumericDate claim (RFC 7519 §2); booleans, strings and non-finite numbers are refused."""
    if name not in payload:
        if required:
            raise ProtocolError(code, f"{name} claim missing")
        return None
    value = _numeric(payload[name])
    if value is None:
        raise ProtocolError(code, f"{name} claim is not a number")
    return value


def check_iat(
    payload: Mapping[str, Any], now: datetime, *, code: str, max_age: int, leeway: int = 60, required: bool = True,
) -> int | None:
    """``iat`` must not lie more than ``leeway`` s in the future nor more than ``max_age`` s in the past."""
    iat = numeric_claim(payload, "iat", code=code, required=required)
    if iat is None:
        return None
    t = timestamp(now)
    if iat > t + leeway:
        raise ProtocolError(code, "iat is in the future")
    if iat < t - max_age - leeway:
        raise ProtocolError(code, "iat is too old")
    return iat


def check_exp(payload: Mapping[str, Any], now: datetime, *, code: str, leeway: int = 60, required: bool = True,
              ) -> int | None:
    """``exp`` (RFC 7519 §4.1.4) and ``nbf`` (§4.1.5) against ``now`` with ``leeway`` seconds."""
    exp = numeric_claim(payload, "exp", code=code, required=required)
    t = timestamp(now)
    if exp is not None and exp <= t - leeway:
        raise ProtocolError(code, "JWT has expired")
    nbf = numeric_claim(payload, "nbf", code=code, required=False)
    if nbf is not None and nbf > t + leeway:
        raise ProtocolError(code, "JWT is not yet valid")
    return exp


def req_str(obj: Mapping[str, Any], name: str, *, code: str = "invalid_request", max_len: int = MAX_STRING) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise ProtocolError(code, f"{name} missing or not a non-empty string")
    if len(value) > max_len:
        raise ProtocolError(code, f"{name} is too long")
    return value


def opt_str(obj: Mapping[str, Any], name: str, *, code: str = "invalid_request", max_len: int = MAX_STRING,
            ) -> str | None:
    if name not in obj or obj[name] is None:
        return None
    return req_str(obj, name, code=code, max_len=max_len)


def req_obj(obj: Mapping[str, Any], name: str, *, code: str = "invalid_request") -> dict[str, Any]:
    value = obj.get(name)
    if not isinstance(value, dict):
        raise ProtocolError(code, f"{name} missing or not a JSON object")
    return value


def str_list(value: object, name: str, *, code: str = "invalid_request", allow_empty: bool = False) -> list[str]:
    if not isinstance(value, list) or (not value and not allow_empty):
        raise ProtocolError(code, f"{name} must be a non-empty array of strings")
    if not all(isinstance(v, str) and v and len(v) <= MAX_STRING for v in value):
        raise ProtocolError(code, f"{name} must be a non-empty array of strings")
    return list(value)


def is_https_url(value: object, *, allow_http_localhost: bool = False) -> bool:
    """An absolute https URL without fragment (OpenID4VCI 1.0 §12.2.1 etc.)."""
    if not isinstance(value, str) or len(value) > MAX_STRING:
        return False
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return False
    if not host or parts.fragment:
        return False
    if parts.scheme == "https":
        return True
    return allow_http_localhost and parts.scheme == "http" and host in ("localhost", "127.0.0.1")


def normalize_url(value: str, *, code: str) -> str:
    """RFC 3986 §6.2.2/§6.2.3 normalisation used by RFC 9449 §4.3 (9): lowercase scheme and host, default port
    dropped, empty path -> "/", query and fragment removed."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
        port = parts.port
    except ValueError as exc:
        raise ProtocolError(code, "not a valid URL") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host:
        raise ProtocolError(code, "not an absolute http(s) URL")
    if ":" in host:
        host = f"[{host}]"
    netloc = host.lower()
    if port is not None and not (scheme == "https" and port == 443) and not (scheme == "http" and port == 80):
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))
