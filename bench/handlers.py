"""Job types and a raw Celery task used only by the benchmarks.

Both arms of a comparison end in the same Redis INCR, so one counter times
them. Loaded into workers through JOB_EXTRA_MODULES=bench.handlers.
"""

import time
from typing import Any

from celery import shared_task
from django.conf import settings
from redis import Redis

from jobs.enums import Priority
from jobs.models import JobRecord
from jobs.registry import job_type

COUNTER = "bench:done"
STARTS = "bench:starts"

_redis: dict[str, Redis] = {}


def redis() -> Redis:
    url = settings.CACHE_URL
    if url not in _redis:
        _redis[url] = Redis.from_url(url)
    return _redis[url]


# Writes no table, so it needs no transaction of its own (atomic=False): the
# platform's whole cost is the claim and the recorded outcome.
@job_type("bench.noop", priority=Priority.LOW, atomic=False)
def noop(job: JobRecord) -> None:
    redis().incr(COUNTER)


@shared_task(name="bench.raw_noop", ignore_result=True, acks_late=True)
def raw_noop() -> None:
    redis().incr(COUNTER)


@job_type("bench.sleep", priority=Priority.LOW, atomic=False)
def sleep(job: JobRecord) -> None:
    time.sleep(job.payload["seconds"])


@job_type("bench.stamp", priority=Priority.CRITICAL)
def stamp(job: JobRecord) -> None:
    """Records when the handler started, beside when enqueue was called."""
    redis().hset(STARTS, str(job.pk), f"{job.payload['t0']}:{time.time()}")


@job_type("bench.filler", priority=Priority.LOW)
def filler(job: JobRecord) -> Any:
    return None
