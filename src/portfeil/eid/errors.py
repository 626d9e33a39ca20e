"""The one error type of :mod:`portfeil.eid`, with the HTTP status per code.

Stable codes (never reworded): see docs/eid.md, section "Error codes".
"""

from __future__ import annotations

from typing import Any

from portfeil.errors import PortfeilError

_STATUS = {
    "person_not_found": 404,
    "certificate_not_found": 404,
    "register_entry_not_found": 404,
    "provider_not_found": 404,
    "service_not_found": 404,
    "sector_not_found": 404,
    "invalid_transition": 409,
    "already_registered": 409,
    "administrator_not_active": 403,
    "centre_not_active": 403,
    "provider_not_active": 403,
    "api_key_required": 401,
    "holder_login_required": 401,
    "forbidden": 403,
}


class EidError(PortfeilError):
    """An eID registry operation was refused; ``code`` says why (stable), ``status`` is the HTTP status."""

    default_code = "eid_error"

    def __init__(self, code: str | None = None, message: str | None = None, **details: Any) -> None:
        super().__init__(code, message, **details)
        self.status = _STATUS.get(self.code, 400)
