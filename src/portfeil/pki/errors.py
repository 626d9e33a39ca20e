"""The one error type of :mod:`portfeil.pki`."""

from portfeil.errors import PortfeilError


class PKIError(PortfeilError):
    """A key, certificate or chain is malformed or fails a check; ``code`` says which, stably."""

    default_code = "pki_error"
