"""portfeil.protocols: OAuth 2.0, DPoP, attestation-based client authentication, OpenID4VCI 1.0 and
OpenID4VP 1.0 (+ HAIP 1.0) messages and checks. Pure: no HTTP, no database; time, stores and keys come in as
arguments. Only :class:`ProtocolError` escapes (``code`` = the OAuth/OpenID error code, ``status`` = HTTP status).

Modules: :mod:`.pkce`, :mod:`.dpop`, :mod:`.client_attestation`, :mod:`.oauth`, :mod:`.jwe`, :mod:`.oid4vci`,
:mod:`.oid4vp`.
"""

from portfeil.protocols.errors import ProtocolError

__all__ = ["ProtocolError"]
