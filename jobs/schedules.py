"""Periodic jobs, defined here and nowhere else.

``manage.py sync_schedules`` writes them into django-celery-beat's tables (see
``jobs.periodic.schedules_sync`` for which fields code owns and which the
admin does); beat then runs each due slot as a ``JobRecord`` through
``jobs.scheduler.JobScheduler``. Schedules name job types, never handlers.
"""

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from jobs.enums import Priority


@dataclass(frozen=True)
class Schedule:
    """One schedule: a job type, its payload, and when it is due.

    Exactly one of ``every`` (seconds, counted from the Unix epoch so every
    beat agrees on the slots) or ``crontab`` ("minute hour day-of-month month
    day-of-week", in ``TIME_ZONE``) is set. ``enabled`` is only the default of
    a newly created task: afterwards the admin decides.
    """

    name: str
    job_type: str
    every: int | None = None
    crontab: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    priority: Priority | None = None  # None: the job type's own
    enabled: bool = True
    description: str = ""

    def __post_init__(self) -> None:
        if (self.every is None) == (self.crontab is None):
            raise ValueError(f"schedule {self.name!r}: set every or crontab")
        if self.every is not None and self.every <= 0:
            raise ValueError(f"schedule {self.name!r}: every must be positive")
        if self.crontab is not None and len(self.crontab.split()) != 5:
            raise ValueError(f"schedule {self.name!r}: crontab needs five fields")


def schedule_definitions() -> list[Schedule]:
    """Every periodic job of the project.

    A function, not a constant: intervals come from settings, which app code
    never reads at import time.
    """
    return [
        Schedule(
            name="flush-product-views",
            job_type="analytics.flush_product_views",
            every=60,
            priority=Priority.LOW,
            description="Fold the product views counted in Redis into popularity.",
        ),
        Schedule(
            name="warm-cache",
            job_type="cache.warm",
            every=settings.CACHE_WARMUP_INTERVAL * 60,
            priority=Priority.LOW,
            description=(
                "Build the busiest catalog pages' cache entries "
                "(every CACHE_WARMUP_INTERVAL minutes)."
            ),
        ),
        Schedule(
            name="purge-jobs",
            job_type="maintenance.purge_jobs",
            crontab="15 3 * * *",
            priority=Priority.BATCH,
            description=(
                "Job retention: drop finished jobs past JOB_KEEP_SUCCEEDED_DAYS "
                "and JOB_KEEP_FAILED_DAYS (as manage.py purge_jobs)."
            ),
        ),
        Schedule(
            name="cleanup-sessions",
            job_type="maintenance.cleanup_sessions",
            crontab="30 3 * * *",
            priority=Priority.BATCH,
            description=(
                "Delete long-dead sessions and spent one-time codes "
                "(as manage.py cleanup_sessions)."
            ),
        ),
        Schedule(
            name="expire-unpaid-orders",
            job_type="orders.expire_unpaid",
            every=60,
            priority=Priority.MEDIUM,
            description=(
                "Cancel orders unpaid after ORDER_PAYMENT_MINUTES and return "
                "their stock (as manage.py expire_unpaid_orders)."
            ),
        ),
        Schedule(
            name="purge-idempotency-keys",
            job_type="orders.purge_idempotency_keys",
            crontab="45 3 * * *",
            priority=Priority.BATCH,
            description=(
                "Delete Idempotency-Keys older than IDEMPOTENCY_KEY_HOURS "
                "(as manage.py purge_idempotency_keys)."
            ),
        ),
        Schedule(
            name="aggregate-sales",
            job_type="analytics.aggregate_sales",
            crontab="20 0 * * *",
            priority=Priority.LOW,
            description=(
                "Recompute yesterday's and today's daily sales aggregates in full "
                "(as manage.py aggregate_sales)."
            ),
        ),
        Schedule(
            name="flush-activity",
            job_type="analytics.flush_activity",
            every=60,
            priority=Priority.LOW,
            description=(
                "Write the user-activity events queued in Redis in batches "
                "(as manage.py flush_activity)."
            ),
        ),
        Schedule(
            name="purge-activity",
            job_type="maintenance.purge_activity",
            crontab="50 3 * * *",
            priority=Priority.BATCH,
            description=(
                "Delete user-activity events older than ACTIVITY_KEEP_DAYS "
                "(as manage.py purge_activity)."
            ),
        ),
        Schedule(
            name="purge-exports",
            job_type="orders.purge_exports",
            crontab="55 3 * * *",
            priority=Priority.BATCH,
            description=(
                "Delete order exports (rows and CSV files) older than "
                "ORDER_EXPORT_KEEP_DAYS (as manage.py purge_exports)."
            ),
        ),
        Schedule(
            name="cleanup-tmp",
            job_type="maintenance.cleanup_tmp",
            crontab="5 * * * *",
            priority=Priority.LOW,
            description=(
                "Delete temporary uploads older than TMP_MAX_AGE_HOURS "
                "(as manage.py cleanup_tmp)."
            ),
        ),
        Schedule(
            name="db-maintenance",
            job_type="maintenance.db_maintenance",
            crontab="10 4 * * *",
            priority=Priority.BATCH,
            description=(
                "ANALYZE hot tables, VACUUM past the dead-tuple thresholds, log "
                "the bloat and index-usage summary (as manage.py db_maintenance)."
            ),
        ),
        Schedule(
            name="performance-snapshot",
            job_type="monitoring.performance_snapshot",
            every=settings.PERFORMANCE_LOG_INTERVAL * 60,
            priority=Priority.LOW,
            description=(
                "Log the last PERFORMANCE_LOG_INTERVAL minutes' request, cache, "
                "queue and job figures (as manage.py performance_snapshot)."
            ),
        ),
        Schedule(
            name="report-daily-sales",
            job_type="reports.generate",
            crontab="30 0 * * *",
            payload={"kind": "daily"},
            priority=Priority.LOW,
            description=(
                "Yesterday's sales report, emailed to REPORT_RECIPIENTS "
                "(as manage.py generate_report --kind daily --email)."
            ),
        ),
        Schedule(
            name="report-daily-performance",
            job_type="reports.generate",
            crontab="40 0 * * *",
            payload={"kind": "performance"},
            priority=Priority.LOW,
            description=(
                "Yesterday's system performance report, emailed to "
                "REPORT_RECIPIENTS (as manage.py generate_report --kind performance "
                "--email)."
            ),
        ),
        Schedule(
            name="report-weekly-sales",
            job_type="reports.generate",
            crontab="0 1 * * 1",
            payload={"kind": "weekly"},
            priority=Priority.LOW,
            description=(
                "Last week's (Monday-Sunday) sales report, emailed to "
                "REPORT_RECIPIENTS (as manage.py generate_report --kind weekly "
                "--email)."
            ),
        ),
        Schedule(
            name="report-weekly-customers",
            job_type="reports.generate",
            crontab="10 1 * * 1",
            payload={"kind": "customers"},
            priority=Priority.LOW,
            description=(
                "Last week's customer insights report, emailed to REPORT_RECIPIENTS "
                "(as manage.py generate_report --kind customers --email)."
            ),
        ),
    ]
