"""Fault-injection suite: the whole stack as subprocesses on private services.

``python -m resilience.run`` (``make resilience``) starts a private PostgreSQL
cluster, a private Redis, an SMTP sink and every Procfile process, breaks one
dependency at a time under a bounded loopback load, and writes RESILIENCE.md.
"""
