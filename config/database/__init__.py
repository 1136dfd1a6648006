"""PostgreSQL backend: Django's, with a circuit breaker on new connections."""
