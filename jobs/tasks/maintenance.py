"""Maintenance jobs."""

from celery import shared_task


@shared_task(name="maintenance.ping", ignore_result=False)
def ping() -> str:
    """Round-trip check: proves a worker consumes from the broker."""
    return "pong"
