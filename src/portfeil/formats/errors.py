"""The one error type of :mod:`portfeil.formats`."""

from portfeil.errors import PortfeilError


class FormatError(PortfeilError):
    """A credential, token or list is malformed or fails a check; ``code`` says which, stably."""

    default_code = "invalid_format"
