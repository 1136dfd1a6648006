"""Cache jobs: warming the catalog's response cache."""

from typing import Any

from catalog.warming import cache_warm
from jobs.enums import Priority
from jobs.models import JobRecord
from jobs.registry import job_type


@job_type("cache.warm", priority=Priority.LOW, atomic=False, max_attempts=1)
def warm(job: JobRecord) -> dict[str, Any]:
    """Build the busiest catalog pages' cache entries (start-up and every 30 min)."""
    return cache_warm()
