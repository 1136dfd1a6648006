"""API plumbing shared by every app: parsing, errors, pagination, limits."""
