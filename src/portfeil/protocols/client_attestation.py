"""OAuth 2.0 Attestation-Based Client Authentication (draft-ietf-oauth-attestation-based-client-auth, the
version HAIP 1.0 §4.3 references) and the OpenID4VCI 1.0 key attestation (Annex D).

Client attestation (draft §5.1, §5.2):

* the **Client Attestation JWT** (header ``OAuth-Client-Attestation``, ``typ`` ``oauth-client-attestation+jwt``)
  is signed by the wallet provider (here: key + ``x5c`` of a wallet-provider certificate); claims ``iss``,
  ``sub`` (the client_id), ``exp``, ``cnf.jwk`` (the wallet instance key), optional ``iat``, ``nbf`` and
  wallet metadata such as ``wallet_name`` / ``wallet_link`` / ``status``;
* the **Client Attestation PoP JWT** (header ``OAuth-Client-Attestation-PoP``, ``typ``
  ``oauth-client-attestation-pop+jwt``) is signed with the ``cnf`` key; claims ``aud`` (the authorization server
  issuer identifier), ``jti``, ``iat`` and an optional ``challenge`` (draft -05 onwards; earlier drafts named it
  ``nonce``). Later drafts dropped ``iss``/``exp`` from the PoP but peers built on earlier ones
  (e.g. ``@openid4vc/oauth2`` 0.4.6) still require them, so :func:`create_client_attestation_pop` writes
  ``iss`` (= client_id) and ``exp`` too and :func:`verify_client_attestation` checks them when present.

Key attestation (OpenID4VCI 1.0 Annex D.1): a JWT with ``typ`` ``key-attestation+jwt`` signed by the wallet
provider, claims ``iat``, ``attested_keys`` (JWKs), optional ``exp``, ``key_storage``, ``user_authentication``,
``certification``, ``nonce`` (the c_nonce when used as a proof of its own) and ``status``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from cryptography import x509

from portfeil.consttime import text_equal
from portfeil.formats.jws import ChainValidatorLike
from portfeil.protocols._common import (
    JWSPrivateKey,
    JWSPublicKey,
    check_exp,
    check_iat,
    key_from_jwk,
    opt_str,
    parse_jwt,
    public_jwk,
    random_token,
    req_str,
    sign_jwt,
    timestamp,
    verify_parsed,
)
from portfeil.protocols.errors import ProtocolError

__all__ = [
    "CLIENT_ATTESTATION_HEADER",
    "CLIENT_ATTESTATION_POP_HEADER",
    "CLIENT_ATTESTATION_POP_TYP",
    "CLIENT_ATTESTATION_TYP",
    "KEY_ATTESTATION_TYP",
    "TOKEN_ENDPOINT_AUTH_METHOD",
    "ClientAttestation",
    "KeyAttestation",
    "create_client_attestation",
    "create_client_attestation_pop",
    "create_key_attestation",
    "verify_client_attestation",
    "verify_key_attestation",
]

CLIENT_ATTESTATION_HEADER: Final[str] = "OAuth-Client-Attestation"
CLIENT_ATTESTATION_POP_HEADER: Final[str] = "OAuth-Client-Attestation-PoP"
CLIENT_ATTESTATION_TYP: Final[str] = "oauth-client-attestation+jwt"
CLIENT_ATTESTATION_POP_TYP: Final[str] = "oauth-client-attestation-pop+jwt"
TOKEN_ENDPOINT_AUTH_METHOD: Final[str] = "attest_jwt_client_auth"  # noqa: S105
"""The ``token_endpoint_auth_method`` value of the draft (§13.4)."""
KEY_ATTESTATION_TYP: Final[str] = "key-attestation+jwt"
_LEGACY_KEY_ATTESTATION_TYP: Final[str] = "keyattestation+jwt"
_CODE: Final[str] = "invalid_client"
MAX_ATTESTED_KEYS: Final[int] = 64


@dataclass(frozen=True, slots=True)
class ClientAttestation:
    """A verified client attestation with its PoP: who the wallet instance is and which key it holds."""

    client_id: str
    issuer: str
    cnf_jwk: dict[str, Any]
    payload: dict[str, Any]
    leaf: x509.Certificate | None
    pop_jti: str


@dataclass(frozen=True, slots=True)
class KeyAttestation:
    """A verified key attestation (OpenID4VCI 1.0 Annex D.1)."""

    attested_keys: tuple[dict[str, Any], ...]
    key_storage: tuple[str, ...]
    user_authentication: tuple[str, ...]
    nonce: str | None
    payload: dict[str, Any]
    leaf: x509.Certificate | None


def create_client_attestation(
    key: JWSPrivateKey,
    *,
    issuer: str,
    client_id: str,
    instance_jwk: Mapping[str, Any],
    now: datetime,
    x5c: Sequence[x509.Certificate] = (),
    lifetime: timedelta = timedelta(hours=24),
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """Wallet provider side: the Client Attestation JWT (draft §5.1)."""
    if "d" in instance_jwk:
        raise ProtocolError("server_error", "cnf.jwk must be a public key")
    iat = timestamp(now)
    payload: dict[str, Any] = dict(extra_claims or {})
    payload.update({
        "iss": issuer, "sub": client_id, "iat": iat, "exp": iat + int(lifetime.total_seconds()),
        "cnf": {"jwk": dict(instance_jwk)},
    })
    return sign_jwt(payload, key, typ=CLIENT_ATTESTATION_TYP, x5c=x5c)


def create_client_attestation_pop(
    instance_key: JWSPrivateKey,
    *,
    client_id: str,
    audience: str,
    now: datetime,
    challenge: str | None = None,
    jti: str | None = None,
    lifetime: timedelta = timedelta(seconds=60),
) -> str:
    """Wallet side: the Client Attestation PoP JWT (draft §5.2), signed with the instance key."""
    iat = timestamp(now)
    payload: dict[str, Any] = {
        "iss": client_id, "aud": audience, "jti": jti or random_token(16), "iat": iat,
        "exp": iat + int(lifetime.total_seconds()),
    }
    if challenge is not None:
        payload["challenge"] = challenge
    return sign_jwt(payload, instance_key, typ=CLIENT_ATTESTATION_POP_TYP)


def _audience_ok(aud: object, expected: str) -> bool:
    if isinstance(aud, str):
        return text_equal(aud, expected)
    return isinstance(aud, list) and len(aud) == 1 and aud[0] == expected


def verify_client_attestation(
    attestation: object,
    pop: object,
    *,
    trust: ChainValidatorLike,
    audience: str,
    now: datetime,
    seen: Callable[[str], bool],
    client_id: str | None = None,
    check_challenge: Callable[[str], bool] | None = None,
    new_challenge: Callable[[], str] | None = None,
    trusted_issuers: Collection[str] | None = None,
    max_pop_age: int = 300,
    leeway: int = 60,
) -> ClientAttestation:
    """Authorization server side (draft §5.1, §5.2, §6.1): verify both JWTs of the two headers.

    * attestation: ``typ``, alg allow-list, signature through ``trust`` (a ChainValidator of role
      WALLET_PROVIDER), ``iss`` (in ``trusted_issuers`` when given), ``sub``, ``exp``/``nbf``, ``cnf.jwk`` public;
    * PoP: ``typ``, signed by ``cnf.jwk``, ``aud`` = ``audience`` (the AS issuer identifier), fresh ``iat``,
      ``exp`` if present, ``iss`` = ``sub`` if present, ``jti`` not seen before, ``challenge`` checked when
      ``check_challenge`` is given (``use_attestation_challenge`` with a fresh challenge otherwise);
    * ``client_id`` of the request, when given, must equal ``sub``.
    """
    parsed = parse_jwt(attestation, code=_CODE, typ=CLIENT_ATTESTATION_TYP)
    verified = verify_parsed(parsed, code=_CODE, trust=trust, now=now)
    claims = verified.payload
    issuer = req_str(claims, "iss", code=_CODE)
    if trusted_issuers is not None and issuer not in trusted_issuers:
        raise ProtocolError(_CODE, "client attestation issuer is not trusted")
    sub = req_str(claims, "sub", code=_CODE)
    try:
        check_exp(claims, now, code=_CODE, leeway=leeway)
    except ProtocolError as exc:
        raise ProtocolError("use_fresh_attestation", exc.message) from exc
    cnf = claims.get("cnf")
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(jwk, dict):
        raise ProtocolError(_CODE, "client attestation has no cnf.jwk")
    instance_key = key_from_jwk(jwk, code=_CODE)
    if client_id is not None and client_id != sub:
        raise ProtocolError(_CODE, "client_id does not match the client attestation subject")

    pop_parsed = parse_jwt(pop, code=_CODE, typ=CLIENT_ATTESTATION_POP_TYP)
    pop_claims = verify_parsed(pop_parsed, code=_CODE, key=instance_key).payload
    if "iss" in pop_claims and pop_claims["iss"] != sub:
        raise ProtocolError(_CODE, "PoP iss does not match the client attestation subject")
    if not _audience_ok(pop_claims.get("aud"), audience):
        raise ProtocolError(_CODE, "PoP aud is not this authorization server")
    jti = req_str(pop_claims, "jti", code=_CODE, max_len=256)
    check_iat(pop_claims, now, code=_CODE, max_age=max_pop_age, leeway=leeway)
    check_exp(pop_claims, now, code=_CODE, leeway=leeway, required=False)
    if check_challenge is not None:
        challenge = pop_claims.get("challenge", pop_claims.get("nonce"))
        if not isinstance(challenge, str) or not check_challenge(challenge):
            headers = {"OAuth-Client-Attestation-Challenge": new_challenge()} if new_challenge else {}
            raise ProtocolError("use_attestation_challenge", "a fresh attestation challenge is required",
                                headers=headers)
    if seen(jti):
        raise ProtocolError(_CODE, "PoP jti was already used")
    return ClientAttestation(client_id=sub, issuer=issuer, cnf_jwk=dict(jwk), payload=claims,
                             leaf=verified.leaf, pop_jti=jti)


def create_key_attestation(
    key: JWSPrivateKey,
    *,
    attested_keys: Sequence[JWSPrivateKey | JWSPublicKey | Mapping[str, Any]],
    now: datetime,
    x5c: Sequence[x509.Certificate] = (),
    key_storage: Sequence[str] = ("iso_18045_high",),
    user_authentication: Sequence[str] = ("iso_18045_high",),
    lifetime: timedelta | None = timedelta(hours=24),
    nonce: str | None = None,
    certification: str | None = None,
    status: Mapping[str, Any] | None = None,
) -> str:
    """Wallet provider side: a key attestation JWT (OpenID4VCI 1.0 Annex D.1)."""
    keys = [dict(k) if isinstance(k, Mapping) else public_jwk(k) for k in attested_keys]
    if not keys or any("d" in k for k in keys):
        raise ProtocolError("server_error", "attested_keys must be non-empty public JWKs")
    iat = timestamp(now)
    payload: dict[str, Any] = {"iat": iat, "attested_keys": keys}
    if lifetime is not None:
        payload["exp"] = iat + int(lifetime.total_seconds())
    if key_storage:
        payload["key_storage"] = list(key_storage)
    if user_authentication:
        payload["user_authentication"] = list(user_authentication)
    if certification is not None:
        payload["certification"] = certification
    if nonce is not None:
        payload["nonce"] = nonce
    if status is not None:
        payload["status"] = dict(status)
    return sign_jwt(payload, key, typ=KEY_ATTESTATION_TYP, x5c=x5c)


def _opt_str_list(claims: Mapping[str, Any], name: str, code: str) -> tuple[str, ...]:
    value = claims.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProtocolError(code, f"{name} must be an array of strings")
    return tuple(value)


def verify_key_attestation(
    token: object,
    *,
    trust: ChainValidatorLike,
    now: datetime,
    code: str = "invalid_proof",
    require_exp: bool = True,
    expected_nonce: str | None = None,
    max_age: int | None = None,
    leeway: int = 60,
) -> KeyAttestation:
    """Issuer side: verify a key attestation (OpenID4VCI 1.0 Annex D.1): typ, signature through the wallet
    provider chain, ``exp`` (required when used inside a JWT proof, Annex D.1), ``iat``, ``attested_keys`` (public
    JWKs), ``nonce`` when ``expected_nonce`` is given (required when the attestation is the proof, §F.3)."""
    parsed = parse_jwt(token, code=code, typ=(KEY_ATTESTATION_TYP, _LEGACY_KEY_ATTESTATION_TYP))
    verified = verify_parsed(parsed, code=code, trust=trust, now=now)
    claims = verified.payload
    check_exp(claims, now, code=code, leeway=leeway, required=require_exp)
    check_iat(claims, now, code=code, max_age=max_age if max_age is not None else 10 * 365 * 86400, leeway=leeway)
    keys = claims.get("attested_keys")
    if not isinstance(keys, list) or not 0 < len(keys) <= MAX_ATTESTED_KEYS:
        raise ProtocolError(code, "attested_keys must be a non-empty array")
    for jwk in keys:
        key_from_jwk(jwk, code=code)
    nonce = opt_str(claims, "nonce", code=code)
    if expected_nonce is not None and (nonce is None or not text_equal(nonce, expected_nonce)):
        raise ProtocolError("invalid_nonce", "key attestation nonce is not the expected c_nonce")
    return KeyAttestation(
        attested_keys=tuple(dict(k) for k in keys),
        key_storage=_opt_str_list(claims, "key_storage", code),
        user_authentication=_opt_str_list(claims, "user_authentication", code),
        nonce=nonce, payload=claims, leaf=verified.leaf,
    )
