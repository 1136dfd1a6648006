"""Maintenance jobs: the scheduled housekeeping, each the same code path as
its management command."""

from typing import Any

from django.utils import timezone

from accounts import clock
from accounts.activity import activity_purge
from accounts.services import sessions_cleanup
from catalog.services import tmp_cleanup
from jobs.enums import Priority
from jobs.models import JobRecord
from jobs.registry import job_type
from jobs.services import jobs_purge
from monitoring.services import db_maintenance as db_upkeep
from monitoring.services import performance_snapshot_log


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


@job_type("maintenance.cleanup_tmp", priority=Priority.LOW)
def cleanup_tmp(job: JobRecord) -> dict[str, int]:
    """Stale temporary uploads, as ``manage.py cleanup_tmp`` (hourly)."""
    return tmp_cleanup(now=timezone.now())


@job_type("maintenance.db_maintenance", priority=Priority.BATCH, atomic=False)
def db_maintenance(job: JobRecord) -> dict[str, Any]:
    """PostgreSQL upkeep, as ``manage.py db_maintenance`` (daily, 04:10)."""
    return db_upkeep()


@job_type("monitoring.performance_snapshot", priority=Priority.LOW, atomic=False)
def performance_snapshot(job: JobRecord) -> dict[str, Any]:
    """The platform's last interval in one log event, as ``manage.py
    performance_snapshot`` (every PERFORMANCE_LOG_INTERVAL minutes)."""
    snapshot = performance_snapshot_log(now=timezone.now())
    return {"requests": snapshot["requests"], "jobs": snapshot["jobs"]}
