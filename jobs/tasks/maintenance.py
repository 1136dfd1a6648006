"""Maintenance jobs."""

from typing import Any

from jobs.enums import Priority
from jobs.models import JobRecord
from jobs.registry import job_type
from jobs.services import jobs_purge


@job_type("maintenance.noop", priority=Priority.LOW, atomic=False)
def noop(job: JobRecord) -> dict[str, Any]:
    """Does nothing: a canary through the whole platform, and the benchmark's job."""
    return {"ok": True}


@job_type("maintenance.purge_jobs", priority=Priority.BATCH)
def purge_jobs(job: JobRecord) -> dict[str, int]:
    return jobs_purge()
