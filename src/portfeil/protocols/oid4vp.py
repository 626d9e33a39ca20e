"""OpenID for Verifiable Presentations 1.0 (final) with the HAIP 1.0 profile: request objects, responses,
deep links. Pure: the services fetch and post; this module builds, parses and checks.

Verifier side
    :func:`build_request_object` (a JAR, RFC 9101, ``typ`` ``oauth-authz-req+jwt``, signed with the access
    certificate key and its ``x5c``), :func:`request_link` (``openid4vp://`` or HAIP's ``haip-vp://``),
    :func:`parse_request_uri_post` (§5.10, ``request_uri_method=post``), :func:`parse_authorization_response`
    (§8.2 ``direct_post``, §8.3 ``direct_post.jwt`` decrypted with the verifier's ephemeral key).
Wallet side
    :func:`parse_request_link`, :func:`request_uri_post_body`, :func:`verify_request_object` (signature through
    a ChainValidator of role RP_ACCESS, client identifier prefixes ``x509_san_dns``/``x509_hash`` §5.9.3,
    ``typ``, ``aud``, ``exp``, ``wallet_nonce``), :func:`unsigned_request` (``redirect_uri:`` prefix, only when
    explicitly allowed, marked unverified) and :func:`build_authorization_response`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from portfeil.consttime import text_equal
from portfeil.formats.jws import ChainValidatorLike
from portfeil.pki.certs import san_dns_names
from portfeil.protocols import jwe
from portfeil.protocols._common import (
    JWSPrivateKey,
    b64url_encode,
    check_exp,
    check_iat,
    is_https_url,
    one_of,
    opt_str,
    parse_jwt,
    req_str,
    sign_jwt,
    timestamp,
    verify_parsed,
)
from portfeil.protocols.errors import ProtocolError

__all__ = [
    "HAIP_SCHEME",
    "OPENID4VP_SCHEME",
    "REQUEST_OBJECT_TYP",
    "SELF_ISSUED_AUDIENCE",
    "AuthorizationRequest",
    "AuthorizationResponse",
    "RequestLink",
    "build_authorization_response",
    "build_client_metadata",
    "build_request_object",
    "build_wallet_metadata",
    "parse_authorization_response",
    "parse_request_link",
    "parse_request_uri_post",
    "request_link",
    "request_uri_post_body",
    "unsigned_request",
    "verify_request_object",
    "x509_hash",
]

OPENID4VP_SCHEME: Final[str] = "openid4vp://"
HAIP_SCHEME: Final[str] = "haip-vp://"
REQUEST_OBJECT_TYP: Final[str] = "oauth-authz-req+jwt"
SELF_ISSUED_AUDIENCE: Final[str] = "https://self-issued.me/v2"
REQUEST_OBJECT_MEDIA_TYPE: Final[str] = "application/oauth-authz-req+jwt"
RESPONSE_MODES: Final[frozenset[str]] = frozenset({"direct_post", "direct_post.jwt"})
MAX_REQUEST_OBJECT: Final[int] = 256 * 1024
MAX_RESPONSE: Final[int] = 4 * 1024 * 1024
_CRED_ID_RE: Final[re.Pattern[str]] = re.compile(r"[A-Za-z0-9_-]{1,128}")
_REQ: Final[str] = "invalid_request"
_REQ_OBJ: Final[str] = "invalid_request_object"
DEFAULT_VP_FORMATS: Final[dict[str, Any]] = {
    "dc+sd-jwt": {"sd-jwt_alg_values": ["ES256"], "kb-jwt_alg_values": ["ES256"]},
    "mso_mdoc": {"issuerauth_alg_values": [-7], "deviceauth_alg_values": [-7]},
}
"""``vp_formats_supported`` (Appendix B.2.3, B.3.4) for what HAIP 1.0 requires: ES256 everywhere."""


def x509_hash(cert: x509.Certificate) -> str:
    """The ``x509_hash`` client identifier value: base64url SHA-256 of the DER leaf certificate (§5.9.3)."""
    return b64url_encode(hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest())


def _json(value: object, *, code: str, what: str, max_chars: int = 256 * 1024) -> Any:
    if isinstance(value, str | bytes):
        if len(value) > max_chars:
            raise ProtocolError(code, f"{what} is too large")
        try:
            return json.loads(value)
        except (ValueError, RecursionError) as exc:
            raise ProtocolError(code, f"{what} is not JSON") from exc
    return value


def _check_dcql(query: object, code: str) -> tuple[str, ...]:
    """Shape of a DCQL query (§6): ``credentials`` with unique ids (the full DCQL check is formats.dcql's)."""
    if not isinstance(query, dict):
        raise ProtocolError(code, "dcql_query must be an object")
    creds = query.get("credentials")
    if not isinstance(creds, list) or not creds or len(creds) > 64:
        raise ProtocolError(code, "dcql_query.credentials must be a non-empty array")
    ids: list[str] = []
    for c in creds:
        if not isinstance(c, dict) or not isinstance(c.get("id"), str) or not _CRED_ID_RE.fullmatch(c["id"]):
            raise ProtocolError(code, "every DCQL credential query needs an id of [A-Za-z0-9_-]")
        if not isinstance(c.get("format"), str):
            raise ProtocolError(code, "every DCQL credential query needs a format")
        ids.append(c["id"])
    if len(set(ids)) != len(ids):
        raise ProtocolError(code, "DCQL credential query ids must be unique")
    return tuple(ids)


def build_client_metadata(
    encryption_jwk: Mapping[str, Any] | None,
    *,
    enc_values: Sequence[str] = ("A128GCM", "A256GCM"),
    vp_formats_supported: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``client_metadata`` (§5.1, §11.1): ``jwks`` with the ephemeral response encryption key (its ``kid`` and
    ``alg`` ECDH-ES, §8.3), ``encrypted_response_enc_values_supported`` and ``vp_formats_supported``."""
    md: dict[str, Any] = {"vp_formats_supported": dict(vp_formats_supported or DEFAULT_VP_FORMATS)}
    if encryption_jwk is not None:
        if "d" in encryption_jwk or "kid" not in encryption_jwk:
            raise ProtocolError("server_error", "the encryption JWK must be public and carry a kid")
        md["jwks"] = {"keys": [dict(encryption_jwk)]}
        md["encrypted_response_enc_values_supported"] = list(enc_values)
    if extra:
        md.update(extra)
    return md


def build_request_object(
    key: JWSPrivateKey,
    x5c: Sequence[x509.Certificate],
    *,
    client_id: str,
    response_uri: str,
    nonce: str,
    dcql_query: Mapping[str, Any],
    now: datetime,
    state: str | None = None,
    response_mode: Literal["direct_post", "direct_post.jwt"] = "direct_post.jwt",
    client_metadata: Mapping[str, Any] | None = None,
    verifier_info: Sequence[Mapping[str, Any]] = (),
    wallet_nonce: str | None = None,
    audience: str = SELF_ISSUED_AUDIENCE,
    lifetime: timedelta = timedelta(minutes=5),
    extra: Mapping[str, Any] | None = None,
) -> str:
    """A signed authorization request object (§5, RFC 9101 §4) with numeric ``iat``/``exp``.

    ``client_id`` carries its prefix (``x509_san_dns:<dns>`` or ``x509_hash:<hash>``, §5.9.3). ``verifier_info``
    (§5.1) is a list of ``{"format", "data", "credential_ids"?}`` objects, e.g. the registration certificate
    (ETSI TS 119 475). ``wallet_nonce`` echoes the wallet's value for ``request_uri_method=post`` (§5.10)."""
    if response_mode not in RESPONSE_MODES:
        raise ProtocolError("server_error", "unsupported response_mode")
    if response_mode == "direct_post.jwt" and not (client_metadata and "jwks" in client_metadata):
        raise ProtocolError("server_error", "direct_post.jwt needs client_metadata.jwks with an encryption key")
    _check_dcql(dict(dcql_query), "server_error")
    _check_verifier_info(list(verifier_info), "server_error")
    iat = timestamp(now)
    payload: dict[str, Any] = {
        "aud": audience,
        "client_id": client_id,
        "response_type": "vp_token",
        "response_mode": response_mode,
        "response_uri": response_uri,
        "nonce": nonce,
        "dcql_query": dict(dcql_query),
        "iat": iat,
        "exp": iat + int(lifetime.total_seconds()),
    }
    if state is not None:
        payload["state"] = state
    if client_metadata is not None:
        payload["client_metadata"] = dict(client_metadata)
    if verifier_info:
        payload["verifier_info"] = [dict(v) for v in verifier_info]
    if wallet_nonce is not None:
        payload["wallet_nonce"] = wallet_nonce
    if extra:
        payload.update(extra)
    return sign_jwt(payload, key, typ=REQUEST_OBJECT_TYP, x5c=x5c)


def _check_verifier_info(value: object, code: str) -> list[dict[str, Any]]:
    """``verifier_info`` (§5.1): a non-empty array of objects with a string ``format``, ``data`` (object or
    string) and optional ``credential_ids`` (strings)."""
    if not isinstance(value, list):
        raise ProtocolError(code, "verifier_info must be an array")
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("format"), str):
            raise ProtocolError(code, "verifier_info entries need a format")
        if not isinstance(item.get("data"), dict | str):
            raise ProtocolError(code, "verifier_info entries need data (object or string)")
        ids = item.get("credential_ids")
        if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
            raise ProtocolError(code, "verifier_info credential_ids must be strings")
    return list(value)


# ---------------------------------------------------------------- deep links (§5.7 of RFC 9101, §5.10)


@dataclass(frozen=True, slots=True)
class RequestLink:
    """What a wallet finds in an ``openid4vp://`` / ``haip-vp://`` link."""

    client_id: str
    request_uri: str | None = None
    request_uri_method: Literal["get", "post"] = "get"
    request: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    """Plain parameters of an unsigned request passed by value."""


def request_link(
    *,
    client_id: str,
    request_uri: str | None = None,
    request: str | None = None,
    request_uri_method: Literal["get", "post"] | None = None,
    scheme: str = OPENID4VP_SCHEME,
) -> str:
    """``openid4vp://?client_id=...&request_uri=...`` (RFC 9101 §5.2, OpenID4VP 1.0 §5.7/§5.10); HAIP 1.0 names
    ``haip-vp://``. Exactly one of ``request_uri`` and ``request`` (by value)."""
    if (request_uri is None) == (request is None):
        raise ProtocolError("server_error", "give exactly one of request_uri and request")
    params: dict[str, str] = {"client_id": client_id}
    if request_uri is not None:
        params["request_uri"] = request_uri
        if request_uri_method is not None:
            params["request_uri_method"] = request_uri_method
    elif request is not None:
        params["request"] = request
    base = scheme if "?" not in scheme else scheme.split("?", 1)[0]
    return f"{base}?{urlencode(params)}"


def parse_request_link(link: object, *, allow_http_localhost: bool = False) -> RequestLink:
    """Parse a presentation request link. ``request_uri`` must be https; ``request_uri_method`` get or post
    (``invalid_request_uri_method`` otherwise, §5.10); repeated parameters are refused."""
    if not isinstance(link, str) or len(link) > MAX_REQUEST_OBJECT:
        raise ProtocolError(_REQ, "request link must be a string within the size limit")
    try:
        query = parse_qs(urlsplit(link).query, keep_blank_values=True)
    except ValueError as exc:
        raise ProtocolError(_REQ, "request link is not a URL") from exc
    if any(len(v) != 1 for v in query.values()):
        raise ProtocolError(_REQ, "repeated parameters")
    params = {k: v[0] for k, v in query.items()}
    client_id = req_str(params, "client_id")
    method = params.get("request_uri_method")
    if "request_uri" in params:
        if not is_https_url(params["request_uri"], allow_http_localhost=allow_http_localhost):
            raise ProtocolError("invalid_request_uri", "request_uri must be an https URL")
        if method not in (None, "get", "post"):
            raise ProtocolError("invalid_request_uri_method", "request_uri_method must be get or post")
        if "request" in params:
            raise ProtocolError(_REQ, "request and request_uri are exclusive")
        return RequestLink(client_id, params["request_uri"], "post" if method == "post" else "get")
    if method is not None:
        raise ProtocolError(_REQ, "request_uri_method without request_uri")
    if "request" in params:
        return RequestLink(client_id, request=params["request"])
    return RequestLink(client_id, params=params)


def build_wallet_metadata(
    *,
    vp_formats_supported: Mapping[str, Any] | None = None,
    client_id_prefixes_supported: Sequence[str] = ("x509_san_dns", "x509_hash"),
    enc_values: Sequence[str] = ("A128GCM", "A256GCM"),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Wallet metadata (§10) for the ``request_uri_method=post`` body (§5.10): what this wallet accepts."""
    md: dict[str, Any] = {
        "vp_formats_supported": dict(vp_formats_supported or DEFAULT_VP_FORMATS),
        "client_id_prefixes_supported": list(client_id_prefixes_supported),
        "response_types_supported": ["vp_token"],
        "response_modes_supported": sorted(RESPONSE_MODES),
        "request_object_signing_alg_values_supported": ["ES256"],
        "authorization_encryption_alg_values_supported": sorted(jwe.ALLOWED_ALGS),
        "authorization_encryption_enc_values_supported": list(enc_values),
    }
    if extra:
        md.update(extra)
    return md


def request_uri_post_body(*, wallet_nonce: str | None, wallet_metadata: Mapping[str, Any] | None = None,
                          ) -> dict[str, str]:
    """The form body a wallet POSTs to ``request_uri`` (§5.10): ``wallet_metadata`` (JSON) and ``wallet_nonce``."""
    body: dict[str, str] = {}
    if wallet_metadata is not None:
        body["wallet_metadata"] = json.dumps(dict(wallet_metadata), separators=(",", ":"))
    if wallet_nonce is not None:
        body["wallet_nonce"] = wallet_nonce
    return body


def parse_request_uri_post(form: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """Verifier side of §5.10: returns ``(wallet_metadata, wallet_nonce)`` from the POSTed form."""
    if not isinstance(form, Mapping):
        raise ProtocolError(_REQ, "form expected")
    md = form.get("wallet_metadata")
    metadata = None
    if md is not None:
        metadata = _json(md, code=_REQ, what="wallet_metadata", max_chars=64 * 1024)
        if not isinstance(metadata, dict):
            raise ProtocolError(_REQ, "wallet_metadata must be a JSON object")
    return metadata, opt_str(form, "wallet_nonce", max_len=512)


# ---------------------------------------------------------------- wallet: verify the request


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A checked authorization request. ``verified`` is False only for an unsigned ``redirect_uri:`` request;
    the wallet must then show the verifier as unverified."""

    client_id: str
    client_id_prefix: str
    client_identifier: str
    response_mode: str
    response_uri: str
    nonce: str
    state: str | None
    dcql_query: dict[str, Any]
    credential_query_ids: tuple[str, ...]
    client_metadata: dict[str, Any]
    verifier_info: tuple[dict[str, Any], ...]
    verified: bool
    leaf: x509.Certificate | None
    payload: dict[str, Any]


def _common_params(payload: Mapping[str, Any], code: str, allow_http_localhost: bool,
                   ) -> tuple[str, str, str, str | None, dict[str, Any], tuple[str, ...], dict[str, Any]]:
    if payload.get("response_type") != "vp_token":
        raise ProtocolError(code, "response_type must be vp_token")
    mode = payload.get("response_mode")
    if not one_of(mode, RESPONSE_MODES):
        raise ProtocolError(code, "response_mode must be direct_post or direct_post.jwt")
    assert isinstance(mode, str)
    if "redirect_uri" in payload:
        raise ProtocolError(code, "redirect_uri must not be present with direct_post (§8.2)")
    response_uri = payload.get("response_uri")
    if not is_https_url(response_uri, allow_http_localhost=allow_http_localhost):
        raise ProtocolError(code, "response_uri must be an https URL")
    assert isinstance(response_uri, str)
    nonce = req_str(payload, "nonce", code=code, max_len=512)
    state = opt_str(payload, "state", code=code, max_len=512)
    if "scope" in payload and "dcql_query" not in payload:
        raise ProtocolError(code, "scope-based requests are not supported; use dcql_query")
    dcql = payload.get("dcql_query")
    ids = _check_dcql(dcql, code)
    assert isinstance(dcql, dict)
    md = payload.get("client_metadata", {})
    if not isinstance(md, dict):
        raise ProtocolError(code, "client_metadata must be an object")
    if mode == "direct_post.jwt":
        _select_encryption_jwk(md, code)
    return mode, response_uri, nonce, state, dcql, ids, md


def verify_request_object(
    token: object,
    *,
    trust: ChainValidatorLike,
    now: datetime,
    url_client_id: str | None = None,
    expected_wallet_nonce: str | None = None,
    audiences: Collection[str] = (SELF_ISSUED_AUDIENCE,),
    require_aud: bool = False,
    allow_http_localhost: bool = False,
    leeway: int = 60,
) -> AuthorizationRequest:
    """Wallet side (§5, §5.9.3, §5.10; RFC 9101 §6; HAIP 1.0 §5):

    * ``typ`` ``oauth-authz-req+jwt``, alg allow-list, signature by the ``x5c`` leaf validated by ``trust``
      (a ChainValidator of role RP_ACCESS);
    * ``client_id`` equal to the one of the link (RFC 9101 §5), prefix ``x509_san_dns:`` (a SAN dNSName of the
      leaf AND the host of ``response_uri``) or ``x509_hash:`` (hash of the leaf); ``iss`` if present equals
      ``client_id``;
    * ``aud``, when present (or always with ``require_aud``), among ``audiences`` (§5.8: ``https://self-issued.me/v2``
      with static wallet metadata, the wallet's ``issuer`` after a ``request_uri`` POST with metadata; RFC 9101
      itself does not mandate ``aud``, and peers omit it); numeric ``exp`` not passed, ``iat`` not in the future;
    * ``wallet_nonce`` equal to ``expected_wallet_nonce`` when the wallet sent one (§5.10);
    * response_type vp_token, response_mode direct_post(.jwt) with an https ``response_uri``, ``nonce``,
      ``dcql_query`` and, for direct_post.jwt, an ECDH-ES key in ``client_metadata.jwks``.
    """
    code = _REQ_OBJ
    parsed = parse_jwt(token, code=code, typ=REQUEST_OBJECT_TYP, max_size=MAX_REQUEST_OBJECT)
    verified = verify_parsed(parsed, code=code, trust=trust, now=now)
    payload = verified.payload
    leaf = verified.leaf
    assert leaf is not None
    client_id = req_str(payload, "client_id", code=code)
    if url_client_id is not None and not text_equal(client_id, url_client_id):
        raise ProtocolError(code, "client_id of the request object differs from the link")
    if "iss" in payload and payload["iss"] != client_id:
        raise ProtocolError(code, "iss does not match client_id")
    aud = payload.get("aud")
    if aud is None:
        if require_aud:
            raise ProtocolError(code, "aud missing")
    elif not one_of(aud, audiences) and not (isinstance(aud, list) and len(aud) == 1 and one_of(aud[0], audiences)):
        raise ProtocolError(code, "aud is not this wallet")
    check_exp(payload, now, code=code, leeway=leeway)  # numeric exp required (peers demand it too)
    check_iat(payload, now, code=code, max_age=24 * 3600, leeway=leeway, required=False)
    if expected_wallet_nonce is not None:
        wn = payload.get("wallet_nonce")
        if not isinstance(wn, str) or not text_equal(wn, expected_wallet_nonce):
            raise ProtocolError(code, "wallet_nonce does not match")
    mode, response_uri, nonce, state, dcql, ids, md = _common_params(payload, code, allow_http_localhost)
    prefix, _, identifier = client_id.partition(":")
    if prefix == "x509_san_dns":
        names = [n.lower() for n in san_dns_names(leaf)]
        if not identifier or identifier.lower() not in names:
            raise ProtocolError(code, "client_id DNS name is not a SAN of the certificate")
        host = urlsplit(response_uri).hostname or ""
        if host.lower() != identifier.lower():
            raise ProtocolError(code, "response_uri host does not match the client_id DNS name")
    elif prefix == "x509_hash":
        if not text_equal(identifier, x509_hash(leaf)):
            raise ProtocolError(code, "client_id hash does not match the certificate")
    else:
        raise ProtocolError(code, "client_id prefix must be x509_san_dns or x509_hash for signed requests")
    info = _check_verifier_info(payload.get("verifier_info", []), code)
    return AuthorizationRequest(
        client_id=client_id, client_id_prefix=prefix, client_identifier=identifier, response_mode=mode,
        response_uri=response_uri, nonce=nonce, state=state, dcql_query=dcql, credential_query_ids=ids,
        client_metadata=md, verifier_info=tuple(info), verified=True, leaf=leaf, payload=payload,
    )


def unsigned_request(params: Mapping[str, Any], *, allow_unsigned: bool = False,
                     allow_http_localhost: bool = False) -> AuthorizationRequest:
    """An unsigned request by value with the ``redirect_uri:`` prefix (§5.9.3): accepted only with
    ``allow_unsigned``, requires ``client_id`` = ``redirect_uri:<response_uri>``, and is marked unverified."""
    if not allow_unsigned:
        raise ProtocolError(_REQ, "unsigned requests are not accepted")
    if not isinstance(params, Mapping):
        raise ProtocolError(_REQ, "parameters expected")
    payload: dict[str, Any] = dict(params)
    for name in ("dcql_query", "client_metadata", "verifier_info"):
        if name in payload:
            payload[name] = _json(payload[name], code=_REQ, what=name)
    client_id = req_str(payload, "client_id")
    prefix, _, identifier = client_id.partition(":")
    if prefix != "redirect_uri":
        raise ProtocolError(_REQ, "unsigned requests must use the redirect_uri prefix")
    mode, response_uri, nonce, state, dcql, ids, md = _common_params(payload, _REQ, allow_http_localhost)
    if identifier != response_uri:
        raise ProtocolError(_REQ, "client_id must equal the response_uri")
    info = _check_verifier_info(payload.get("verifier_info", []), _REQ)
    return AuthorizationRequest(
        client_id=client_id, client_id_prefix=prefix, client_identifier=identifier, response_mode=mode,
        response_uri=response_uri, nonce=nonce, state=state, dcql_query=dcql, credential_query_ids=ids,
        client_metadata=md, verifier_info=tuple(info), verified=False, leaf=None, payload=payload,
    )


# ---------------------------------------------------------------- responses (§8)


def _select_encryption_jwk(client_metadata: Mapping[str, Any], code: str) -> dict[str, Any]:
    """§8.3: the first key of ``client_metadata.jwks`` usable for ECDH-ES (EC, public, with a ``kid``)."""
    jwks = client_metadata.get("jwks")
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list):
        raise ProtocolError(code, "client_metadata.jwks with an encryption key is required for direct_post.jwt")
    for k in keys:
        if (isinstance(k, dict) and k.get("kty") == "EC" and k.get("crv") in ("P-256", "P-384") and "d" not in k
                and k.get("use") in (None, "enc") and one_of(k.get("alg", "ECDH-ES"), jwe.ALLOWED_ALGS)
                and isinstance(k.get("kid"), str)):
            return k
    raise ProtocolError(code, "no usable ECDH-ES encryption key in client_metadata.jwks")


def _multiple_ids(dcql_query: Mapping[str, Any] | None) -> frozenset[str]:
    if not isinstance(dcql_query, Mapping):
        return frozenset()
    creds = dcql_query.get("credentials")
    if not isinstance(creds, list):
        return frozenset()
    return frozenset(c["id"] for c in creds
                     if isinstance(c, dict) and isinstance(c.get("id"), str) and c.get("multiple") is True)


def _check_vp_token(vp_token: object, ids: Collection[str] | None, code: str,
                    multiple: Collection[str] | None = None) -> dict[str, list[Any]]:
    """§8.1: a JSON object keyed by DCQL credential query id, each a non-empty array of presentations; more than
    one presentation only where the credential query says ``"multiple": true`` (§6.1), when ``multiple`` is known."""
    if not isinstance(vp_token, dict) or not vp_token:
        raise ProtocolError(code, "vp_token must be a non-empty JSON object")
    for key, value in vp_token.items():
        if ids is not None and key not in ids:
            raise ProtocolError(code, "vp_token names a credential query that was not asked for")
        if not isinstance(value, list) or not value or not all(isinstance(p, str | dict) for p in value):
            raise ProtocolError(code, "each vp_token entry must be a non-empty array of presentations")
        if multiple is not None and len(value) > 1 and key not in multiple:
            raise ProtocolError(code, "several presentations for a credential query without multiple")
    return vp_token


def build_authorization_response(
    request: AuthorizationRequest, vp_token: Mapping[str, Sequence[str | Mapping[str, Any]]],
) -> dict[str, str]:
    """Wallet side: the form body POSTed to ``response_uri`` (§8.2). For ``direct_post.jwt`` (§8.3) the
    parameters are encrypted as a JWE (ECDH-ES; ``enc`` the first of the verifier's
    ``encrypted_response_enc_values_supported`` that HAIP allows, default A128GCM) and sent as ``response``."""
    token = {k: list(v) for k, v in vp_token.items()}
    _check_vp_token(token, request.credential_query_ids, "server_error", _multiple_ids(request.dcql_query))
    params: dict[str, Any] = {"vp_token": token}
    if request.state is not None:
        params["state"] = request.state
    if request.response_mode == "direct_post":
        return {k: (v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))) for k, v in params.items()}
    jwk = _select_encryption_jwk(request.client_metadata, "invalid_request")
    offered = request.client_metadata.get("encrypted_response_enc_values_supported", ["A128GCM"])
    if not isinstance(offered, list):
        raise ProtocolError("invalid_request", "encrypted_response_enc_values_supported must be an array")
    enc = next((e for e in offered if one_of(e, jwe.ALLOWED_ENCS)), None)
    if enc is None:
        raise ProtocolError("invalid_request", "no supported content encryption offered")
    plaintext = json.dumps(params, separators=(",", ":"), ensure_ascii=False).encode()
    return {"response": jwe.encrypt(plaintext, jwk, enc=enc)}


@dataclass(frozen=True, slots=True)
class AuthorizationResponse:
    """What the verifier received: the presentations per DCQL credential query id, or the wallet's error."""

    vp_token: dict[str, list[Any]]
    state: str | None
    error: str | None = None
    error_description: str | None = None
    encrypted: bool = False


def parse_authorization_response(
    form: Mapping[str, Any],
    *,
    response_mode: Literal["direct_post", "direct_post.jwt"],
    expected_state: str | None,
    credential_query_ids: Collection[str] | None = None,
    decryption_key: jwe.EncryptionKey | None = None,
    enc_values: Collection[str] = jwe.ALLOWED_ENCS,
    dcql_query: Mapping[str, Any] | None = None,
) -> AuthorizationResponse:
    """Verifier side (§8.2, §8.3, §8.5): decrypt ``response`` for direct_post.jwt (header ``kid`` = our key,
    alg ECDH-ES, enc allowed; no plain parameters beside it), check ``state`` (constant time) and the
    ``vp_token`` shape (with ``dcql_query``: only its credential query ids, one presentation each unless
    ``multiple``). A wallet error response (``error``) comes back as such, after the state check."""
    code = _REQ
    if not isinstance(form, Mapping):
        raise ProtocolError(code, "form expected")
    encrypted = False
    if response_mode == "direct_post.jwt":
        if decryption_key is None:
            raise ProtocolError("server_error", "direct_post.jwt needs the decryption key")
        if "error" in form and "response" not in form:
            params: dict[str, Any] = dict(form)
        else:
            if set(form) - {"response"}:
                raise ProtocolError(code, "direct_post.jwt responses carry only the response parameter")
            decrypted = jwe.decrypt(form.get("response"), decryption_key.private_key, expected_kid=decryption_key.kid,
                                    encryptions=enc_values, code=code, max_size=MAX_RESPONSE)
            params = _json(decrypted.plaintext, code=code, what="response", max_chars=MAX_RESPONSE)
            if not isinstance(params, dict):
                raise ProtocolError(code, "decrypted response is not a JSON object")
            encrypted = True
    elif response_mode == "direct_post":
        params = dict(form)
    else:
        raise ProtocolError("server_error", "unsupported response_mode")
    state = params.get("state")
    if expected_state is not None:
        if not isinstance(state, str) or not text_equal(state, expected_state):
            raise ProtocolError(code, "state does not match")
    elif state is not None:
        raise ProtocolError(code, "unexpected state")
    if "error" in params:
        err = params["error"]
        if not isinstance(err, str) or len(err) > 128:
            raise ProtocolError(code, "malformed error response")
        desc = params.get("error_description")
        return AuthorizationResponse({}, state, err, desc if isinstance(desc, str) else None, encrypted)
    vp = _json(params.get("vp_token"), code=code, what="vp_token", max_chars=MAX_RESPONSE)
    if dcql_query is not None and credential_query_ids is None:
        credential_query_ids = _check_dcql(dict(dcql_query), "server_error")
    multiple = _multiple_ids(dcql_query) if dcql_query is not None else None
    return AuthorizationResponse(_check_vp_token(vp, credential_query_ids, code, multiple), state,
                                 encrypted=encrypted)
