"""portfeil.wallet."""
