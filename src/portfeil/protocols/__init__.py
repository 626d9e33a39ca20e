"""portfeil.protocols: OAuth 2.0, DPoP, attestation-based client authentication, OpenID4VCI 1.0 and
OpenID4VP 1.0 (+ HAIP 1.0) messages and checks.

Pure: no HTTP, no database. Services pass the parsed request data (form or JSON), ``now`` (timezone-aware UTC),
trust anchors as a :class:`portfeil.pki.chains.ChainValidator`, and their stores as small callbacks:

* :data:`ReplayCheck` ``seen(value) -> bool``: True when ``value`` (a DPoP or PoP ``jti``) was already used,
  otherwise records it (atomically) and returns False;
* :data:`NonceCheck` ``check(nonce) -> bool``: True when the server-issued nonce is valid; for the OpenID4VCI
  ``c_nonce`` it must also consume it (single use);
* :data:`NonceFactory` ``new() -> str``: a fresh server nonce to send back (``DPoP-Nonce``, attestation challenge).

Only :class:`ProtocolError` escapes (``code`` = the OAuth/OpenID error code, ``status`` = HTTP status,
``headers`` = response headers the spec asks for).

Modules: :mod:`.pkce` (RFC 7636), :mod:`.dpop` (RFC 9449), :mod:`.client_attestation` (attestation-based client
authentication, OpenID4VCI key attestations), :mod:`.oauth` (RFC 9126 PAR, token endpoint, RFC 8414 metadata),
:mod:`.jwe` (ECDH-ES + AES-GCM), :mod:`.oid4vci` (OpenID4VCI 1.0), :mod:`.oid4vp` (OpenID4VP 1.0 + HAIP 1.0).
"""

from collections.abc import Callable
from typing import TypeAlias

from portfeil.protocols.errors import ProtocolError

ReplayCheck: TypeAlias = Callable[[str], bool]
NonceCheck: TypeAlias = Callable[[str], bool]
NonceFactory: TypeAlias = Callable[[], str]

__all__ = ["NonceCheck", "NonceFactory", "ProtocolError", "ReplayCheck"]
