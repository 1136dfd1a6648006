"""The orders HTTP API: thin views over orders.services and orders.selectors."""
