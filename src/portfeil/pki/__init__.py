"""portfeil.pki."""
