"""Keys, certificates, certificate authorities, chain validation and the keystore.

Pure code except the keystore (which reads and writes its own directory); one error type, :class:`PKIError`.
"""

from portfeil.pki.errors import PKIError

__all__ = ["PKIError"]
