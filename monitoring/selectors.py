"""Reads about the platform itself: PostgreSQL's table and index statistics,
and the periodic performance snapshot.

Dead-tuple share stands in for bloat: an exact figure needs pgstattuple,
which scans whole tables; the statistics views cost nothing to read.
"""

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    QuerySet,
)
from django.db.models.functions import TruncMinute
from django.utils import timezone
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from config.redis_breaker import breaker
from jobs.enums import JobStatus
from jobs.models import JobRecord
from jobs.selectors import job_counts, queue_status
from monitoring import stats
from monitoring.health import CHECKS, OK, run_checks
from monitoring.memory import memory_figures

SCAN_HEAVY_MIN_ROWS = 10_000
LIMIT = 20
SNAPSHOT_ROUTES = 10
SNAPSHOT_QUERIES = 5


def _rows(sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        columns = [column.name for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


class Percentile(Aggregate):
    """PostgreSQL's ``percentile_cont(p) WITHIN GROUP (ORDER BY expr)``."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)


def seconds_between(later: str, earlier: str) -> Func:
    """``EXTRACT(EPOCH FROM later - earlier)``: the time between two fields
    in seconds (null when either is)."""
    return Func(
        ExpressionWrapper(F(later) - F(earlier), output_field=DurationField()),
        template="EXTRACT(EPOCH FROM %(expressions)s)",
        output_field=FloatField(),
    )


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
    requests = stats.request_figures(start=start, end=end)
    return {
        "start": start,
        "end": end,
        "requests": requests["requests"],
        "routes": [
            {key: row[key] for key in ("route", "count", "p95_ms", "error_rate")}
            for row in requests["routes"][:SNAPSHOT_ROUTES]
        ],
        "cache": [
            {key: row[key] for key in ("namespace", "hit_rate")}
            for row in requests["cache"]
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


# --- Operations API (/api/admin/performance/) ---------------------------------
# Every reader below answers from a handful of SQL statements and pipelined
# Redis reads, so the dashboard's 5-second refresh costs little; a Redis outage
# gives empty figures (never an error), like ``monitoring.stats`` itself.

# Import time of this module: the web process loads the URL conf (and this
# module) at start-up, so it stands in for the process's start.
PROCESS_STARTED = time.time()
WINDOWS = {"5m": 5, "60m": 60}
DASHBOARD_MINUTES = 60
DASHBOARD_SLOW_QUERIES = 10
DASHBOARD_FAILED_JOBS = 10
QUERIES_LIMIT = 20
TRACEBACK_CHARS = 2000


def _minute_start(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


def _elapsed_seconds(first_minute: int, now: float) -> float:
    """Seconds from the start of ``first_minute`` to now: the window's length,
    counting only the elapsed part of the current minute."""
    return max(now - first_minute * 60, 1.0)


def _window(
    buckets: list[tuple[int, stats.MinuteFigures]], *, now: float, routes: bool
) -> dict[str, Any]:
    merged = stats.MinuteFigures()
    for _, figures in buckets:
        merged.add(figures)
    elapsed = _elapsed_seconds(buckets[0][0], now)
    window: dict[str, Any] = {
        "requests": merged.requests,
        "rate_per_s": round(merged.requests / elapsed, 3),
        "errors": merged.errors,
        "error_rate": stats.rate(merged.errors, merged.requests),
        "p50_ms": merged.percentile(0.50),
        "p95_ms": merged.percentile(0.95),
        "p99_ms": merged.percentile(0.99),
    }
    if routes:
        start = _minute_start(buckets[0][0])
        end = _minute_start(buckets[-1][0] + 1)
        window["routes"] = [
            {**row, "rate_per_s": round(row["count"] / elapsed, 3)}
            for row in stats.route_figures(start=start, end=end)
        ]
    return window


def performance_summary(*, now: float | None = None) -> dict[str, Any]:
    """Request figures over the last 5 and 60 minutes (the current minute
    included), overall and per route, with rates over the elapsed time."""
    now = time.time() if now is None else now
    buckets = stats.minute_figures(minutes=max(WINDOWS.values()), now=now)
    return {
        "generated_at": datetime.fromtimestamp(now, UTC),
        "windows": {
            name: _window(buckets[-minutes:], now=now, routes=True)
            for name, minutes in WINDOWS.items()
        },
    }


def _series(buckets: list[tuple[int, stats.MinuteFigures]]) -> list[dict[str, Any]]:
    return [
        {
            "minute": _minute_start(minute),
            "requests": figures.requests,
            "errors": figures.errors,
            "error_rate": stats.rate(figures.errors, figures.requests),
            "p95_ms": figures.percentile(0.95),
            "cache_hit_rate": stats.rate(figures.cache_hits, figures.cache_lookups),
        }
        for minute, figures in buckets
    ]


def performance_trends(*, minutes: int, now: float | None = None) -> dict[str, Any]:
    """One entry per minute, oldest first, zeros where nothing happened."""
    return {"minutes": _series(stats.minute_figures(minutes=minutes, now=now))}


def job_outcomes_per_minute(*, minutes: int) -> list[dict[str, Any]]:
    """Failed and succeeded jobs per finishing minute (oldest first, zeros
    included): one GROUP BY over the (status, finished_at) index."""
    current = stats.current_minute()
    start = _minute_start(current - minutes + 1)
    counts: dict[tuple[datetime, str], int] = {
        (row["minute"], row["status"]): row["n"]
        for row in JobRecord.objects.filter(
            status__in=[JobStatus.FAILED, JobStatus.SUCCEEDED], finished_at__gte=start
        )
        .annotate(minute=TruncMinute("finished_at", tzinfo=UTC))
        .values("minute", "status")
        .annotate(n=Count("pk"))
    }
    series = []
    for minute in range(current - minutes + 1, current + 1):
        moment = _minute_start(minute)
        series.append(
            {
                "minute": moment,
                "failed": counts.get((moment, JobStatus.FAILED), 0),
                "succeeded": counts.get((moment, JobStatus.SUCCEEDED), 0),
            }
        )
    return series


def failed_job_list(*, job_type: str | None = None) -> QuerySet[JobRecord]:
    """Failed jobs with their traceback, optionally of one type; the caller
    orders and slices."""
    queryset = JobRecord.objects.filter(status=JobStatus.FAILED).defer(
        "payload", "result"
    )
    if job_type:
        queryset = queryset.filter(type=job_type)
    return queryset


def _failed_job_row(job: JobRecord) -> dict[str, Any]:
    return {
        "id": job.pk,
        "type": job.type,
        "priority": job.priority,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "error": job.error,
        "finished_at": job.finished_at,
    }


def dashboard(*, now: float | None = None) -> dict[str, Any]:
    """Everything the /admin/performance/ page draws, in one answer: one
    pipelined pass over the last hour's minute hashes serves both the 5-minute
    summary and the per-minute series."""
    now = time.time() if now is None else now
    buckets = stats.minute_figures(minutes=DASHBOARD_MINUTES, now=now)
    moment = datetime.fromtimestamp(now, UTC)
    latest_failures = (
        failed_job_list()
        .defer("traceback")
        .order_by(F("finished_at").desc(nulls_last=True), "-pk")[:DASHBOARD_FAILED_JOBS]
    )
    return {
        "generated_at": moment,
        "summary": _window(buckets[-WINDOWS["5m"] :], now=now, routes=False),
        "series": _series(buckets),
        "queues": queue_status(),
        "job_failures": job_outcomes_per_minute(minutes=DASHBOARD_MINUTES),
        "slow_queries": stats.slow_query_figures(
            start=moment - timedelta(minutes=DASHBOARD_MINUTES),
            end=moment,
            limit=DASHBOARD_SLOW_QUERIES,
        ),
        "failed_jobs": [_failed_job_row(job) for job in latest_failures],
    }


def pg_stat_statements_top(
    *, limit: int = QUERIES_LIMIT
) -> list[dict[str, Any]] | None:
    """The statements of this database costing the most time, or None when
    the extension is not installed (or not loaded: then reading it fails)."""
    if not _rows(
        "SELECT 1 AS present FROM pg_extension WHERE extname = %s",
        ["pg_stat_statements"],
    ):
        return None
    try:
        with transaction.atomic():  # a savepoint: a failure leaves the request usable
            return _rows(
                """
                SELECT query,
                       calls,
                       round(total_exec_time::numeric, 2)::float AS total_ms,
                       round(mean_exec_time::numeric, 2)::float AS mean_ms,
                       rows
                  FROM pg_stat_statements
                 WHERE dbid = (SELECT oid FROM pg_database
                                WHERE datname = current_database())
                 ORDER BY total_exec_time DESC
                 LIMIT %s
                """,
                [limit],
            )
    except DatabaseError:
        return None


def slow_queries_report(*, minutes: int) -> dict[str, Any]:
    """Slow statements seen by the app (stats) and, when available, what
    PostgreSQL itself measured (pg_stat_statements)."""
    end = timezone.now()
    return {
        "slow_queries": stats.slow_query_figures(
            start=end - timedelta(minutes=minutes), end=end, limit=QUERIES_LIMIT
        ),
        "threshold_ms": settings.SLOW_QUERY_MS,
        "pg_stat_statements": pg_stat_statements_top(),
    }


def database_connections() -> dict[str, int]:
    """This database's backends (pg_stat_activity) and the server's limit."""
    return _rows(
        """
        SELECT count(*) AS connections,
               count(*) FILTER (WHERE state = 'active') AS active,
               count(*) FILTER (WHERE state LIKE 'idle%%') AS idle,
               current_setting('max_connections')::int AS max_connections
          FROM pg_stat_activity
         WHERE datname = current_database()
        """
    )[0]


def redis_figures() -> dict[str, Any]:
    """Memory, clients and keys of the default (cache) Redis; ``down`` with
    nulls when it does not answer. Goes through the shared breaker, so an
    outage costs one socket timeout, not one per refresh."""
    down = {
        "status": "down",
        "used_memory_bytes": None,
        "maxmemory_bytes": None,
        "connected_clients": None,
        "keys": None,
    }
    if breaker.is_open():
        return down
    try:
        pipe = get_redis_connection("default").pipeline(transaction=False)
        pipe.info()
        pipe.dbsize()
        info, keys = pipe.execute()
    except RedisError as exc:
        breaker.trip(exc)
        return down
    return {
        "status": "ok",
        "used_memory_bytes": info.get("used_memory"),
        "maxmemory_bytes": info.get("maxmemory"),
        "connected_clients": info.get("connected_clients"),
        "keys": keys,
    }


def realtime() -> dict[str, Any]:
    """The live state: uptime, database connections, Redis, process memory."""
    return {
        "generated_at": timezone.now(),
        "uptime_seconds": round(time.time() - PROCESS_STARTED, 1),
        "db": database_connections(),
        "redis": redis_figures(),
        "processes": memory_figures(),  # [] when Redis fails
    }


def cache_report(*, minutes: int) -> dict[str, Any]:
    """Per-namespace cache results over the last ``minutes`` and the overall
    hit rate (a stale answer counts as a hit)."""
    end = timezone.now()
    rows = stats.cache_figures(start=end - timedelta(minutes=minutes), end=end)
    hits = sum(row["hits"] + row["stale"] for row in rows)
    lookups = sum(row[name] for row in rows for name in stats.RESULTS.values())
    return {
        "namespaces": rows,
        "hit_rate": stats.rate(hits, lookups),
        "redis": redis_figures(),
    }


def job_latencies(*, minutes: int = 60) -> dict[int, dict[str, float | None]]:
    """Per priority, over jobs started in the last ``minutes``: the p50/p95 of
    the wait (due → started) and of the run (started → finished), seconds.

    Requeued jobs are left out: their ``run_at`` already points at the next
    attempt, which would make their wait negative.
    """
    wait = seconds_between("started_at", "run_at")
    run = seconds_between("finished_at", "started_at")
    rows = (
        JobRecord.objects.filter(
            started_at__gte=timezone.now() - timedelta(minutes=minutes),
            status__in=[JobStatus.RUNNING, JobStatus.SUCCEEDED, JobStatus.FAILED],
        )
        .values("priority")
        .annotate(
            wait_p50_s=Percentile(wait, 0.5),
            wait_p95_s=Percentile(wait, 0.95),
            run_p50_s=Percentile(run, 0.5),
            run_p95_s=Percentile(run, 0.95),
        )
        .order_by()
    )
    return {
        row.pop("priority"): {
            key: None if value is None else round(float(value), 3)
            for key, value in row.items()
        }
        for row in rows
    }


def jobs_report() -> dict[str, Any]:
    """Job counts, and each queue with its wait and run percentiles."""
    latencies = job_latencies()
    empty = dict.fromkeys(("wait_p50_s", "wait_p95_s", "run_p50_s", "run_p95_s"))
    return {
        "counts": job_counts(),
        "queues": [
            {**row, **latencies.get(row["priority"], empty)} for row in queue_status()
        ],
    }


def _security_cache_check() -> None:
    get_redis_connection("security").ping()


def detailed_health() -> dict[str, Any]:
    """health.py's checks plus the security cache, each timed: ``down`` when
    the database is, ``degraded`` when anything else is (as /ready decides)."""
    checks = run_checks({**CHECKS, "security_cache": _security_cache_check})
    if checks["database"]["status"] != OK:
        overall = "down"
    elif all(check["status"] == OK for check in checks.values()):
        overall = "ok"
    else:
        overall = "degraded"
    return {"status": overall, "checks": checks}
