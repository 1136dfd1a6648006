"""Locust load tests for the Bazaar API (``make loadtest``); see locustfile.py."""
