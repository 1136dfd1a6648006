"""Job types for the platform tests; they count what they do in Redis.

Registered through JOB_EXTRA_MODULES, so subprocess workers know them too.
"""

import time
from typing import Any

from django_redis import get_redis_connection

from jobs.enums import Backoff, Priority
from jobs.models import JobRecord
from jobs.registry import job_type


def redis() -> Any:
    return get_redis_connection("default")


@job_type("testing.count", priority=Priority.MEDIUM)
def count(job: JobRecord) -> dict[str, Any]:
    r = redis()
    runs = r.incr(f"runs:{job.pk}")
    r.rpush("started", job.payload.get("tag", str(job.pk)))
    return {"runs": runs}


@job_type(
    "testing.flaky",
    max_attempts=4,
    backoff=Backoff.EXPONENTIAL,
    backoff_base=0.4,
    backoff_cap=10,
)
def flaky(job: JobRecord) -> None:
    redis().rpush(f"attempt_times:{job.pk}", time.time())
    if job.attempts <= job.payload["fail"]:
        raise RuntimeError(f"planned failure {job.attempts}")


@job_type("testing.broken", max_attempts=2, backoff=Backoff.FIXED, backoff_base=0.1)
def broken(job: JobRecord) -> None:
    raise ValueError("this job always fails")


@job_type("testing.sleep", priority=Priority.MEDIUM, max_attempts=3)
def sleep(job: JobRecord) -> dict[str, Any]:
    r = redis()
    r.incr(f"starts:{job.pk}")
    r.rpush("started", job.payload.get("tag", str(job.pk)))
    if job.attempts == 1 or not job.payload.get("only_first"):
        time.sleep(job.payload["seconds"])
    done = r.incr(f"done:{job.pk}")
    return {"done": done}
