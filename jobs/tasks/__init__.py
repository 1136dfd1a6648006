"""Celery task modules, one per job category; each handler is thin."""

from jobs.tasks import maintenance  # noqa: F401
