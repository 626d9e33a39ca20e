"""The verifier's one error type (stable snake_case codes)."""

from __future__ import annotations

from portfeil.errors import PortfeilError


class VerifierError(PortfeilError):
    status = 400
    default_code = "verifier_error"


class VerifierNotFound(VerifierError):
    status = 404
    default_code = "transaction_not_found"


class VerifierUnauthorized(VerifierError):
    status = 401
    default_code = "api_key_required"
