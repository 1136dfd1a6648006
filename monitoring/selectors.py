"""Reads about the platform itself: PostgreSQL's table and index statistics,
and the periodic performance snapshot.

Dead-tuple share stands in for bloat: an exact figure needs pgstattuple,
which scans whole tables; the statistics views cost nothing to read.
"""

from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count

from jobs.enums import JobStatus
from jobs.models import JobRecord
from jobs.selectors import queue_status
from monitoring import stats

SCAN_HEAVY_MIN_ROWS = 10_000
LIMIT = 20
SNAPSHOT_ROUTES = 10
SNAPSHOT_QUERIES = 5


def _rows(sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        columns = [column.name for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def database_tables() -> list[dict[str, Any]]:
    """The schema's tables, most dead tuples first: live and dead tuples, the
    dead share, total size, and when (auto)vacuum and analyze last ran."""
    return _rows(
        """
        SELECT relname AS table,
               n_live_tup AS live,
               n_dead_tup AS dead,
               round(
                   n_dead_tup::numeric / greatest(n_live_tup + n_dead_tup, 1), 4
               )::float AS dead_ratio,
               pg_total_relation_size(relid) AS size_bytes,
               n_mod_since_analyze AS modified_since_analyze,
               greatest(last_vacuum, last_autovacuum) AS last_vacuum,
               greatest(last_analyze, last_autoanalyze) AS last_analyze
          FROM pg_stat_user_tables
         WHERE schemaname = current_schema()
         ORDER BY n_dead_tup DESC, relname
        """
    )


def database_unused_indexes() -> list[dict[str, Any]]:
    """Indexes never scanned since statistics were reset, biggest first, not
    counting those that enforce uniqueness (they work without being read)."""
    return _rows(
        """
        SELECT s.indexrelname AS index,
               s.relname AS table,
               s.idx_scan AS scans,
               pg_relation_size(s.indexrelid) AS size_bytes
          FROM pg_stat_user_indexes s
          JOIN pg_index i ON i.indexrelid = s.indexrelid
         WHERE s.schemaname = current_schema()
           AND s.idx_scan = 0
           AND NOT i.indisunique
         ORDER BY pg_relation_size(s.indexrelid) DESC, s.indexrelname
         LIMIT %s
        """,
        [LIMIT],
    )


def database_scan_heavy_tables() -> list[dict[str, Any]]:
    """Tables of some size read mostly by sequential scans: a missing index,
    or a query that cannot use one."""
    return _rows(
        """
        SELECT relname AS table,
               seq_scan,
               coalesce(idx_scan, 0) AS idx_scan,
               n_live_tup AS live
          FROM pg_stat_user_tables
         WHERE schemaname = current_schema()
           AND n_live_tup >= %s
           AND seq_scan > coalesce(idx_scan, 0)
         ORDER BY seq_scan - coalesce(idx_scan, 0) DESC
         LIMIT %s
        """,
        [SCAN_HEAVY_MIN_ROWS, LIMIT],
    )


def performance_snapshot(*, end: datetime, minutes: int) -> dict[str, Any]:
    """How the platform did in the ``minutes`` before ``end``: request totals,
    the busiest routes with their p95, cache hit rates, queue depths, job
    outcomes and the costliest slow queries. Logged on a schedule, so a log
    search shows the platform's recent history without Prometheus."""
    start = end - timedelta(minutes=minutes)
    outcomes = dict(
        JobRecord.objects.filter(
            finished_at__gte=start,
            finished_at__lt=end,
            status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED],
        )
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    succeeded = outcomes.get(JobStatus.SUCCEEDED, 0)
    failed = outcomes.get(JobStatus.FAILED, 0)
    return {
        "start": start,
        "end": end,
        "requests": stats.totals(start=start, end=end),
        "routes": [
            {key: row[key] for key in ("route", "count", "p95_ms", "error_rate")}
            for row in stats.route_figures(start=start, end=end)[:SNAPSHOT_ROUTES]
        ],
        "cache": [
            {key: row[key] for key in ("namespace", "hit_rate")}
            for row in stats.cache_figures(start=start, end=end)
        ],
        "queues": {
            row["queue"]: {"queued": row["queued"], "running": row["running"]}
            for row in queue_status()
        },
        "jobs": {
            "succeeded": succeeded,
            "failed": failed,
            "failure_rate": round(failed / (succeeded + failed), 4)
            if succeeded + failed
            else 0.0,
        },
        "slow_queries": [
            {key: row[key] for key in ("fingerprint", "count", "max_ms", "route")}
            for row in stats.slow_query_figures(
                start=start, end=end, limit=SNAPSHOT_QUERIES
            )
        ],
    }
