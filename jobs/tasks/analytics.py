"""Analytics jobs: counters folded into the database off the request path."""

from datetime import date
from typing import Any

from accounts.activity import activity_flush
from catalog.popularity import product_views_flush
from catalog.selectors import product_ids_by_slug
from jobs.enums import Priority
from jobs.exceptions import payload_parsing
from jobs.models import JobRecord
from jobs.registry import job_type
from orders.services import AGGREGATE_JOB, sales_aggregate


@job_type("analytics.flush_product_views", priority=Priority.LOW, atomic=False)
def flush_product_views(job: JobRecord) -> dict[str, Any]:
    """Fold the product views counted in Redis into popularity (every minute)."""
    return product_views_flush()


@job_type("analytics.flush_activity", priority=Priority.LOW, atomic=False)
def flush_activity(job: JobRecord) -> dict[str, Any]:
    """Write the user-activity events queued in Redis (every minute)."""
    return activity_flush(resolve_slugs=product_ids_by_slug)


@job_type(AGGREGATE_JOB, priority=Priority.LOW)
def aggregate_sales(job: JobRecord) -> dict[str, Any]:
    """Payload ``{"dates": ["YYYY-MM-DD", ...]}``, or none for yesterday and
    today (the nightly run). Recomputes whole days, so running twice is safe."""
    raw = job.payload.get("dates")
    with payload_parsing():
        dates = None if not raw else [date.fromisoformat(day) for day in raw]
    return sales_aggregate(dates=dates)
