"""portfeil.egov."""
