"""Prometheus metrics every app may count through (one module, one place).

prometheus_client writes to PROMETHEUS_MULTIPROC_DIR when that is set, so the
figures of every gunicorn and Celery process add up at /metrics.
"""

from prometheus_client import Counter, Histogram

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
