"""Constant-time comparison of texts that may come from outside.

``hmac.compare_digest`` refuses ``str`` arguments with non-ASCII characters (``TypeError``), so comparing a value an
attacker chose (a JWT claim, a form field, a cookie) with it directly turns a wrong answer into a crash. Compare
the UTF-8 bytes instead; ``surrogatepass`` keeps lone surrogates (which JSON can produce) comparable too.
"""

from __future__ import annotations

import hmac


def text_equal(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` are the same text; time independent of where they differ."""
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))
