"""portfeil."""
