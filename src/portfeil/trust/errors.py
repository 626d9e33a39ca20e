"""The one error type of :mod:`portfeil.trust`, with the HTTP status per code.

Stable codes: ``invalid_eik``, ``invalid_relying_party``, ``invalid_intended_use``, ``invalid_transition``,
``relying_party_not_found``, ``relying_party_not_approved``, ``wallet_unit_not_found``, ``invalid_wallet_unit``,
``invalid_nonce``, ``invalid_proof``, ``wallet_unit_revoked``, ``unknown_role``, ``invalid_anchor``,
``invalid_certificate``, ``trusted_list_rejected`` (with ``details.reason`` the format code), ``unknown_list``,
``status_list_full``, ``invalid_csr``.
"""

from __future__ import annotations

from typing import Any

from portfeil.errors import PortfeilError

_STATUS = {
    "relying_party_not_found": 404,
    "wallet_unit_not_found": 404,
    "unknown_list": 404,
    "invalid_transition": 409,
    "relying_party_not_approved": 409,
    "wallet_unit_revoked": 409,
    "status_list_full": 503,
}


class TrustError(PortfeilError):
    """A trust registry operation was refused; ``code`` says why (stable), ``status`` is the HTTP status."""

    default_code = "trust_error"

    def __init__(self, code: str | None = None, message: str | None = None, **details: Any) -> None:
        super().__init__(code, message, **details)
        self.status = _STATUS.get(self.code, 400)
