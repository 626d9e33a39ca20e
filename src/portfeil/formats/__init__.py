"""Credential and list formats: SD-JWT VC, ISO mdoc, Token Status List, trusted lists, DCQL.

Pure code: bytes and objects in, values out, one error type (:class:`FormatError`) with a stable code.
"""

from portfeil.formats.errors import FormatError

__all__ = ["FormatError"]
