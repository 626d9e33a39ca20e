"""portfeil.protocols."""
