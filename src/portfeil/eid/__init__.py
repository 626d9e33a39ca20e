"""portfeil.eid."""
