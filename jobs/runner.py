"""Running one attempt of a job inside a worker: claim, lease, handler, outcome."""

import os
import socket
import threading
import time

import structlog
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from jobs.enums import JobStatus, Priority
from jobs.exceptions import LeaseLost
from jobs.models import JobRecord
from jobs.registry import get_job_type
from jobs.services import job_claim, job_complete, job_fail, job_renew_lease
from monitoring import metrics
from monitoring.request_id import reset_request_id, set_request_id

logger = structlog.get_logger("bazaar.jobs.runner")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


class LeaseKeeper:
    """One thread per process renews the leases of the jobs running in it.

    A worker killed mid-job stops renewing; the relay re-queues the job once
    the lease lapses (JOB_LEASE_SECONDS), far sooner than the broker's own
    visibility timeout. Renewing happens every third of the lease.
    """

    def __init__(self) -> None:
        self._jobs: dict[object, JobRecord] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def add(self, job: JobRecord) -> None:
        with self._lock:
            self._jobs[job.pk] = job
            if self._thread is None or self._pid != os.getpid():
                # (Re)start after a fork: threads do not survive into children.
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, name="job-lease-keeper", daemon=True
                )
                self._thread.start()

    def remove(self, job: JobRecord) -> None:
        with self._lock:
            self._jobs.pop(job.pk, None)

    def _run(self) -> None:
        while True:
            time.sleep(max(settings.JOB_LEASE_SECONDS / 3, 0.2))
            with self._lock:
                running = list(self._jobs.values())
            for job in running:
                try:
                    if not job_renew_lease(job=job):
                        logger.warning("lease_renewal_refused", job_id=str(job.pk))
                except Exception:  # keep renewing the others; log and go on
                    logger.exception("lease_renewal_failed", job_id=str(job.pk))
            connection.close()


lease_keeper = LeaseKeeper()


def run_job(job_id: str) -> JobStatus | None:
    """Run one attempt of ``job_id``; None when there was nothing to claim.

    Delivery is at least once; the claim makes a duplicate message a no-op.
    """
    try:
        job = job_claim(job_id=job_id, worker=worker_name())
        if job is None:
            logger.info("job_not_claimable", job_id=str(job_id))
            return None
        return _run_claimed(job)
    finally:
        # Hand the connection back to the pool between jobs, as Django does
        # between requests.
        close_old_connections()


def _run_claimed(job: JobRecord) -> JobStatus:
    kind = get_job_type(job.type)
    labels = (job.type, Priority(job.priority).label)
    metrics.JOBS_STARTED.labels(*labels).inc()
    waited = (job.started_at - job.run_at).total_seconds() if job.started_at else 0.0
    metrics.JOB_QUEUE_WAIT.labels(labels[1]).observe(max(waited, 0.0))
    token = set_request_id(job.request_id or None)
    structlog.contextvars.bind_contextvars(
        job_id=str(job.pk), job_type=job.type, request_id=job.request_id or None
    )
    lease_keeper.add(job)
    started = time.perf_counter()
    try:
        if kind.atomic:
            with transaction.atomic():
                result = kind.handler(job)
                job_complete(job=job, result=result)
        else:
            result = kind.handler(job)
            job_complete(job=job, result=result)
        status = JobStatus.SUCCEEDED
        logger.info("job_succeeded", attempt=job.attempts)
    except LeaseLost:
        # Another attempt owns the job now; this one's writes were rolled back.
        logger.warning("job_lease_lost", attempt=job.attempts)
        status = JobStatus.RUNNING
    except Exception as exc:
        status = job_fail(job=job, exc=exc)
    finally:
        lease_keeper.remove(job)
        metrics.JOB_RUN_TIME.labels(job.type).observe(time.perf_counter() - started)
        structlog.contextvars.unbind_contextvars("job_id", "job_type", "request_id")
        reset_request_id(token)
    return status


def run_job_inline(job_id: str) -> JobStatus | None:
    """``manage.py run_job``: run a queued job now, in this process.

    A job waiting for its next attempt or for the BATCH window is made due.
    """
    JobRecord.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        run_at=timezone.now()
    )
    return run_job(job_id)
