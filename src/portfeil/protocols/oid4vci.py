"""OpenID for Verifiable Credential Issuance 1.0 (final) messages and checks, pure.

* Credential Issuer metadata (§12.2.4) builder and wallet-side parser (§12.2.3);
* credential offers (§4.1) by value and by reference, with the ``openid-credential-offer://`` scheme
  (§4.1) and HAIP 1.0's ``haip-vci://``; build and parse;
* credential requests (§8.2: ``credential_identifier`` or ``credential_configuration_id``, ``proofs`` only -
  the pre-1.0 ``proof`` is refused), JWT proofs (Appendix F.1) and key attestation proofs (Appendix F.3,
  Annex D), returning the holder keys to bind credentials to (several = batch, §8.2);
* credential responses (§8.3), deferred (§9), nonce (§7.2) and notification (§11) messages;
* credential response encryption and request decryption (§10) with ECDH-ES + A128GCM/A256GCM
  (:mod:`portfeil.protocols.jwe`).

Error codes are those of §8.3.1.2 (``invalid_credential_request``, ``unknown_credential_configuration``,
``unknown_credential_identifier``, ``invalid_proof``, ``invalid_nonce``, ``invalid_encryption_parameters``,
``credential_request_denied``), §9.3 (``invalid_transaction_id``) and §11.3. OpenID4VCI 1.0 replaced the older
``unsupported_credential_type``/``unsupported_credential_format`` with the two ``unknown_*`` codes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal
from urllib.parse import parse_qs, quote, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from portfeil.formats.jws import ChainValidatorLike
from portfeil.protocols import jwe
from portfeil.protocols._common import (
    MAX_STRING,
    JWSPrivateKey,
    check_iat,
    is_https_url,
    jwk_thumbprint,
    key_from_jwk,
    one_of,
    opt_str,
    parse_jwt,
    public_jwk,
    req_str,
    sign_jwt,
    str_list,
    timestamp,
    verify_parsed,
)
from portfeil.protocols.client_attestation import KeyAttestation, verify_key_attestation
from portfeil.protocols.errors import ProtocolError
from portfeil.protocols.oauth import AUTHORIZATION_CODE_GRANT, PRE_AUTHORIZED_CODE_GRANT

__all__ = [
    "CREDENTIAL_OFFER_SCHEME",
    "HAIP_CREDENTIAL_OFFER_SCHEME",
    "NOTIFICATION_EVENTS",
    "PROOF_TYP",
    "ClaimDescription",
    "CredentialConfiguration",
    "CredentialOffer",
    "CredentialRequest",
    "HolderKey",
    "Notification",
    "ParsedCredentialResponse",
    "ProofRequirements",
    "ResponseEncryption",
    "TxCode",
    "build_credential_offer",
    "create_proof_jwt",
    "credential_issuer_metadata",
    "credential_offer_uri",
    "credential_response",
    "decrypt_credential_request",
    "deferred_pending_response",
    "encrypt_credential_response",
    "new_tx_code",
    "nonce_response",
    "parse_credential_issuer_metadata",
    "parse_credential_offer",
    "parse_credential_offer_uri",
    "parse_credential_response",
    "parse_nonce_response",
    "proof_requirements",
    "validate_credential_request",
    "validate_deferred_credential_request",
    "validate_notification_request",
    "verify_proofs",
]

CREDENTIAL_OFFER_SCHEME: Final[str] = "openid-credential-offer://"
HAIP_CREDENTIAL_OFFER_SCHEME: Final[str] = "haip-vci://"
PROOF_TYP: Final[str] = "openid4vci-proof+jwt"
NOTIFICATION_EVENTS: Final[frozenset[str]] = frozenset({"credential_accepted", "credential_failure",
                                                        "credential_deleted"})
MAX_PROOFS: Final[int] = 100
MAX_OFFER_CHARS: Final[int] = 16 * 1024
_REQ: Final[str] = "invalid_credential_request"


def _json_object(value: object, *, code: str, what: str, max_chars: int = 256 * 1024) -> dict[str, Any]:
    if isinstance(value, str | bytes):
        if len(value) > max_chars:
            raise ProtocolError(code, f"{what} is too large")
        try:
            value = json.loads(value)
        except (ValueError, RecursionError) as exc:
            raise ProtocolError(code, f"{what} is not JSON") from exc
    if not isinstance(value, dict):
        raise ProtocolError(code, f"{what} is not a JSON object")
    return value


# ---------------------------------------------------------------- issuer metadata (§12.2)


@dataclass(frozen=True, slots=True)
class ClaimDescription:
    """A claims description (Appendix B.2): ``path`` (claims path pointer), display names, mandatory flag."""

    path: tuple[str | int | None, ...]
    display: Mapping[str, str] = field(default_factory=dict)
    """locale -> name, e.g. {"bg": "Фамилия", "en": "Family name"}."""
    mandatory: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": list(self.path)}
        if self.mandatory:
            out["mandatory"] = True
        if self.display:
            out["display"] = [{"name": name, "locale": loc} for loc, name in self.display.items()]
        return out


@dataclass(frozen=True, slots=True)
class CredentialConfiguration:
    """One entry of ``credential_configurations_supported`` (§12.2.4, Appendix A).

    ``format`` ``dc+sd-jwt`` needs ``vct`` (A.3); ``mso_mdoc`` needs ``doctype`` (A.2) and takes COSE algorithm
    numbers in ``credential_signing_alg_values_supported`` (A.2.2)."""

    id: str
    format: Literal["dc+sd-jwt", "mso_mdoc"]
    scope: str
    vct: str | None = None
    doctype: str | None = None
    display: Mapping[str, str] = field(default_factory=dict)
    """locale -> credential name (bg and en)."""
    claims: Sequence[ClaimDescription] = ()
    credential_signing_alg_values_supported: Sequence[str | int] = ("ES256",)
    proof_signing_alg_values_supported: Sequence[str] = ("ES256",)
    key_attestations_required: Mapping[str, Sequence[str]] | None = None
    """e.g. {"key_storage": ["iso_18045_high"], "user_authentication": ["iso_18045_high"]} (§12.2.4)."""

    def to_dict(self) -> dict[str, Any]:
        if self.format == "dc+sd-jwt" and not self.vct:
            raise ProtocolError("server_error", "dc+sd-jwt configurations need a vct")
        if self.format == "mso_mdoc" and not self.doctype:
            raise ProtocolError("server_error", "mso_mdoc configurations need a doctype")
        jwt_proof: dict[str, Any] = {
            "proof_signing_alg_values_supported": list(self.proof_signing_alg_values_supported),
        }
        if self.key_attestations_required is not None:
            jwt_proof["key_attestations_required"] = {k: list(v) for k, v in self.key_attestations_required.items()}
        out: dict[str, Any] = {
            "format": self.format,
            "scope": self.scope,
            "cryptographic_binding_methods_supported": ["jwk"] if self.format == "dc+sd-jwt" else ["cose_key"],
            "credential_signing_alg_values_supported": list(self.credential_signing_alg_values_supported),
            "proof_types_supported": {"jwt": jwt_proof},
            "credential_metadata": {
                "display": [{"name": name, "locale": loc} for loc, name in self.display.items()],
                "claims": [c.to_dict() for c in self.claims],
            },
        }
        if self.vct:
            out["vct"] = self.vct
        if self.doctype:
            out["doctype"] = self.doctype
        return out


def credential_issuer_metadata(
    credential_issuer: str,
    *,
    configurations: Sequence[CredentialConfiguration],
    display: Mapping[str, str],
    credential_endpoint: str | None = None,
    nonce_endpoint: str | None = None,
    deferred_credential_endpoint: str | None = None,
    notification_endpoint: str | None = None,
    authorization_servers: Sequence[str] = (),
    batch_size: int | None = None,
    response_encryption_required: bool | None = None,
    request_encryption_jwks: Sequence[Mapping[str, Any]] = (),
    request_encryption_required: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Credential Issuer metadata (§12.2.4). ``display`` is locale -> issuer name (``bg``, ``en``).
    ``response_encryption_required`` not None advertises ``credential_response_encryption`` (§12.2.4, ECDH-ES
    with A128GCM/A256GCM per HAIP); ``request_encryption_jwks`` advertises ``credential_request_encryption``."""
    base = credential_issuer.rstrip("/")
    if not is_https_url(credential_issuer, allow_http_localhost=True):
        raise ProtocolError("server_error", "credential_issuer must be an https URL")
    ids = [c.id for c in configurations]
    if len(set(ids)) != len(ids) or not ids:
        raise ProtocolError("server_error", "credential configuration ids must be unique and non-empty")
    md: dict[str, Any] = {
        "credential_issuer": credential_issuer,
        "credential_endpoint": credential_endpoint or f"{base}/credential",
        "nonce_endpoint": nonce_endpoint or f"{base}/nonce",
    }
    if authorization_servers:
        md["authorization_servers"] = list(authorization_servers)
    if deferred_credential_endpoint:
        md["deferred_credential_endpoint"] = deferred_credential_endpoint
    if notification_endpoint:
        md["notification_endpoint"] = notification_endpoint
    if response_encryption_required is not None:
        md["credential_response_encryption"] = {
            "alg_values_supported": sorted(jwe.ALLOWED_ALGS),
            "enc_values_supported": sorted(jwe.ALLOWED_ENCS),
            "encryption_required": response_encryption_required,
        }
    if request_encryption_jwks:
        md["credential_request_encryption"] = {
            "jwks": {"keys": [dict(k) for k in request_encryption_jwks]},
            "enc_values_supported": sorted(jwe.ALLOWED_ENCS),
            "encryption_required": request_encryption_required,
        }
    if batch_size is not None:
        if batch_size < 2:
            raise ProtocolError("server_error", "batch_size must be at least 2 (§12.2.4)")
        md["batch_credential_issuance"] = {"batch_size": batch_size}
    md["display"] = [{"name": name, "locale": loc} for loc, name in display.items()]
    md["credential_configurations_supported"] = {c.id: c.to_dict() for c in configurations}
    if extra:
        md.update(extra)
    return md


def parse_credential_issuer_metadata(
    data: object, *, expected_issuer: str, allow_http_localhost: bool = False,
) -> dict[str, Any]:
    """Wallet side (§12.2.3): the document's ``credential_issuer`` must equal the issuer the wallet asked
    (identical string); endpoints are https URLs; every configuration has a ``format`` and, for the two formats
    portfeil handles, a ``vct`` or ``doctype``. Returns the metadata object."""
    code = "invalid_issuer_metadata"
    md = _json_object(data, code=code, what="issuer metadata")
    if md.get("credential_issuer") != expected_issuer:
        raise ProtocolError(code, "credential_issuer does not match the issuer identifier")
    for name in ("credential_endpoint", "nonce_endpoint", "deferred_credential_endpoint", "notification_endpoint"):
        if name in md and not is_https_url(md[name], allow_http_localhost=allow_http_localhost):
            raise ProtocolError(code, f"{name} is not an https URL")
    if not is_https_url(md.get("credential_endpoint"), allow_http_localhost=allow_http_localhost):
        raise ProtocolError(code, "credential_endpoint missing")
    configs = md.get("credential_configurations_supported")
    if not isinstance(configs, dict) or not configs:
        raise ProtocolError(code, "credential_configurations_supported missing")
    for cfg in configs.values():
        if not isinstance(cfg, dict) or not isinstance(cfg.get("format"), str):
            raise ProtocolError(code, "credential configuration without format")
        if cfg["format"] in ("dc+sd-jwt", "vc+sd-jwt") and not isinstance(cfg.get("vct"), str):
            raise ProtocolError(code, "SD-JWT VC configuration without vct")
        if cfg["format"] == "mso_mdoc" and not isinstance(cfg.get("doctype"), str):
            raise ProtocolError(code, "mso_mdoc configuration without doctype")
    batch = md.get("batch_credential_issuance")
    if batch is not None and (not isinstance(batch, dict) or not isinstance(batch.get("batch_size"), int)
                              or isinstance(batch.get("batch_size"), bool) or batch["batch_size"] < 2):
        raise ProtocolError(code, "batch_credential_issuance.batch_size must be an integer >= 2")
    return md


# ---------------------------------------------------------------- credential offer (§4.1)


@dataclass(frozen=True, slots=True)
class TxCode:
    """The ``tx_code`` object of the pre-authorized code grant (§4.1.1)."""

    input_mode: Literal["numeric", "text"] = "numeric"
    length: int | None = None
    description: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"input_mode": self.input_mode}
        if self.length is not None:
            out["length"] = self.length
        if self.description is not None:
            out["description"] = self.description
        return out


@dataclass(frozen=True, slots=True)
class CredentialOffer:
    """A parsed credential offer (§4.1.1)."""

    credential_issuer: str
    credential_configuration_ids: tuple[str, ...]
    issuer_state: str | None = None
    pre_authorized_code: str | None = None
    tx_code: TxCode | None = None
    authorization_server: str | None = None
    has_authorization_code_grant: bool = False

    def to_dict(self) -> dict[str, Any]:
        grants: dict[str, Any] = {}
        if self.has_authorization_code_grant or self.issuer_state is not None:
            ac: dict[str, Any] = {}
            if self.issuer_state is not None:
                ac["issuer_state"] = self.issuer_state
            if self.authorization_server is not None:
                ac["authorization_server"] = self.authorization_server
            grants[AUTHORIZATION_CODE_GRANT] = ac
        if self.pre_authorized_code is not None:
            pa: dict[str, Any] = {"pre-authorized_code": self.pre_authorized_code}
            if self.tx_code is not None:
                pa["tx_code"] = self.tx_code.to_dict()
            if self.authorization_server is not None:
                pa["authorization_server"] = self.authorization_server
            grants[PRE_AUTHORIZED_CODE_GRANT] = pa
        out: dict[str, Any] = {"credential_issuer": self.credential_issuer,
                               "credential_configuration_ids": list(self.credential_configuration_ids)}
        if grants:
            out["grants"] = grants
        return out


def new_tx_code(tx_code: TxCode) -> str:
    """A random transaction code matching the announced shape (§4.1.1): digits for ``numeric``, otherwise
    unambiguous upper-case letters and digits; ``length`` characters (6 when not announced)."""
    import secrets

    alphabet = "0123456789" if tx_code.input_mode == "numeric" else "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    length = tx_code.length or 6
    return "".join(secrets.choice(alphabet) for _ in range(length))


def build_credential_offer(
    credential_issuer: str,
    credential_configuration_ids: Sequence[str],
    *,
    issuer_state: str | None = None,
    authorization_code: bool = False,
    pre_authorized_code: str | None = None,
    tx_code: TxCode | None = None,
    authorization_server: str | None = None,
) -> dict[str, Any]:
    """The credential offer object (§4.1.1)."""
    if not credential_configuration_ids:
        raise ProtocolError("server_error", "an offer needs at least one credential_configuration_id")
    if tx_code is not None and pre_authorized_code is None:
        raise ProtocolError("server_error", "tx_code belongs to the pre-authorized code grant")
    return CredentialOffer(
        credential_issuer, tuple(credential_configuration_ids), issuer_state, pre_authorized_code, tx_code,
        authorization_server, authorization_code,
    ).to_dict()


def credential_offer_uri(
    offer: Mapping[str, Any] | None = None,
    *,
    offer_uri: str | None = None,
    scheme: str = CREDENTIAL_OFFER_SCHEME,
) -> str:
    """The offer as a deep link (§4.1): by value (``?credential_offer=`` URL-encoded JSON) or by reference
    (``?credential_offer_uri=``). ``scheme`` may be ``haip-vci://`` (HAIP 1.0) or an https URL."""
    if (offer is None) == (offer_uri is None):
        raise ProtocolError("server_error", "give exactly one of offer and offer_uri")
    base = scheme if scheme.endswith(("://", "?", "/")) else scheme + "?"
    sep = "?" if not base.endswith("?") else ""
    if offer is not None:
        text = json.dumps(dict(offer), separators=(",", ":"), ensure_ascii=False)
        return f"{base}{sep}credential_offer={quote(text, safe='')}"
    assert offer_uri is not None
    return f"{base}{sep}credential_offer_uri={quote(offer_uri, safe='')}"


def parse_credential_offer(data: object, *, allow_http_localhost: bool = False) -> CredentialOffer:
    """Wallet side: validate a credential offer object (§4.1.1)."""
    code = "invalid_credential_offer"
    obj = _json_object(data, code=code, what="credential offer", max_chars=MAX_OFFER_CHARS)
    issuer = obj.get("credential_issuer")
    if not is_https_url(issuer, allow_http_localhost=allow_http_localhost):
        raise ProtocolError(code, "credential_issuer must be an https URL")
    assert isinstance(issuer, str)
    ids = str_list(obj.get("credential_configuration_ids"), "credential_configuration_ids", code=code)
    if len(set(ids)) != len(ids):
        raise ProtocolError(code, "credential_configuration_ids must be unique")
    grants = obj.get("grants", {})
    if not isinstance(grants, dict):
        raise ProtocolError(code, "grants must be an object")
    issuer_state = None
    pre_code = None
    tx: TxCode | None = None
    auth_server = None
    ac = grants.get(AUTHORIZATION_CODE_GRANT)
    if ac is not None:
        if not isinstance(ac, dict):
            raise ProtocolError(code, "authorization_code grant must be an object")
        issuer_state = opt_str(ac, "issuer_state", code=code)
        auth_server = opt_str(ac, "authorization_server", code=code)
    pa = grants.get(PRE_AUTHORIZED_CODE_GRANT)
    if pa is not None:
        if not isinstance(pa, dict):
            raise ProtocolError(code, "pre-authorized_code grant must be an object")
        pre_code = req_str(pa, "pre-authorized_code", code=code)
        auth_server = opt_str(pa, "authorization_server", code=code) or auth_server
        txd = pa.get("tx_code")
        if txd is not None:
            if not isinstance(txd, dict):
                raise ProtocolError(code, "tx_code must be an object")
            mode = txd.get("input_mode", "numeric")
            if mode not in ("numeric", "text"):
                raise ProtocolError(code, "tx_code.input_mode must be numeric or text")
            length = txd.get("length")
            if length is not None and (not isinstance(length, int) or isinstance(length, bool)
                                       or not 0 < length <= 64):
                raise ProtocolError(code, "tx_code.length must be a small positive integer")
            tx = TxCode(mode, length, opt_str(txd, "description", code=code, max_len=300))
    if auth_server is not None and not is_https_url(auth_server, allow_http_localhost=allow_http_localhost):
        raise ProtocolError(code, "authorization_server must be an https URL")
    return CredentialOffer(issuer, tuple(ids), issuer_state, pre_code, tx, auth_server, ac is not None)


def parse_credential_offer_uri(
    uri: object, *, allow_http_localhost: bool = False,
) -> CredentialOffer | str:
    """Parse an offer deep link (§4.1.2, §4.1.3): returns the offer when passed by value, or the https
    ``credential_offer_uri`` the wallet must fetch (then :func:`parse_credential_offer` the body)."""
    code = "invalid_credential_offer"
    if not isinstance(uri, str) or len(uri) > MAX_OFFER_CHARS * 3:
        raise ProtocolError(code, "offer link must be a string within the size limit")
    try:
        query = parse_qs(urlsplit(uri).query, keep_blank_values=True, strict_parsing=False)
    except ValueError as exc:
        raise ProtocolError(code, "offer link is not a URL") from exc
    by_value = query.get("credential_offer")
    by_ref = query.get("credential_offer_uri")
    if (by_value is None) == (by_ref is None):
        raise ProtocolError(code, "exactly one of credential_offer and credential_offer_uri is required")
    if by_value is not None:
        if len(by_value) != 1:
            raise ProtocolError(code, "credential_offer repeated")
        return parse_credential_offer(by_value[0], allow_http_localhost=allow_http_localhost)
    assert by_ref is not None
    if len(by_ref) != 1 or not is_https_url(by_ref[0], allow_http_localhost=allow_http_localhost):
        raise ProtocolError(code, "credential_offer_uri must be one https URL")
    return by_ref[0]


# ---------------------------------------------------------------- credential request (§8.2)


@dataclass(frozen=True, slots=True)
class ResponseEncryption:
    """``credential_response_encryption`` of a request (§8.2): where and how to encrypt the response."""

    jwk: dict[str, Any]
    alg: str
    enc: str


@dataclass(frozen=True, slots=True)
class CredentialRequest:
    """A syntactically valid credential request (§8.2)."""

    credential_configuration_id: str | None
    credential_identifier: str | None
    proof_type: Literal["jwt", "attestation"] | None
    proofs: tuple[str, ...]
    response_encryption: ResponseEncryption | None


def _response_encryption(value: object, *, required: bool) -> ResponseEncryption | None:
    code = "invalid_encryption_parameters"
    if value is None:
        if required:
            raise ProtocolError(code, "credential_response_encryption is required by this issuer")
        return None
    if not isinstance(value, dict):
        raise ProtocolError(code, "credential_response_encryption must be an object")
    jwk = value.get("jwk")
    enc = value.get("enc")
    if not isinstance(jwk, dict) or "d" in jwk or jwk.get("kty") != "EC":
        raise ProtocolError(code, "credential_response_encryption.jwk must be a public EC JWK")
    alg = jwk.get("alg", value.get("alg", "ECDH-ES"))
    if not one_of(alg, jwe.ALLOWED_ALGS):
        raise ProtocolError(code, "encryption alg is not supported")
    if not one_of(enc, jwe.ALLOWED_ENCS):
        raise ProtocolError(code, "encryption enc is not supported")
    if value.get("zip") is not None:
        raise ProtocolError(code, "compression is not supported")
    return ResponseEncryption(dict(jwk), str(alg), str(enc))


def validate_credential_request(
    body: object,
    *,
    known_configuration_ids: Collection[str],
    authorized_identifiers: Mapping[str, str] | None = None,
    authorized_configuration_ids: Collection[str] | None = None,
    batch_size: int | None = None,
    encryption_required: bool = False,
) -> CredentialRequest:
    """Validate a credential request body (§8.2).

    * exactly one of ``credential_identifier`` (must be one of ``authorized_identifiers``: identifier ->
      configuration id, from the token response) and ``credential_configuration_id`` (known, and authorized
      when ``authorized_configuration_ids`` is given); with identifiers issued, the configuration id is refused;
    * ``proofs`` with exactly one proof type (``jwt`` or ``attestation``) holding a non-empty array; the old
      single ``proof`` parameter is refused; more than ``batch_size`` proofs is refused (§12.2.4);
    * ``credential_response_encryption`` when required (§8.2, §10).
    """
    req = _json_object(body, code=_REQ, what="credential request")
    if "proof" in req:
        raise ProtocolError(_REQ, "the proof parameter was replaced by proofs in OpenID4VCI 1.0")
    cid = req.get("credential_identifier")
    ccid = req.get("credential_configuration_id")
    if (cid is None) == (ccid is None):
        raise ProtocolError(_REQ, "give exactly one of credential_identifier and credential_configuration_id")
    if cid is not None:
        if not isinstance(cid, str) or authorized_identifiers is None or cid not in authorized_identifiers:
            raise ProtocolError("unknown_credential_identifier", "credential_identifier is not known")
    else:
        if not isinstance(ccid, str) or ccid not in known_configuration_ids:
            raise ProtocolError("unknown_credential_configuration", "credential_configuration_id is not known")
        if authorized_identifiers:
            raise ProtocolError(_REQ, "credential_identifier must be used when the token response issued them")
        if authorized_configuration_ids is not None and ccid not in authorized_configuration_ids:
            raise ProtocolError("credential_request_denied", "the access token does not cover this credential")
    proof_type: Literal["jwt", "attestation"] | None = None
    proofs: tuple[str, ...] = ()
    if "proofs" in req:
        p = req["proofs"]
        if not isinstance(p, dict) or len(p) != 1:
            raise ProtocolError(_REQ, "proofs must hold exactly one proof type")
        ((name, values),) = p.items()
        if name not in ("jwt", "attestation"):
            raise ProtocolError(_REQ, "unsupported proof type")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise ProtocolError(_REQ, "proofs must be a non-empty array of strings")
        if name == "attestation" and len(values) != 1:
            raise ProtocolError(_REQ, "the attestation proof type carries exactly one key attestation")
        limit = batch_size if batch_size is not None else 1
        if len(values) > min(limit, MAX_PROOFS):
            raise ProtocolError(_REQ, "more proofs than the batch size allows")
        proof_type = "jwt" if name == "jwt" else "attestation"
        proofs = tuple(values)
    enc = _response_encryption(req.get("credential_response_encryption"), required=encryption_required)
    return CredentialRequest(ccid if isinstance(ccid, str) else None, cid if isinstance(cid, str) else None,
                             proof_type, proofs, enc)


# ---------------------------------------------------------------- proofs (Appendix F)


@dataclass(frozen=True, slots=True)
class HolderKey:
    """A key the holder proved possession of (or that a trusted key attestation vouches for)."""

    jwk: dict[str, Any]
    key_attestation: KeyAttestation | None = None


@dataclass(frozen=True, slots=True)
class ProofRequirements:
    """What a credential configuration asks of the proofs (§12.2.4 ``proof_types_supported.jwt``); pass as
    ``verify_proofs(..., **requirements.kwargs())``."""

    algorithms: tuple[str, ...]
    key_attestation_required: bool
    key_storage: tuple[str, ...]
    user_authentication: tuple[str, ...]

    def kwargs(self) -> dict[str, Any]:
        return {"algorithms": self.algorithms, "key_attestation_required": self.key_attestation_required,
                "required_key_storage": self.key_storage, "required_user_authentication": self.user_authentication}


def proof_requirements(configuration: Mapping[str, Any]) -> ProofRequirements:
    """Read the proof policy out of one ``credential_configurations_supported`` entry (as built by
    :meth:`CredentialConfiguration.to_dict`)."""
    types = configuration.get("proof_types_supported")
    jwt_type = types.get("jwt") if isinstance(types, Mapping) else None
    if not isinstance(jwt_type, Mapping):
        raise ProtocolError("server_error", "the configuration supports no jwt proofs")
    algs = jwt_type.get("proof_signing_alg_values_supported")
    if not isinstance(algs, list) or not algs or not all(isinstance(a, str) for a in algs):
        raise ProtocolError("server_error", "proof_signing_alg_values_supported missing")
    ka = jwt_type.get("key_attestations_required")
    storage: tuple[str, ...] = ()
    user_auth: tuple[str, ...] = ()
    if isinstance(ka, Mapping):
        storage = tuple(v for v in ka.get("key_storage", []) if isinstance(v, str))
        user_auth = tuple(v for v in ka.get("user_authentication", []) if isinstance(v, str))
    return ProofRequirements(tuple(algs), isinstance(ka, Mapping), storage, user_auth)


def create_proof_jwt(
    key: JWSPrivateKey,
    *,
    audience: str,
    now: datetime,
    nonce: str | None,
    client_id: str | None = None,
    key_attestation: str | None = None,
    x5c: Sequence[x509.Certificate] = (),
) -> str:
    """Wallet side: a JWT proof (Appendix F.1): header typ/alg and ``jwk`` (or ``key_attestation``/``x5c``),
    claims ``aud`` (the credential issuer), ``iat``, ``nonce`` (the c_nonce) and ``iss`` (client_id, omitted
    for anonymous pre-authorized access)."""
    payload: dict[str, Any] = {"aud": audience, "iat": timestamp(now)}
    if nonce is not None:
        payload["nonce"] = nonce
    if client_id is not None:
        payload["iss"] = client_id
    header: dict[str, Any] = {}
    if key_attestation is not None:
        header["key_attestation"] = key_attestation
    if not x5c:
        header["jwk"] = public_jwk(key)  # with a key attestation: names which attested key signs (as peers do)
    return sign_jwt(payload, key, typ=PROOF_TYP, header=header, x5c=x5c)


def verify_proofs(
    request: CredentialRequest,
    *,
    credential_issuer: str,
    now: datetime,
    consume_nonce: Callable[[str], bool] | None,
    client_id: str | None = None,
    algorithms: Collection[str] = ("ES256",),
    key_attestation_trust: ChainValidatorLike | None = None,
    key_attestation_required: bool = False,
    required_key_storage: Collection[str] = (),
    required_user_authentication: Collection[str] = (),
    x5c_trust: ChainValidatorLike | None = None,
    max_age: int = 300,
    leeway: int = 60,
) -> list[HolderKey]:
    """Verify the ``proofs`` of a credential request (§8.2.1, Appendix F.1, F.3, F.4) and return the holder keys.

    JWT proofs: ``typ`` openid4vci-proof+jwt; ``alg`` in ``algorithms`` (the configuration's
    ``proof_signing_alg_values_supported``); exactly one key source (``jwk`` public, ``x5c`` through
    ``x5c_trust``, or ``key_attestation`` through ``key_attestation_trust`` with the signing key among its
    ``attested_keys``); ``aud`` = the credential issuer identifier; ``iat`` within ``max_age``; ``iss`` = the
    client_id when the access is not anonymous (and absent when it is); ``nonce`` accepted by ``consume_nonce``
    (which checks AND consumes a c_nonce from the nonce endpoint, §7; each distinct nonce once). Attestation
    proofs (F.3): a key attestation with the c_nonce. Errors: ``invalid_proof``, ``invalid_nonce``.
    """
    code = "invalid_proof"
    if not request.proofs or request.proof_type is None:
        raise ProtocolError(code, "the credential request carries no proof")
    keys: list[HolderKey] = []
    nonces: list[str | None] = []
    if request.proof_type == "attestation":
        if key_attestation_trust is None:
            raise ProtocolError(code, "key attestation proofs are not accepted")
        ka = verify_key_attestation(request.proofs[0], trust=key_attestation_trust, now=now, require_exp=False)
        _check_key_attestation_policy(ka, required_key_storage, required_user_authentication)
        nonces.append(ka.nonce)
        keys.extend(HolderKey(k, ka) for k in ka.attested_keys)
    else:
        for proof in request.proofs:
            parsed = parse_jwt(proof, code=code, typ=PROOF_TYP, algorithms=algorithms)
            header, claims = parsed.header, parsed.payload
            attestation: KeyAttestation | None = None
            if "key_attestation" in header:
                # Appendix F.1: the signing key is one of the attested keys; a jwk header (as some wallets add)
                # must then name one of them; x5c does not go with a key attestation.
                if "x5c" in header:
                    raise ProtocolError(code, "x5c and key_attestation are exclusive")
                if key_attestation_trust is None:
                    raise ProtocolError(code, "key attestations are not accepted")
                attestation = verify_key_attestation(header["key_attestation"], trust=key_attestation_trust, now=now)
                _check_key_attestation_policy(attestation, required_key_storage, required_user_authentication)
                candidates = list(attestation.attested_keys)
                if "jwk" in header:
                    named = header["jwk"]
                    if not isinstance(named, dict):
                        raise ProtocolError(code, "jwk header must be an object")
                    tp = jwk_thumbprint(named, code=code)
                    candidates = [k for k in candidates if jwk_thumbprint(k, code=code) == tp]
                    if not candidates:
                        raise ProtocolError(code, "the jwk header is not one of the attested keys")
                signer = None
                for jwk in candidates:
                    try:
                        verify_parsed(parsed, code=code, key=key_from_jwk(jwk, code=code))
                    except ProtocolError:
                        continue
                    signer = jwk
                    break
                if signer is None:
                    raise ProtocolError(code, "the proof is not signed by an attested key")
                found = list(attestation.attested_keys)
            else:
                sources = [n for n in ("jwk", "x5c", "kid") if n in header]
                if len(sources) != 1:
                    raise ProtocolError(code, "the proof must name exactly one key (jwk, x5c or key_attestation)")
                if key_attestation_required:
                    raise ProtocolError(code, "this credential requires a key attestation")
                if sources[0] == "jwk":
                    if not isinstance(header["jwk"], dict):
                        raise ProtocolError(code, "jwk header must be an object")
                    verify_parsed(parsed, code=code, key=key_from_jwk(header["jwk"], code=code))
                    found = [dict(header["jwk"])]
                elif sources[0] == "x5c":
                    if x5c_trust is None:
                        raise ProtocolError(code, "x5c proofs are not accepted")
                    v = verify_parsed(parsed, code=code, trust=x5c_trust, now=now)
                    found = [public_jwk(v.key)]
                else:
                    raise ProtocolError(code, "kid-only proofs (DIDs) are not supported")
            aud = claims.get("aud")
            if not (aud == credential_issuer or (isinstance(aud, list) and aud == [credential_issuer])):
                raise ProtocolError(code, "proof aud is not this credential issuer")
            check_iat(claims, now, code=code, max_age=max_age, leeway=leeway)
            iss = claims.get("iss")
            if client_id is None and iss is not None:
                raise ProtocolError(code, "anonymous proofs must not carry iss")
            if client_id is not None and iss != client_id:
                raise ProtocolError(code, "proof iss is not the client_id")
            nonce = claims.get("nonce")
            if nonce is not None and not isinstance(nonce, str):
                raise ProtocolError(code, "nonce must be a string")
            nonces.append(nonce)
            keys.extend(HolderKey(k, attestation) for k in found)
    if consume_nonce is not None:
        distinct = set(nonces)
        if None in distinct or len(distinct) != 1:
            raise ProtocolError("invalid_nonce", "every proof must carry the current c_nonce")
        (only,) = distinct
        assert only is not None
        if not consume_nonce(only):
            raise ProtocolError("invalid_nonce", "c_nonce is unknown, used or expired")
    seen: set[str] = set()
    unique: list[HolderKey] = []
    for hk in keys:
        ident = json.dumps({k: hk.jwk.get(k) for k in ("kty", "crv", "x", "y")}, sort_keys=True)
        if ident in seen:
            raise ProtocolError(code, "the same key is proven twice")
        seen.add(ident)
        unique.append(hk)
    return unique


def _check_key_attestation_policy(ka: KeyAttestation, storage: Collection[str], user_auth: Collection[str]) -> None:
    """§12.2.4 ``key_attestations_required``: the attestation must name one of the required levels."""
    if storage and not set(storage) & set(ka.key_storage):
        raise ProtocolError("invalid_proof", "key storage does not meet the required attack potential resistance")
    if user_auth and not set(user_auth) & set(ka.user_authentication):
        raise ProtocolError("invalid_proof", "user authentication does not meet the required level")


# ---------------------------------------------------------------- responses (§7.2, §8.3, §9, §11)


def nonce_response(c_nonce: str) -> dict[str, Any]:
    """Nonce endpoint response (§7.2); serve with ``Cache-Control: no-store``."""
    return {"c_nonce": c_nonce}


def credential_response(credentials: Sequence[str | Mapping[str, Any]], *, notification_id: str | None = None,
                        ) -> dict[str, Any]:
    """Immediate credential response (§8.3): ``credentials`` as an array of ``{"credential": ...}`` objects
    (one per proven key), ``notification_id`` when notifications are supported."""
    if not credentials:
        raise ProtocolError("server_error", "a credential response needs at least one credential")
    out: dict[str, Any] = {"credentials": [{"credential": c if isinstance(c, str) else dict(c)} for c in credentials]}
    if notification_id is not None:
        out["notification_id"] = notification_id
    return out


def deferred_pending_response(transaction_id: str, *, interval: int) -> dict[str, Any]:
    """Deferred issuance (§8.3 with HTTP 202, §9.2): ``transaction_id`` and ``interval`` seconds."""
    if interval <= 0:
        raise ProtocolError("server_error", "interval must be positive")
    return {"transaction_id": transaction_id, "interval": int(interval)}


def validate_deferred_credential_request(body: object, *, encryption_required: bool = False,
                                         ) -> tuple[str, ResponseEncryption | None]:
    """Deferred credential request (§9.1): ``transaction_id`` and optional response encryption."""
    req = _json_object(body, code=_REQ, what="deferred credential request")
    tid = req.get("transaction_id")
    if not isinstance(tid, str) or not tid or len(tid) > MAX_STRING:
        raise ProtocolError("invalid_transaction_id", "transaction_id missing or malformed")
    return tid, _response_encryption(req.get("credential_response_encryption"), required=encryption_required)


@dataclass(frozen=True, slots=True)
class Notification:
    notification_id: str
    event: str
    event_description: str | None


def validate_notification_request(body: object, *, known_notification_id: Callable[[str], bool]) -> Notification:
    """Notification request (§11.1): ``notification_id`` (known, else ``invalid_notification_id``), ``event``
    one of credential_accepted / credential_failure / credential_deleted, optional ASCII ``event_description``."""
    code = "invalid_notification_request"
    req = _json_object(body, code=code, what="notification request")
    nid = req.get("notification_id")
    if not isinstance(nid, str) or not nid or len(nid) > MAX_STRING or not known_notification_id(nid):
        raise ProtocolError("invalid_notification_id", "notification_id is not known")
    event = req.get("event")
    if not one_of(event, NOTIFICATION_EVENTS):
        raise ProtocolError(code, "event is not one of the defined events")
    desc = opt_str(req, "event_description", code=code, max_len=1024)
    if desc is not None and not desc.isascii():
        raise ProtocolError(code, "event_description must be ASCII")
    assert isinstance(event, str)
    return Notification(nid, event, desc)


# ---------------------------------------------------------------- encryption (§10)


def encrypt_credential_response(response: Mapping[str, Any], encryption: ResponseEncryption) -> str:
    """Encrypt a credential (or deferred) response as a JWE to the wallet's key (§10; served with content type
    ``application/jwt``)."""
    plaintext = json.dumps(dict(response), separators=(",", ":"), ensure_ascii=False).encode()
    return jwe.encrypt(plaintext, encryption.jwk, enc=encryption.enc, alg=encryption.alg,
                       code="invalid_encryption_parameters")


def decrypt_credential_request(
    token: object,
    private_key: ec.EllipticCurvePrivateKey,
    *,
    kid: str,
    encryptions: Collection[str] = jwe.ALLOWED_ENCS,
) -> dict[str, Any]:
    """Decrypt an encrypted credential request (§10, ``credential_request_encryption``): the JWE header names
    our ``kid``; the plaintext is the JSON request object. An encrypted request must ask for an encrypted
    response (§10), which :func:`validate_credential_request` then enforces with ``encryption_required=True``."""
    result = jwe.decrypt(token, private_key, expected_kid=kid, encryptions=encryptions,
                         code="invalid_encryption_parameters")
    return _json_object(result.plaintext, code=_REQ, what="credential request")


# ---------------------------------------------------------------- wallet side parsers


def parse_nonce_response(data: object) -> str:
    """Wallet side of §7.2: the ``c_nonce``."""
    obj = _json_object(data, code="invalid_response", what="nonce response")
    return req_str(obj, "c_nonce", code="invalid_response", max_len=1024)


@dataclass(frozen=True, slots=True)
class ParsedCredentialResponse:
    """Wallet side of §8.3 / §9.2: issued credentials, or a ``transaction_id`` to poll after ``interval``."""

    credentials: tuple[str | dict[str, Any], ...]
    transaction_id: str | None
    interval: int | None
    notification_id: str | None


def parse_credential_response(
    data: object, *, decryption_key: jwe.EncryptionKey | None = None,
) -> ParsedCredentialResponse:
    """Parse a (deferred) credential response (§8.3, §9.2); when the wallet asked for encryption
    (``decryption_key``), the body must be a JWE to that key (§10) and is decrypted first."""
    code = "invalid_response"
    if decryption_key is not None:
        if isinstance(data, bytes):
            data = data.decode("ascii", "replace")
        data = jwe.decrypt(data, decryption_key.private_key, expected_kid=decryption_key.kid, code=code).plaintext
    obj = _json_object(data, code=code, what="credential response", max_chars=16 * 1024 * 1024)
    creds = obj.get("credentials")
    tid = opt_str(obj, "transaction_id", code=code)
    if creds is None:
        if tid is None:
            raise ProtocolError(code, "credential response has neither credentials nor transaction_id")
        interval = obj.get("interval")
        if not isinstance(interval, int) or isinstance(interval, bool) or interval <= 0:
            raise ProtocolError(code, "interval must be a positive integer")
        return ParsedCredentialResponse((), tid, interval, None)
    if tid is not None:
        raise ProtocolError(code, "credentials and transaction_id are exclusive")
    if not isinstance(creds, list) or not creds:
        raise ProtocolError(code, "credentials must be a non-empty array")
    out: list[str | dict[str, Any]] = []
    for item in creds:
        if not isinstance(item, dict) or not isinstance(item.get("credential"), str | dict):
            raise ProtocolError(code, "each credentials entry needs a credential")
        out.append(item["credential"])
    return ParsedCredentialResponse(tuple(out), None, None, opt_str(obj, "notification_id", code=code))
