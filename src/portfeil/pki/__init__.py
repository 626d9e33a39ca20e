"""Keys, certificates, certificate authorities, chain validation and the keystore.

Pure code except the keystore (which reads and writes its own directory); one error type, :class:`PKIError`.
Modules: :mod:`~portfeil.pki.keys` (JWK, raw JOSE/COSE signatures), :mod:`~portfeil.pki.roles` (roles and their
certificate profiles), :mod:`~portfeil.pki.ca` (roots, intermediates, leaves), :mod:`~portfeil.pki.certs`
(PEM/DER/x5c), :mod:`~portfeil.pki.chains` (path validation per role, cached), :mod:`~portfeil.pki.keystore`.
"""

from portfeil.pki.errors import PKIError
from portfeil.pki.roles import Role

__all__ = ["PKIError", "Role"]
