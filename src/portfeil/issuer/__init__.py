"""portfeil.issuer."""
