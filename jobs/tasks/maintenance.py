"""Maintenance jobs: the scheduled housekeeping, each the same code path as
its management command."""

from typing import Any

from accounts import clock
from accounts.activity import activity_purge
from accounts.services import sessions_cleanup
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
    """Job retention, as ``manage.py purge_jobs`` (daily, 03:15)."""
    return jobs_purge()


@job_type("maintenance.cleanup_sessions", priority=Priority.BATCH)
def cleanup_sessions(job: JobRecord) -> dict[str, int]:
    """Long-dead sessions and spent codes, as ``manage.py cleanup_sessions``
    (daily, 03:30)."""
    return sessions_cleanup(now=clock.now())


@job_type("maintenance.purge_activity", priority=Priority.BATCH)
def purge_activity(job: JobRecord) -> dict[str, int]:
    """Activity retention (``ACTIVITY_KEEP_DAYS``), as ``manage.py
    purge_activity`` (daily, 03:50)."""
    return activity_purge(now=clock.now())
