"""Maintenance jobs."""

from typing import Any

from celery import shared_task

from jobs.enums import Priority
from jobs.models import JobRecord
from jobs.registry import job_type
from jobs.services import jobs_purge


@shared_task(name="maintenance.ping", ignore_result=False)
def ping() -> str:
    """Round-trip check of the broker alone (no database)."""
    return "pong"


@job_type("maintenance.noop", priority=Priority.LOW, atomic=False)
def noop(job: JobRecord) -> dict[str, Any]:
    """Does nothing: a canary through the whole platform, and the benchmark's job."""
    return {"ok": True}


@job_type("maintenance.purge_jobs", priority=Priority.BATCH)
def purge_jobs(job: JobRecord) -> dict[str, int]:
    return jobs_purge()
