"""portfeil.formats."""
