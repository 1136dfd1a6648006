"""Cache jobs: warming the catalog's response cache, refreshing entries ahead.

``cache.warm`` is a job type (a ``JobRecord`` through the outbox): scheduled,
retried, visible at ``/api/jobs``. ``cache.refresh`` deliberately is not: it
is scheduled by a cache hit, i.e. by a GET, which must not write to the
database, and it is best effort (a lost one only costs a later MISS), so the
request publishes it straight to the broker (``catalog.cache.store``) as a
plain Celery task on the MEDIUM class's queue (ahead of LOW and BATCH
backlogs: see ``catalog.cache.store``). No retries, no late ack, no
result: a message lost with its worker is the same as one never sent. Like
the job types it is a thin wrapper over the service, and named
``<category>.<action>`` in the same namespace.
"""

from typing import Any

from celery import shared_task
from django.db import close_old_connections

from catalog.warming import cache_refresh, cache_warm
from jobs.enums import Priority
from jobs.models import JobRecord
from jobs.registry import job_type


@job_type("cache.warm", priority=Priority.LOW, atomic=False, max_attempts=1)
def warm(job: JobRecord) -> dict[str, Any]:
    """Build the busiest catalog pages' cache entries (start-up and every 30 min)."""
    return cache_warm()


@shared_task(name="cache.refresh", ignore_result=True, acks_late=False, max_retries=0)
def refresh(path: str) -> str:
    """Rebuild the catalog cache entry of ``path`` before it expires (the
    publisher names the queue, ``medium``, as the relay does for job types)."""
    try:
        return cache_refresh(path)
    finally:
        # Hand the connection back to the pool, as the job runner does.
        close_old_connections()
