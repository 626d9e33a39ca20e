"""portfeil.signing."""
