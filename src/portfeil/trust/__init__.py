"""portfeil.trust."""
