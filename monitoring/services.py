"""Operator actions behind ``/api/admin/performance/``: writes only.

Anything slow runs as a job (the request answers 202 with its id), so an
operator's click never holds a web worker.
"""

from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from redis.exceptions import RedisError

import jobs
from catalog.cache import NAMESPACES, catalog_invalidate
from config.api.errors import DomainError
from jobs.enums import JobStatus
from jobs.models import JobRecord
from jobs.services import jobs_retry
from monitoring import stats
from monitoring.selectors import (
    database_scan_heavy_tables,
    database_tables,
    database_unused_indexes,
    performance_snapshot,
)

logger = structlog.get_logger("bazaar.monitoring")

# Written on the request path: their statistics drift fastest.
HOT_TABLES = (
    "catalog_product",
    "orders_order",
    "orders_orderitem",
    "orders_idempotencykey",
    "jobs_jobrecord",
    "accounts_session",
    "accounts_notification",
    "accounts_activityevent",
    "accounts_securityevent",
)
BLOAT_ROWS = 10


@transaction.atomic
def cache_warm_request(*, user: Any) -> JobRecord:
    """Queue a catalog warm-up; a click while one is waiting returns that one."""
    return jobs.enqueue("cache.warm", {}, user=user, dedupe_key="cache.warm:manual")


def cache_namespace_invalidate(*, namespace: str) -> list[str]:
    """Drop one namespace of the catalog cache, or every one with ``all``."""
    names = list(NAMESPACES) if namespace == "all" else [namespace]
    with transaction.atomic():
        catalog_invalidate(namespaces=names)
    return names


def db_maintenance(*, dry_run: bool = False) -> dict[str, Any]:
    """PostgreSQL upkeep beyond autovacuum's pace: ANALYZE the tables written
    on the request path, so plans follow their growth, and VACUUM (ANALYZE)
    any table whose dead tuples pass ``DB_VACUUM_MIN_DEAD_TUPLES`` and
    ``DB_VACUUM_DEAD_RATIO`` of its rows. Returns what it did and the bloat
    and index-usage summary (also logged).

    Must run outside a transaction (VACUUM refuses one): the job is not atomic.
    """
    if connection.in_atomic_block:
        raise RuntimeError("VACUUM cannot run inside a transaction")
    before = database_tables()
    vacuum = [
        row["table"]
        for row in before
        if row["dead"] >= settings.DB_VACUUM_MIN_DEAD_TUPLES
        and row["dead_ratio"] >= settings.DB_VACUUM_DEAD_RATIO
    ]
    present = {row["table"] for row in before}
    analyze = [t for t in HOT_TABLES if t in present and t not in vacuum]
    if not dry_run:
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            for table in vacuum:
                cursor.execute(f"VACUUM (ANALYZE) {quote(table)}")
            for table in analyze:
                cursor.execute(f"ANALYZE {quote(table)}")
    summary = {
        "dry_run": dry_run,
        "vacuumed": vacuum,
        "analyzed": analyze,
        "bloat": [row for row in before if row["dead"]][:BLOAT_ROWS],
        "unused_indexes": database_unused_indexes(),
        "sequential_scans": database_scan_heavy_tables(),
    }
    logger.info(
        "db_maintenance",
        dry_run=dry_run,
        vacuumed=vacuum,
        analyzed=len(analyze),
        unused_indexes=[row["index"] for row in summary["unused_indexes"]],
    )
    return summary


def performance_snapshot_log(
    *, now: datetime, minutes: int | None = None
) -> dict[str, Any]:
    """Log the last ``PERFORMANCE_LOG_INTERVAL`` minutes' figures as one
    ``performance_snapshot`` event (stdout, like every log) and return them."""
    minutes = minutes or settings.PERFORMANCE_LOG_INTERVAL
    snapshot = performance_snapshot(end=now, minutes=minutes)
    logger.info(
        "performance_snapshot",
        **{
            key: value for key, value in snapshot.items() if key not in ("start", "end")
        },
        minutes=minutes,
    )
    return snapshot


class JobNotFound(DomainError):
    status_code = 404
    code = "not_found"
    default_detail = "No such job."


class JobNotFailed(DomainError):
    status_code = 409
    code = "job_not_failed"
    default_detail = "Only a failed job can be retried."


class StatsUnavailable(DomainError):
    status_code = 503
    code = "stats_unavailable"
    default_detail = "The statistics store (Redis) is unavailable."


def failed_jobs_retry(*, job_id: Any = None, job_type: str | None = None) -> int:
    """Queue failed jobs again with fresh attempts, one by id or every one of
    a type, through ``jobs_retry`` (as the admin and ``retry_failed_jobs``)."""
    with transaction.atomic():
        if job_id is not None:
            # Locked, so the status checked is the status retried.
            job = JobRecord.objects.select_for_update().filter(pk=job_id).first()
            if job is None:
                raise JobNotFound
            if job.status != JobStatus.FAILED:
                raise JobNotFailed(status=job.status)
            ids = [job.pk]
        else:
            ids = list(
                JobRecord.objects.filter(
                    status=JobStatus.FAILED, type=job_type
                ).values_list("pk", flat=True)
            )
        retried = jobs_retry(job_ids=ids)
    logger.info(
        "failed_jobs_retried",
        job_id=job_id and str(job_id),
        job_type=job_type,
        retried=retried,
    )
    return retried


def jobs_clear(*, older_than_days: int) -> int:
    """Delete finished jobs (succeeded, failed, cancelled) that finished more
    than ``older_than_days`` ago; queued and running ones are never touched.

    ``jobs_purge`` applies the configured retention; this is the operator's
    one-off with their own horizon.
    """
    cutoff = timezone.now() - timedelta(days=older_than_days)
    _, per_model = JobRecord.objects.filter(
        status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED],
        finished_at__lt=cutoff,
    ).delete()
    deleted = per_model.get(JobRecord._meta.label, 0)
    logger.info("jobs_cleared", older_than_days=older_than_days, deleted=deleted)
    return deleted


def metrics_reset() -> int:
    """Forget every request, cache and slow-query figure; the keys deleted."""
    try:
        deleted = stats.stats_reset()
    except RedisError as exc:
        raise StatsUnavailable from exc
    logger.info("metrics_reset", deleted_keys=deleted)
    return deleted
