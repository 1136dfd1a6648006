"""Prometheus metrics every app may count through (one module, one place).

prometheus_client writes to PROMETHEUS_MULTIPROC_DIR when that is set, so the
figures of every gunicorn worker add up at /metrics, and those of every Celery
pool process at monitoring.exporter. Gauges that are state, not events (queue
depth, sessions) are read from the database at scrape time: StateCollector.
"""

import time
from collections.abc import Iterator
from decimal import Decimal

import structlog
from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

logger = structlog.get_logger("bazaar.monitoring")

JOB_LABELS = ("type", "priority")

JOBS_ENQUEUED = Counter("bazaar_jobs_enqueued_total", "Jobs enqueued", JOB_LABELS)
JOBS_STARTED = Counter("bazaar_jobs_started_total", "Job attempts started", JOB_LABELS)
JOBS_SUCCEEDED = Counter("bazaar_jobs_succeeded_total", "Jobs succeeded", JOB_LABELS)
JOBS_FAILED = Counter("bazaar_jobs_failed_total", "Jobs failed for good", JOB_LABELS)
JOBS_RETRIED = Counter(
    "bazaar_jobs_retried_total", "Job attempts scheduled again", JOB_LABELS
)
JOB_QUEUE_WAIT = Histogram(
    "bazaar_job_queue_wait_seconds",
    "From due to started, per priority class",
    ("priority",),
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
JOB_RUN_TIME = Histogram(
    "bazaar_job_run_seconds",
    "Handler run time, per job type",
    ("type",),
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)

ACTIVITY_EVENTS = Counter(
    "bazaar_activity_events_total",
    "User-activity events by outcome (queued, dropped while Redis was down, stored)",
    ("outcome",),
)

CACHE_REQUESTS = Counter(
    "bazaar_cache_requests_total",
    "Response-cache lookups by namespace and result (hit, miss, bypass, stale)",
    ("namespace", "result"),
)

# Labelled by the URL pattern (``api/products/<slug:slug>/``), never the raw
# path: one series per route, whatever the ids in the URLs.
REQUEST_SECONDS = Histogram(
    "bazaar_request_seconds",
    "Request duration by route template, method and status class (2xx..5xx)",
    ("route", "method", "status_class"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

ORDERS_PLACED = Counter(
    "bazaar_orders_placed_total", "Orders placed (committed)", ("currency",)
)
REVENUE = Counter(
    "bazaar_revenue_total",
    "Paid order totals, in each currency's units (counted when the payment commits)",
    ("currency",),
)
REGISTRATIONS = Counter("bazaar_registrations_total", "Accounts registered")
LOGIN_FAILURES = Counter(
    "bazaar_login_failures_total",
    "Failed sign-ins by reason (unknown_email, bad_password)",
    ("reason",),
)


def revenue_add(currency: str, amount: Decimal) -> None:
    """A committed payment into ``bazaar_revenue_total`` (a float counter)."""
    REVENUE.labels(currency).inc(float(amount))


def status_class(status: int) -> str:
    """``2xx``..``5xx``: bounded label values for alert ratios."""
    return f"{status // 100}xx"


class StateCollector:
    """Gauges read from the database at scrape time: job queue depth, outbox
    backlog and live sessions.

    Registered only in the /metrics view's own registry, so every scrape runs
    these few indexed COUNTs once (not once per process, and never in
    multiprocess files, where a gauge would need a per-process mode).
    """

    def collect(self) -> Iterator[Metric]:
        """A database outage must not cost the scrape (and every other
        series with it): the gauges are left out and ``..._up`` says 0."""
        up = GaugeMetricFamily(
            "bazaar_state_gauges_up",
            "1 when the database-backed gauges were read at this scrape",
        )
        try:
            gauges = list(self._gauges())
        except Exception:
            logger.exception("metrics_state_failed")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from gauges

    def _gauges(self) -> Iterator[Metric]:
        from django.db.models import Count, Q
        from django.utils import timezone

        from accounts.models import Session
        from jobs.enums import JobStatus, Priority
        from jobs.models import JobRecord

        depth = GaugeMetricFamily(
            "bazaar_job_queue_depth",
            "Live jobs (queued, running) per priority class",
            labels=("priority", "status"),
        )
        backlog = GaugeMetricFamily(
            "bazaar_job_outbox_backlog",
            "Queued jobs the relay has not yet published to the broker",
            labels=("priority",),
        )
        counts = {
            (row["priority"], row["status"]): row
            for row in JobRecord.objects.filter(
                status__in=(JobStatus.QUEUED, JobStatus.RUNNING)
            )
            .values("priority", "status")
            .annotate(
                n=Count("pk"),
                unpublished=Count("pk", filter=Q(published_at__isnull=True)),
            )
        }
        for priority in Priority:
            for status in (JobStatus.QUEUED, JobStatus.RUNNING):
                row = counts.get((priority.value, status.value), {})
                depth.add_metric([priority.label, status.value], row.get("n", 0))
            queued = counts.get((priority.value, JobStatus.QUEUED.value), {})
            backlog.add_metric([priority.label], queued.get("unpublished", 0))
        now = timezone.now()
        sessions = GaugeMetricFamily(
            "bazaar_live_sessions", "Sessions neither revoked nor expired"
        )
        sessions.add_metric(
            [],
            Session.objects.filter(
                revoked_at__isnull=True, expires_at__gt=now, idle_expires_at__gt=now
            ).count(),
        )
        yield depth
        yield backlog
        yield sessions
        yield from _migration_gauges()


_MIGRATIONS_TTL = 60.0
_migrations_cache: tuple[float, int, int] | None = None


def _migration_gauges() -> Iterator[Metric]:
    """Applied/unapplied migrations, read at scrape time (not at every process
    start, as django-prometheus's own export would, failing starts while the
    database is down); the migration graph is rebuilt at most once a minute."""
    global _migrations_cache
    now = time.monotonic()
    if _migrations_cache is None or now - _migrations_cache[0] > _MIGRATIONS_TTL:
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        applied = len(executor.loader.applied_migrations)
        _migrations_cache = (now, applied, len(plan))
    _, applied, unapplied = _migrations_cache
    yield GaugeMetricFamily(
        "bazaar_migrations_applied", "Applied database migrations", value=applied
    )
    yield GaugeMetricFamily(
        "bazaar_migrations_unapplied",
        "Migrations not yet applied (non-zero after a deploy: migrate pending)",
        value=unapplied,
    )


# Methods that get a series (and a stats field) of their own; others are OTHER.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_observe(
    route: str | None, method: str | None, status: int, duration_ms: float
) -> None:
    """One request into ``bazaar_request_seconds``; label values stay bounded
    (unmatched paths and odd methods share a series each)."""
    REQUEST_SECONDS.labels(
        route if route is not None else "<unmatched>",
        method if method in METHODS else "OTHER",
        status_class(status),
    ).observe(duration_ms / 1000)
