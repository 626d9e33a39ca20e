"""portfeil.verifier."""
