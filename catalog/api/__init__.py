"""HTTP layer of the catalog: thin views over services and selectors."""
