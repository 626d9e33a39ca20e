"""Demonstrating Proof of Possession (RFC 9449).

* :func:`create_dpop_proof` - client side (§4.2).
* :func:`verify_dpop_proof` - server side (§4.3): typ, alg allow-list, signature by the header ``jwk`` (no private
  key), ``htm``/``htu`` match (query and fragment ignored), ``iat`` window, ``jti`` replay through a callback,
  the server nonce (§8/§9: ``use_dpop_nonce`` with a fresh ``DPoP-Nonce``), ``ath`` (§4.3 step 11), and the
  key binding of an access token (``cnf.jkt``, §6.1). Returns the JWK thumbprint (``jkt``) for token binding.

No storage here: the service passes ``seen(jti) -> bool`` (True when already used; records it otherwise),
``check_nonce(nonce) -> bool`` and ``new_nonce() -> str``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from portfeil.consttime import text_equal
from portfeil.protocols._common import (
    ALLOWED_ALGS,
    JWSPrivateKey,
    b64url_encode,
    check_iat,
    jwk_thumbprint,
    key_from_jwk,
    normalize_url,
    parse_jwt,
    public_jwk,
    random_token,
    sign_jwt,
    timestamp,
    verify_parsed,
)
from portfeil.protocols.errors import ProtocolError

__all__ = [
    "DPOP_TYP",
    "DPoPProof",
    "access_token_hash",
    "create_dpop_proof",
    "verify_dpop_proof",
    "www_authenticate",
]

DPOP_TYP: Final[str] = "dpop+jwt"
MAX_DPOP_SIZE: Final[int] = 8 * 1024
_CODE: Final[str] = "invalid_dpop_proof"
_HTTP_METHODS: Final[frozenset[str]] = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class DPoPProof:
    """A verified DPoP proof: ``jkt`` is the RFC 7638 thumbprint to bind tokens to (``cnf.jkt``, §6.1)."""

    jkt: str
    jwk: dict[str, Any]
    jti: str
    iat: int
    nonce: str | None


def www_authenticate(error: str | None = None, *, algs: Collection[str] = ("ES256",),
                     description: str | None = None) -> str:
    """The ``WWW-Authenticate: DPoP ...`` challenge of a resource server (RFC 9449 §7.1, RFC 6750 §3)."""
    parts = []
    if error is not None:
        parts.append(f'error="{error}"')
    if description is not None:
        parts.append('error_description="{}"'.format(description.replace("\\", "").replace('"', "'")))
    parts.append('algs="{}"'.format(" ".join(sorted(algs))))
    return "DPoP " + ", ".join(parts)


def access_token_hash(access_token: str) -> str:
    """``ath``: base64url of SHA-256 of the ASCII access token (RFC 9449 §4.2)."""
    return b64url_encode(hashlib.sha256(access_token.encode("utf-8", "surrogatepass")).digest())


def create_dpop_proof(
    key: JWSPrivateKey,
    *,
    htm: str,
    htu: str,
    now: datetime,
    access_token: str | None = None,
    nonce: str | None = None,
    jti: str | None = None,
) -> str:
    """A DPoP proof JWT (RFC 9449 §4.2): header typ/alg/jwk; claims jti, htm, htu (no query or fragment, §4.2),
    iat, and ath/nonce when given."""
    payload: dict[str, Any] = {
        "jti": jti or random_token(16),
        "htm": htm.upper(),
        "htu": normalize_url(htu, code="server_error"),
        "iat": timestamp(now),
    }
    if access_token is not None:
        payload["ath"] = access_token_hash(access_token)
    if nonce is not None:
        payload["nonce"] = nonce
    return sign_jwt(payload, key, typ=DPOP_TYP, header={"jwk": public_jwk(key)})


def verify_dpop_proof(
    proof: object,
    *,
    htm: str,
    htu: str,
    now: datetime,
    seen: Callable[[str], bool],
    access_token: str | None = None,
    check_nonce: Callable[[str], bool] | None = None,
    new_nonce: Callable[[], str] | None = None,
    expected_jkt: str | None = None,
    max_age: int = 300,
    leeway: int = 60,
    algorithms: Collection[str] = ALLOWED_ALGS,
    status: int | None = None,
) -> DPoPProof:
    """Check a ``DPoP`` header value (RFC 9449 §4.3 steps 1-12, §7.1, §8, §9).

    ``status`` overrides the HTTP status of the errors (a resource server answers 401, §7.1). When
    ``check_nonce`` is given a valid server nonce is required; otherwise ``use_dpop_nonce`` is raised with a
    fresh nonce in ``headers["DPoP-Nonce"]``. ``expected_jkt`` is the ``cnf.jkt`` of the access token presented
    with the proof (§6.1, §7.1): a mismatch is ``invalid_token``.
    """
    # §4.3 (1): exactly one DPoP header is the caller's check; (2)-(4): well-formed JWT, typ, alg allow-list.
    parsed = parse_jwt(proof, code=_CODE, typ=DPOP_TYP, algorithms=algorithms, max_size=MAX_DPOP_SIZE)
    header, payload = parsed.header, parsed.payload
    # (5)-(6): jwk header is a public key (no private member); the signature verifies with it.
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise ProtocolError(_CODE, "DPoP proof has no jwk header", status=status)
    if any(m in jwk for m in ("d", "p", "q", "dp", "dq", "qi", "k")):
        raise ProtocolError(_CODE, "DPoP jwk header contains a private key", status=status)
    try:
        key = key_from_jwk(jwk, code=_CODE)
        verify_parsed(parsed, code=_CODE, key=key)
        jkt = jwk_thumbprint(jwk, code=_CODE)
    except ProtocolError as exc:
        raise ProtocolError(_CODE, exc.message, status=status, **exc.details) from exc
    # (7)-(9): jti, htm, htu.
    jti = payload.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= 256:
        raise ProtocolError(_CODE, "DPoP proof jti missing or invalid", status=status)
    if not isinstance(payload.get("htm"), str) or payload["htm"] != htm.upper() or htm.upper() not in _HTTP_METHODS:
        raise ProtocolError(_CODE, "DPoP htm does not match the request method", status=status)
    claimed_htu = payload.get("htu")
    if not isinstance(claimed_htu, str) or len(claimed_htu) > 2048:
        raise ProtocolError(_CODE, "DPoP htu missing", status=status)
    try:
        claimed = normalize_url(claimed_htu, code=_CODE)
    except ProtocolError as exc:
        raise ProtocolError(_CODE, "DPoP htu is not a URL", status=status) from exc
    if claimed != normalize_url(htu, code="server_error"):
        raise ProtocolError(_CODE, "DPoP htu does not match the request URI", status=status)
    # (11): ath when an access token is presented.
    if access_token is not None:
        ath = payload.get("ath")
        if not isinstance(ath, str) or not text_equal(ath, access_token_hash(access_token)):
            raise ProtocolError(_CODE, "DPoP ath does not match the access token", status=status)
    # (10): nonce, when the server demands one (§8 authorization server, §9 resource server).
    nonce = payload.get("nonce")
    if nonce is not None and (not isinstance(nonce, str) or len(nonce) > 1024):
        raise ProtocolError(_CODE, "DPoP nonce is not a string", status=status)
    if check_nonce is not None and (nonce is None or not check_nonce(nonce)):
        headers = {"DPoP-Nonce": new_nonce()} if new_nonce is not None else {}
        if status == 401:  # resource server (§9): the challenge goes into WWW-Authenticate
            headers["WWW-Authenticate"] = www_authenticate("use_dpop_nonce", algs=algorithms,
                                                           description="Resource server requires nonce in DPoP proof")
        raise ProtocolError("use_dpop_nonce", "a fresh DPoP nonce is required", status=status, headers=headers)
    # (12)/(13): iat window; §11.1 replay: jti seen within the window.
    try:
        iat = check_iat(payload, now, code=_CODE, max_age=max_age, leeway=leeway)
    except ProtocolError as exc:
        raise ProtocolError(_CODE, exc.message, status=status) from exc
    assert iat is not None
    if expected_jkt is not None and not text_equal(expected_jkt, jkt):
        raise ProtocolError("invalid_token", "the access token is bound to another key", status=401)
    if seen(jti):
        raise ProtocolError(_CODE, "DPoP proof was already used", status=status)
    return DPoPProof(jkt=jkt, jwk=dict(jwk), jti=jti, iat=iat, nonce=nonce)
