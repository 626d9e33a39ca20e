"""The one error type of the wallet package."""

from __future__ import annotations

from portfeil.errors import PortfeilError


class WalletError(PortfeilError):
    """A refused or failed wallet operation, with a stable ``code`` (e.g. ``wrong_passphrase``)."""

    default_code = "wallet_error"
