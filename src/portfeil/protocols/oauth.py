"""OAuth 2.0 pieces the issuer's authorization server needs, pure (no HTTP, no storage):

* Pushed Authorization Requests (RFC 9126 §2.1, §2.2) with PKCE S256 (RFC 7636) and OpenID4VCI 1.0 §5.1
  (``scope`` and/or ``authorization_details`` of type ``openid_credential``, RFC 9396), ``request_uri`` values;
* token requests for ``authorization_code`` (RFC 6749 §4.1.3) and the pre-authorized code grant
  (OpenID4VCI 1.0 §6.1, ``tx_code``), with the grant checks of §6.3;
* the token response (RFC 6749 §5.1, RFC 9449 §5 ``token_type`` DPoP, OpenID4VCI 1.0 §6.2
  ``authorization_details`` with ``credential_identifiers``);
* Authorization Server metadata (RFC 8414 §2) with what HAIP 1.0 §4 asks.

Request data comes in as the parsed form (``Mapping[str, str]``; JSON-valued parameters such as
``authorization_details`` as their JSON text or already decoded).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from portfeil.consttime import text_equal
from portfeil.protocols._common import MAX_STRING, opt_str, random_token, req_str
from portfeil.protocols.client_attestation import TOKEN_ENDPOINT_AUTH_METHOD
from portfeil.protocols.errors import ProtocolError
from portfeil.protocols.pkce import PKCE_METHOD, check_code_verifier, validate_code_challenge

__all__ = [
    "AUTHORIZATION_CODE_GRANT",
    "OPENID_CREDENTIAL",
    "PRE_AUTHORIZED_CODE_GRANT",
    "REQUEST_URI_PREFIX",
    "AuthorizationDetail",
    "ParRequest",
    "ParsedTokenResponse",
    "TokenRequest",
    "authorization_server_metadata",
    "check_authorization_code_grant",
    "check_pre_authorized_code_grant",
    "new_request_uri",
    "par_response",
    "parse_authorization_details",
    "parse_authorization_server_metadata",
    "parse_par_response",
    "parse_request_uri",
    "parse_token_response",
    "token_response",
    "validate_par_request",
    "validate_token_request",
]

AUTHORIZATION_CODE_GRANT: Final[str] = "authorization_code"
PRE_AUTHORIZED_CODE_GRANT: Final[str] = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
REFRESH_TOKEN_GRANT: Final[str] = "refresh_token"  # noqa: S105
OPENID_CREDENTIAL: Final[str] = "openid_credential"
REQUEST_URI_PREFIX: Final[str] = "urn:ietf:params:oauth:request_uri:"
_REQUEST_URI_RE: Final[re.Pattern[str]] = re.compile(r"urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{22,128}")
MAX_AUTHORIZATION_DETAILS: Final[int] = 32


@dataclass(frozen=True, slots=True)
class AuthorizationDetail:
    """One ``openid_credential`` authorization details entry (OpenID4VCI 1.0 §5.1.1, RFC 9396 §2)."""

    credential_configuration_id: str
    claims: tuple[dict[str, Any], ...] = ()
    locations: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": OPENID_CREDENTIAL, "credential_configuration_id": self.credential_configuration_id,
        }
        if self.claims:
            out["claims"] = [dict(c) for c in self.claims]
        if self.locations:
            out["locations"] = list(self.locations)
        return out


@dataclass(frozen=True, slots=True)
class ParRequest:
    """A validated pushed authorization request (RFC 9126 §2.1)."""

    client_id: str
    redirect_uri: str
    code_challenge: str
    scopes: tuple[str, ...]
    authorization_details: tuple[AuthorizationDetail, ...]
    state: str | None
    issuer_state: str | None
    dpop_jkt: str | None
    credential_configuration_ids: tuple[str, ...]
    """Every configuration asked for, through ``scope`` (mapped) or ``authorization_details``, in order."""
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """A syntactically valid token request (RFC 6749 §4.1.3, OpenID4VCI 1.0 §6.1)."""

    grant_type: str
    client_id: str | None
    code: str | None = None
    redirect_uri: str | None = None
    code_verifier: str | None = None
    pre_authorized_code: str | None = None
    tx_code: str | None = None
    refresh_token: str | None = None
    authorization_details: tuple[AuthorizationDetail, ...] = ()


def _form_str(params: Mapping[str, Any], name: str, *, required: bool, code: str = "invalid_request") -> str | None:
    value = params.get(name)
    if isinstance(value, list | tuple):  # repeated form parameters are refused (RFC 6749 §3.1)
        raise ProtocolError(code, f"{name} must not be repeated")
    if required:
        return req_str(params, name, code=code)
    return opt_str(params, name, code=code)


def parse_authorization_details(
    value: object,
    *,
    known_configuration_ids: Collection[str] | None = None,
    code: str = "invalid_request",
) -> tuple[AuthorizationDetail, ...]:
    """``authorization_details`` (RFC 9396 §2, OpenID4VCI 1.0 §5.1.1): a JSON array (or its text) of objects of
    type ``openid_credential`` with a ``credential_configuration_id``. Other types are refused
    (RFC 9396 §5: ``invalid_authorization_details``)."""
    if isinstance(value, str):
        if len(value) > 64 * 1024:
            raise ProtocolError(code, "authorization_details too large")
        try:
            value = json.loads(value)
        except (ValueError, RecursionError) as exc:
            raise ProtocolError(code, "authorization_details is not JSON") from exc
    if not isinstance(value, list) or not 0 < len(value) <= MAX_AUTHORIZATION_DETAILS:
        raise ProtocolError(code, "authorization_details must be a non-empty JSON array")
    out: list[AuthorizationDetail] = []
    for item in value:
        if not isinstance(item, dict):
            raise ProtocolError(code, "authorization_details entries must be objects")
        if item.get("type") != OPENID_CREDENTIAL:
            raise ProtocolError("invalid_authorization_details", "authorization_details type is not openid_credential")
        config_id = req_str(item, "credential_configuration_id", code="invalid_authorization_details")
        if known_configuration_ids is not None and config_id not in known_configuration_ids:
            raise ProtocolError("invalid_authorization_details", "unknown credential_configuration_id")
        claims = item.get("claims", [])
        if not isinstance(claims, list) or not all(isinstance(c, dict) for c in claims):
            raise ProtocolError("invalid_authorization_details", "claims must be an array of objects")
        locations = item.get("locations", [])
        if not isinstance(locations, list) or not all(isinstance(u, str) for u in locations):
            raise ProtocolError("invalid_authorization_details", "locations must be an array of strings")
        out.append(AuthorizationDetail(config_id, tuple(claims), tuple(locations)))
    return tuple(out)


def validate_par_request(
    params: Mapping[str, Any],
    *,
    authenticated_client_id: str | None = None,
    redirect_uri_allowed: Callable[[str], bool] | None = None,
    scope_to_configuration: Mapping[str, str] | None = None,
    known_configuration_ids: Collection[str] | None = None,
    credential_issuer: str | None = None,
) -> ParRequest:
    """Validate a pushed authorization request body (RFC 9126 §2.1; OpenID4VCI 1.0 §5.1; HAIP 1.0 §4.1).

    * ``request_uri`` must not be present (RFC 9126 §2.1); ``request`` (JAR) is not supported here;
    * ``client_id`` present and equal to the authenticated client (``authenticated_client_id``, RFC 9126 §2.1);
    * ``response_type`` = ``code``; ``redirect_uri`` present and allowed;
    * ``code_challenge`` with ``code_challenge_method`` S256 mandatory (RFC 7636 §4.3, HAIP 1.0);
    * ``scope`` (mapped through ``scope_to_configuration``) and/or ``authorization_details`` of type
      ``openid_credential``; at least one credential must be asked for; ``locations`` must name
      ``credential_issuer`` when given (OpenID4VCI 1.0 §5.1.1).
    """
    if not isinstance(params, Mapping):
        raise ProtocolError("invalid_request", "request body must be form parameters")
    if "request_uri" in params:
        raise ProtocolError("invalid_request", "request_uri must not be sent to the PAR endpoint")
    if "request" in params:
        raise ProtocolError("request_not_supported", "request objects are not supported at the PAR endpoint")
    client_id = _form_str(params, "client_id", required=True)
    assert client_id is not None
    if authenticated_client_id is not None and not text_equal(client_id, authenticated_client_id):
        raise ProtocolError("invalid_client", "client_id does not match the authenticated client")
    if _form_str(params, "response_type", required=True) != "code":
        raise ProtocolError("unsupported_response_type", "response_type must be code")
    redirect_uri = _form_str(params, "redirect_uri", required=True)
    assert redirect_uri is not None
    if redirect_uri_allowed is not None and not redirect_uri_allowed(redirect_uri):
        raise ProtocolError("invalid_request", "redirect_uri is not registered for this client")
    challenge = validate_code_challenge(params.get("code_challenge"), params.get("code_challenge_method"))
    scope = _form_str(params, "scope", required=False)
    scopes = tuple(s for s in (scope or "").split(" ") if s)
    config_ids: list[str] = []
    for s in scopes:
        if scope_to_configuration is not None:
            if s in scope_to_configuration:
                config_ids.append(scope_to_configuration[s])
            elif s != "openid":
                raise ProtocolError("invalid_scope", "unknown scope")
    details: tuple[AuthorizationDetail, ...] = ()
    if params.get("authorization_details") is not None:
        details = parse_authorization_details(params["authorization_details"],
                                              known_configuration_ids=known_configuration_ids)
        for d in details:
            if d.locations and credential_issuer is not None and credential_issuer not in d.locations:
                raise ProtocolError("invalid_authorization_details", "locations do not name this credential issuer")
            config_ids.append(d.credential_configuration_id)
    if not config_ids:
        raise ProtocolError("invalid_request", "no credential requested: give a scope or authorization_details")
    dpop_jkt = _form_str(params, "dpop_jkt", required=False)
    known = {"client_id", "response_type", "redirect_uri", "code_challenge", "code_challenge_method", "scope",
             "authorization_details", "state", "issuer_state", "dpop_jkt"}
    extra = {k: v for k, v in params.items() if k not in known and isinstance(v, str) and len(v) <= MAX_STRING}
    return ParRequest(
        client_id=client_id, redirect_uri=redirect_uri, code_challenge=challenge, scopes=scopes,
        authorization_details=details, state=_form_str(params, "state", required=False),
        issuer_state=_form_str(params, "issuer_state", required=False), dpop_jkt=dpop_jkt,
        credential_configuration_ids=tuple(dict.fromkeys(config_ids)), extra=extra,
    )


def new_request_uri() -> str:
    """A fresh ``request_uri`` (RFC 9126 §2.2): the URN prefix and 32 random octets."""
    return REQUEST_URI_PREFIX + random_token(32)


def parse_request_uri(value: object) -> str:
    """Check a ``request_uri`` sent to the authorization endpoint has our format (RFC 9126 §4)."""
    if not isinstance(value, str) or not _REQUEST_URI_RE.fullmatch(value):
        raise ProtocolError("invalid_request_uri", "request_uri is malformed")
    return value


def par_response(request_uri: str, expires_in: int) -> dict[str, Any]:
    """The PAR response body, HTTP 201 (RFC 9126 §2.2)."""
    if expires_in <= 0:
        raise ProtocolError("server_error", "expires_in must be positive")
    return {"request_uri": request_uri, "expires_in": int(expires_in)}


def validate_token_request(
    params: Mapping[str, Any],
    *,
    known_configuration_ids: Collection[str] | None = None,
    allow_refresh: bool = False,
) -> TokenRequest:
    """Syntax of a token request (RFC 6749 §4.1.3, §6; OpenID4VCI 1.0 §6.1). Grant checks follow in
    :func:`check_authorization_code_grant` / :func:`check_pre_authorized_code_grant` with the stored state."""
    if not isinstance(params, Mapping):
        raise ProtocolError("invalid_request", "request body must be form parameters")
    grant_type = _form_str(params, "grant_type", required=True)
    client_id = _form_str(params, "client_id", required=False)
    details: tuple[AuthorizationDetail, ...] = ()
    if params.get("authorization_details") is not None:
        details = parse_authorization_details(params["authorization_details"],
                                              known_configuration_ids=known_configuration_ids)
    if grant_type == AUTHORIZATION_CODE_GRANT:
        return TokenRequest(
            grant_type=grant_type, client_id=client_id, code=_form_str(params, "code", required=True),
            redirect_uri=_form_str(params, "redirect_uri", required=False),
            code_verifier=_form_str(params, "code_verifier", required=True, code="invalid_grant"),
            authorization_details=details,
        )
    if grant_type == PRE_AUTHORIZED_CODE_GRANT:
        return TokenRequest(
            grant_type=grant_type, client_id=client_id,
            pre_authorized_code=_form_str(params, "pre-authorized_code", required=True),
            tx_code=_form_str(params, "tx_code", required=False), authorization_details=details,
        )
    if grant_type == REFRESH_TOKEN_GRANT and allow_refresh:
        return TokenRequest(grant_type=grant_type, client_id=client_id,
                            refresh_token=_form_str(params, "refresh_token", required=True))
    raise ProtocolError("unsupported_grant_type", "grant_type is not supported")


def check_authorization_code_grant(
    request: TokenRequest,
    *,
    code_challenge: str,
    redirect_uri: str,
    client_id: str,
) -> None:
    """RFC 6749 §4.1.3 + RFC 7636 §4.6 against what the authorization request stored: same client, same
    ``redirect_uri``, the ``code_verifier`` matches the S256 challenge. Expiry and single use of the code are the
    service's (it looked the code up); a mismatch is ``invalid_grant``."""
    if request.grant_type != AUTHORIZATION_CODE_GRANT:
        raise ProtocolError("unsupported_grant_type", "not an authorization_code request")
    if request.client_id is not None and request.client_id != client_id:
        raise ProtocolError("invalid_grant", "the code was issued to another client")
    if request.redirect_uri != redirect_uri:
        raise ProtocolError("invalid_grant", "redirect_uri does not match the authorization request")
    check_code_verifier(request.code_verifier, code_challenge)


def check_pre_authorized_code_grant(
    request: TokenRequest,
    *,
    expected_tx_code: str | None,
    anonymous_access_supported: bool = True,
) -> None:
    """OpenID4VCI 1.0 §6.1/§6.3 for the pre-authorized code grant: ``tx_code`` missing when one was announced is
    ``invalid_request``, a wrong one ``invalid_grant``; no ``client_id`` without anonymous access support is
    ``invalid_client``."""
    if request.grant_type != PRE_AUTHORIZED_CODE_GRANT:
        raise ProtocolError("unsupported_grant_type", "not a pre-authorized_code request")
    if request.client_id is None and not anonymous_access_supported:
        raise ProtocolError("invalid_client", "anonymous access with a pre-authorized code is not supported")
    if expected_tx_code is None:
        if request.tx_code is not None:
            raise ProtocolError("invalid_request", "tx_code sent but none was expected")
        return
    if request.tx_code is None:
        raise ProtocolError("invalid_request", "tx_code is required")
    if not text_equal(request.tx_code, expected_tx_code):
        raise ProtocolError("invalid_grant", "tx_code is wrong")


def token_response(
    access_token: str,
    *,
    expires_in: int,
    token_type: str = "DPoP",  # noqa: S107
    credential_identifiers: Mapping[str, Sequence[str]] | None = None,
    refresh_token: str | None = None,
    scope: str | None = None,
) -> dict[str, Any]:
    """The token response (RFC 6749 §5.1; RFC 9449 §5 ``token_type`` DPoP; OpenID4VCI 1.0 §6.2:
    ``authorization_details`` entries carry the ``credential_identifiers`` per configuration)."""
    if token_type not in ("DPoP", "Bearer"):
        raise ProtocolError("server_error", "token_type must be DPoP or Bearer")
    out: dict[str, Any] = {"access_token": access_token, "token_type": token_type, "expires_in": int(expires_in)}
    if credential_identifiers:
        out["authorization_details"] = [
            {"type": OPENID_CREDENTIAL, "credential_configuration_id": cid, "credential_identifiers": list(ids)}
            for cid, ids in credential_identifiers.items()
        ]
    if refresh_token is not None:
        out["refresh_token"] = refresh_token
    if scope is not None:
        out["scope"] = scope
    return out


def authorization_server_metadata(
    issuer: str,
    *,
    authorization_endpoint: str,
    token_endpoint: str,
    pushed_authorization_request_endpoint: str,
    jwks_uri: str | None = None,
    nonce_endpoint: str | None = None,
    challenge_endpoint: str | None = None,
    scopes_supported: Sequence[str] = (),
    dpop_signing_alg_values_supported: Sequence[str] = ("ES256",),
    client_attestation_signing_alg_values_supported: Sequence[str] = ("ES256",),
    pre_authorized_grant_anonymous_access_supported: bool = True,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Authorization Server metadata (RFC 8414 §2) as HAIP 1.0 §4 asks: PAR required (RFC 9126 §5), DPoP
    (RFC 9449 §5.1), PKCE S256 (RFC 7636 / RFC 8414), ``attest_jwt_client_auth``, both grants, RFC 9396
    ``openid_credential`` details, RFC 9207 ``iss`` in responses and OpenID4VCI 1.0 §12.3
    ``pre-authorized_grant_anonymous_access_supported``."""
    md: dict[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": authorization_endpoint,
        "token_endpoint": token_endpoint,
        "pushed_authorization_request_endpoint": pushed_authorization_request_endpoint,
        "require_pushed_authorization_requests": True,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [AUTHORIZATION_CODE_GRANT, PRE_AUTHORIZED_CODE_GRANT],
        "code_challenge_methods_supported": [PKCE_METHOD],
        "dpop_signing_alg_values_supported": list(dpop_signing_alg_values_supported),
        "token_endpoint_auth_methods_supported": [TOKEN_ENDPOINT_AUTH_METHOD],
        "client_attestation_signing_alg_values_supported": list(client_attestation_signing_alg_values_supported),
        "client_attestation_pop_signing_alg_values_supported": list(client_attestation_signing_alg_values_supported),
        "authorization_details_types_supported": [OPENID_CREDENTIAL],
        "authorization_response_iss_parameter_supported": True,
        "pre-authorized_grant_anonymous_access_supported": pre_authorized_grant_anonymous_access_supported,
    }
    if jwks_uri is not None:
        md["jwks_uri"] = jwks_uri
    if nonce_endpoint is not None:
        md["nonce_endpoint"] = nonce_endpoint
    if challenge_endpoint is not None:
        md["challenge_endpoint"] = challenge_endpoint
    if scopes_supported:
        md["scopes_supported"] = list(scopes_supported)
    if extra:
        md.update(extra)
    return md


# ---------------------------------------------------------------- client (wallet) side parsers


def _json_obj(data: object, code: str, what: str) -> dict[str, Any]:
    if isinstance(data, str | bytes):
        if len(data) > 256 * 1024:
            raise ProtocolError(code, f"{what} is too large")
        try:
            data = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise ProtocolError(code, f"{what} is not JSON") from exc
    if not isinstance(data, dict):
        raise ProtocolError(code, f"{what} is not a JSON object")
    return data


def parse_par_response(data: object) -> tuple[str, int]:
    """Wallet side of RFC 9126 §2.2: ``request_uri`` and a positive integer ``expires_in``."""
    obj = _json_obj(data, "invalid_response", "PAR response")
    uri = req_str(obj, "request_uri", code="invalid_response")
    exp = obj.get("expires_in")
    if not isinstance(exp, int) or isinstance(exp, bool) or exp <= 0:
        raise ProtocolError("invalid_response", "expires_in must be a positive integer")
    return uri, exp


@dataclass(frozen=True, slots=True)
class ParsedTokenResponse:
    access_token: str
    token_type: str
    expires_in: int | None
    refresh_token: str | None
    credential_identifiers: dict[str, tuple[str, ...]]
    """credential_configuration_id -> credential_identifiers (OpenID4VCI 1.0 §6.2)."""


def parse_token_response(data: object, *, expect_dpop: bool = True) -> ParsedTokenResponse:
    """Wallet side of RFC 6749 §5.1 / RFC 9449 §5 / OpenID4VCI 1.0 §6.2. With DPoP, ``token_type`` must be
    ``DPoP`` (case-insensitive, RFC 9449 §5): a Bearer token where DPoP was asked for is refused."""
    code = "invalid_response"
    obj = _json_obj(data, code, "token response")
    token = req_str(obj, "access_token", code=code)
    token_type = req_str(obj, "token_type", code=code, max_len=32)
    if expect_dpop and token_type.lower() != "dpop":
        raise ProtocolError(code, "token_type is not DPoP")
    exp = obj.get("expires_in")
    if exp is not None and (not isinstance(exp, int) or isinstance(exp, bool) or exp <= 0):
        raise ProtocolError(code, "expires_in must be a positive integer")
    ids: dict[str, tuple[str, ...]] = {}
    details = obj.get("authorization_details")
    if details is not None:
        if not isinstance(details, list):
            raise ProtocolError(code, "authorization_details must be an array")
        for d in details:
            if not isinstance(d, dict) or d.get("type") != OPENID_CREDENTIAL:
                continue
            cid = req_str(d, "credential_configuration_id", code=code)
            values = d.get("credential_identifiers")
            if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
                raise ProtocolError(code, "credential_identifiers must be a non-empty array of strings")
            ids[cid] = tuple(values)
    return ParsedTokenResponse(token, token_type, exp, opt_str(obj, "refresh_token", code=code), ids)


def parse_authorization_server_metadata(data: object, *, expected_issuer: str) -> dict[str, Any]:
    """Wallet side of RFC 8414 §3.3: ``issuer`` identical to the one asked for; the endpoints used by the
    OpenID4VCI flows are https URLs; PKCE S256 must be offered when the methods are listed."""
    from portfeil.protocols._common import is_https_url

    code = "invalid_response"
    md = _json_obj(data, code, "authorization server metadata")
    if md.get("issuer") != expected_issuer:
        raise ProtocolError(code, "issuer does not match the authorization server identifier")
    for name in ("token_endpoint", "authorization_endpoint", "pushed_authorization_request_endpoint", "jwks_uri",
                 "nonce_endpoint"):
        if name in md and not is_https_url(md[name], allow_http_localhost=False):
            raise ProtocolError(code, f"{name} is not an https URL")
    if not is_https_url(md.get("token_endpoint")):
        raise ProtocolError(code, "token_endpoint missing")
    methods = md.get("code_challenge_methods_supported")
    if methods is not None and (not isinstance(methods, list) or PKCE_METHOD not in methods):
        raise ProtocolError(code, "the authorization server does not offer PKCE S256")
    return md
