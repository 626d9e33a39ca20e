"""Proof Key for Code Exchange with S256 only (RFC 7636; HAIP 1.0 and RFC 9700 §2.1.1 require S256).

``plain`` is refused: it offers no protection when the authorization request leaks.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Final

from portfeil.consttime import text_equal
from portfeil.protocols._common import b64url_encode
from portfeil.protocols.errors import ProtocolError

__all__ = ["PKCE_METHOD", "check_code_verifier", "code_challenge", "generate_code_verifier", "validate_code_challenge"]

PKCE_METHOD: Final[str] = "S256"
_VERIFIER_RE: Final[re.Pattern[str]] = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_CHALLENGE_RE: Final[re.Pattern[str]] = re.compile(r"[A-Za-z0-9_-]{43}")


def generate_code_verifier(nbytes: int = 32) -> str:
    """A high-entropy ``code_verifier`` (RFC 7636 §4.1: 32 octets -> 43 base64url characters)."""
    if not 32 <= nbytes <= 96:
        raise ProtocolError("server_error", "code_verifier needs 32 to 96 random octets")
    return b64url_encode(secrets.token_bytes(nbytes))


def code_challenge(verifier: str) -> str:
    """``BASE64URL(SHA256(ASCII(code_verifier)))`` (RFC 7636 §4.2)."""
    if not isinstance(verifier, str) or not _VERIFIER_RE.fullmatch(verifier):
        raise ProtocolError("invalid_grant", "code_verifier is malformed (RFC 7636 §4.1)")
    return b64url_encode(hashlib.sha256(verifier.encode("ascii")).digest())


def validate_code_challenge(challenge: object, method: object) -> str:
    """Authorization/PAR request check (RFC 7636 §4.3, §4.4.1): a challenge with method S256 is mandatory."""
    if challenge is None:
        raise ProtocolError("invalid_request", "code_challenge is required")
    if method != PKCE_METHOD:
        raise ProtocolError("invalid_request", "code_challenge_method must be S256")
    if not isinstance(challenge, str) or not _CHALLENGE_RE.fullmatch(challenge):
        raise ProtocolError("invalid_request", "code_challenge is not a S256 challenge")
    return challenge


def check_code_verifier(verifier: object, challenge: str) -> None:
    """Token request check (RFC 7636 §4.6): S256 of the verifier equals the stored challenge."""
    if not isinstance(verifier, str):
        raise ProtocolError("invalid_grant", "code_verifier missing")
    if not text_equal(code_challenge(verifier), challenge):
        raise ProtocolError("invalid_grant", "code_verifier does not match the code_challenge")
