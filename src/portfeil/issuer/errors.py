"""The PID provider's own error type (configuration, life cycle, operator requests)."""

from __future__ import annotations

from portfeil.errors import PortfeilError


class IssuerError(PortfeilError):
    """A refused issuer operation; ``code`` is stable (``unknown_person``, ``invalid_configuration``, ...)."""

    default_code = "issuer_error"


class IssuerNotFound(IssuerError):
    status = 404
    default_code = "not_found"
