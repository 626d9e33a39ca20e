"""The one error type of :mod:`portfeil.protocols`.

``code`` is the OAuth / OpenID error code where a specification defines one (RFC 6749 §5.2, RFC 6750 §3.1,
RFC 9449 §7.1 and §12.2, RFC 9126 §2.3, OpenID4VCI 1.0 §6.3, §8.3.1.2, §9.3, §11.3, OpenID4VP 1.0 §8.5), so a service
can put it into the error response as is; ``status`` is the HTTP status the specification asks for.
"""

from __future__ import annotations

from typing import Any, Final

from portfeil.errors import PortfeilError

__all__ = ["DEFAULT_STATUS", "ProtocolError"]

DEFAULT_STATUS: Final[dict[str, int]] = {
    # RFC 6749 §5.2: token endpoint errors are 400, invalid_client 401.
    "invalid_request": 400,
    "invalid_client": 401,
    "invalid_grant": 400,
    "unauthorized_client": 400,
    "unsupported_grant_type": 400,
    "invalid_scope": 400,
    "invalid_authorization_details": 400,
    "unsupported_response_type": 400,
    "access_denied": 400,
    "server_error": 500,
    # RFC 6750 §3.1
    "invalid_token": 401,
    "insufficient_scope": 403,
    # RFC 9449 §7.1 (token endpoint: 400; a resource server answers 401 and passes status=401)
    "invalid_dpop_proof": 400,
    "use_dpop_nonce": 400,
    # RFC 9126 §2.3 / RFC 9101 §6.2
    "invalid_request_uri": 400,
    "invalid_response": 502,
    "invalid_request_object": 400,
    "request_not_supported": 400,
    "request_uri_not_supported": 400,
    # Attestation-Based Client Authentication (draft) §6
    "use_attestation_challenge": 400,
    "use_fresh_attestation": 400,
    "invalid_client_attestation": 401,
    # OpenID4VCI 1.0 §6.3 (token), §8.3.1.2 (credential), §9.3 (deferred), §11.3 (notification)
    "authorization_pending": 400,
    "slow_down": 400,
    "invalid_credential_request": 400,
    "unknown_credential_configuration": 400,
    "unknown_credential_identifier": 400,
    "unsupported_credential_type": 400,
    "invalid_proof": 400,
    "invalid_nonce": 400,
    "invalid_encryption_parameters": 400,
    "credential_request_denied": 400,
    "invalid_transaction_id": 400,
    "invalid_notification_id": 400,
    "invalid_notification_request": 400,
    # OpenID4VP 1.0 §8.5
    "vp_formats_not_supported": 400,
    "invalid_request_uri_method": 400,
    "invalid_transaction_data": 400,
    "wallet_unavailable": 400,
}


class ProtocolError(PortfeilError):
    """A protocol message is malformed or fails a check.

    ``code`` is the spec's error code (``invalid_dpop_proof``, ``invalid_proof``, ...); ``status`` the HTTP
    status (defaults from :data:`DEFAULT_STATUS`, overridable per raise); ``headers`` holds response headers the
    spec asks for (``DPoP-Nonce`` with ``use_dpop_nonce``, RFC 9449 §8). ``details`` may carry the code of an
    underlying :class:`FormatError`/:class:`PKIError` as ``reason``; messages never carry personal data.
    """

    default_code = "invalid_request"

    def __init__(
        self,
        code: str | None = None,
        message: str | None = None,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(code, message, **details)
        self.status = status if status is not None else DEFAULT_STATUS.get(self.code, 400)
        self.headers: dict[str, str] = dict(headers or {})

    def to_dict(self) -> dict[str, Any]:
        """The OAuth error response body (RFC 6749 §5.2): ``error`` and ``error_description`` only."""
        return {"error": self.code, "error_description": self.message}
