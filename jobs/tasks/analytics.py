"""Analytics jobs: counters folded into the database off the request path."""

from typing import Any

from catalog.popularity import product_views_flush
from jobs.enums import Priority
from jobs.models import JobRecord
from jobs.registry import job_type


@job_type("analytics.flush_product_views", priority=Priority.LOW, atomic=False)
def flush_product_views(job: JobRecord) -> dict[str, Any]:
    """Fold the product views counted in Redis into popularity (every minute)."""
    return product_views_flush()
