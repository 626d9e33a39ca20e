"""One error root for the whole project.

Every package raises a subclass of :class:`PortfeilError` carrying a stable, machine-readable ``code``
(``lower_snake_case``, never reworded once published) and a human message that never contains personal data.
Web and CLI layers turn these into clear answers (HTTP problem JSON, exit status) instead of stack traces.
"""

from __future__ import annotations

from typing import Any


class PortfeilError(Exception):
    """Base error: ``code`` is stable and documented; ``message`` is for humans; ``status`` is the HTTP status."""

    status: int = 400
    default_code: str = "error"

    def __init__(self, code: str | None = None, message: str | None = None, **details: Any) -> None:
        self.code = code or self.default_code
        self.message = message or self.code.replace("_", " ")
        self.details = details
        super().__init__(f"{self.code}: {self.message}")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "error_description": self.message}
        if self.details:
            out["details"] = self.details
        return out


class NotFound(PortfeilError):
    status = 404
    default_code = "not_found"


class Forbidden(PortfeilError):
    status = 403
    default_code = "forbidden"


class Conflict(PortfeilError):
    status = 409
    default_code = "conflict"
