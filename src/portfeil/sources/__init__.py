"""portfeil.sources."""
