"""Operator actions behind ``/api/admin/performance/``: writes only.

Anything slow runs as a job (the request answers 202 with its id), so an
operator's click never holds a web worker.
"""

from datetime import datetime
from typing import Any

import structlog
from django.conf import settings
from django.db import connection, transaction

import jobs
from catalog.cache import NAMESPACES, catalog_invalidate
from jobs.models import JobRecord
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
