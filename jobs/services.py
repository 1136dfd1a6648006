"""Writes of the job platform: enqueue, claim, finish, retry, cancel, sweep.

``JobRecord`` is the source of truth. A job is inserted in the caller's
transaction and nothing else happens in the request: on commit, PostgreSQL
notifies the relay, which publishes to the broker and repairs whatever goes
wrong later (broker down, messages lost, workers killed). Every state change is
a conditional UPDATE, so two deliveries of one message can never run a job
twice at once or record success twice.
"""

import json
import random
import traceback as tb
from datetime import datetime, time, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from jobs import broker
from jobs.enums import (
    LIVE_STATUSES,
    PERIODIC_KEY_PREFIX,
    Backoff,
    JobStatus,
    Priority,
)
from jobs.exceptions import LeaseLost, PayloadTooLarge, PermanentJobError
from jobs.models import JobRecord
from jobs.registry import JobType, get_job_type
from monitoring import metrics
from monitoring.request_id import get_request_id

logger = structlog.get_logger("bazaar.jobs")

ERROR_CHARS = 2000
TRACEBACK_CHARS = 8000


def _labels(job: JobRecord) -> tuple[str, str]:
    return job.type, Priority(job.priority).label


def batch_window() -> tuple[time, time]:
    """The off-peak window for BATCH jobs, ``JOB_BATCH_WINDOW`` ("01:00-05:00")."""
    start, _, end = settings.JOB_BATCH_WINDOW.partition("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def in_batch_window(at: datetime) -> bool:
    start, end = batch_window()
    local = timezone.localtime(at).time()
    if start <= end:
        return start <= local < end
    return local >= start or local < end  # a window across midnight


def _validate_payload(payload: dict[str, Any]) -> None:
    try:
        encoded = json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"job payload must be plain JSON: {exc}") from exc
    if len(encoded.encode()) > settings.JOB_PAYLOAD_MAX_BYTES:
        raise PayloadTooLarge(
            f"job payload exceeds {settings.JOB_PAYLOAD_MAX_BYTES} bytes"
        )


def job_enqueue(
    job_type: str,
    payload: dict[str, Any] | None = None,
    *,
    priority: int | None = None,
    user: Any = None,
    order: Any = None,
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
    forced: bool = False,
) -> JobRecord:
    """Record a job in the current transaction; the relay publishes it once
    the transaction commits (a rollback leaves nothing behind).

    With ``dedupe_key``, a live job (queued or running) with the same key is
    returned instead of a new one; for a periodic key (``periodic:...``) a job
    of any status is, since a scheduled slot runs once.
    """
    kind = get_job_type(job_type)
    payload = payload or {}
    _validate_payload(payload)
    now = timezone.now()
    job = JobRecord(
        type=kind.name,
        priority=kind.priority if priority is None else Priority(priority),
        payload=payload,
        user=user,
        order=order,
        run_at=run_at or now,
        max_attempts=kind.max_attempts or settings.JOB_RETRY_ATTEMPTS,
        dedupe_key=dedupe_key,
        forced=forced,
        request_id=get_request_id() or "",
        created_at=now,
    )
    if dedupe_key:
        try:
            with transaction.atomic():
                job.save(force_insert=True)
        except IntegrityError:
            same_key = JobRecord.objects.filter(dedupe_key=dedupe_key)
            if not dedupe_key.startswith(PERIODIC_KEY_PREFIX):
                same_key = same_key.filter(status__in=LIVE_STATUSES)
            existing = same_key.first()
            if existing is None:
                raise
            return existing
    else:
        job.save(force_insert=True)
    if kind.on_enqueue is not None:
        kind.on_enqueue(job)
    metrics.JOBS_ENQUEUED.labels(*_labels(job)).inc()
    return job


def _bookkeeping_commit() -> None:
    """Let this transaction commit without waiting for its WAL flush.

    Only for pure bookkeeping (claims, lease renewals): a server crash may
    forget the last few, which sends the job round again, and delivery is at
    least once anyway. Business writes and job outcomes stay synchronous.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")


# What a worker needs of a claimed job; fetched by the claim itself.
_CLAIM_COLUMNS = (
    "id",
    "type",
    "priority",
    "payload",
    "user_id",
    "order_id",
    "status",
    "attempts",
    "max_attempts",
    "run_at",
    "started_at",
    "request_id",
    "forced",
)


def job_claim(*, job_id: str, worker: str) -> JobRecord | None:
    """Take a due, queued job for one attempt; None if anyone else has it.

    One UPDATE ... RETURNING: the row lock makes the claim atomic, so a second
    delivery of the same message finds nothing to claim. The claim is pure
    bookkeeping, so it commits without waiting for the WAL flush (see
    ``_bookkeeping_commit``), in the same single round trip.
    """
    returning = ", ".join(f"job.{column}" for column in _CLAIM_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE jobs_jobrecord AS job
               SET status = 'running', attempts = job.attempts + 1,
                   started_at = now(), finished_at = NULL, worker = %s,
                   lease_expires_at = now() + make_interval(secs => %s)
              FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async
             WHERE job.id = %s AND job.status = 'queued' AND job.run_at <= now()
               AND job.attempts < job.max_attempts
            RETURNING {returning}
            """,  # noqa: S608 - the interpolated column list is a constant
            [worker[:200], settings.JOB_LEASE_SECONDS, job_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    values = dict(zip(_CLAIM_COLUMNS, row, strict=True))
    if isinstance(values["payload"], str):
        values["payload"] = json.loads(values["payload"])
    return JobRecord(**values)


def job_renew_lease(*, job: JobRecord) -> bool:
    """Extend a running attempt's lease; False if the attempt is no longer ours."""
    with transaction.atomic():
        _bookkeeping_commit()
        return bool(
            JobRecord.objects.filter(
                pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts
            ).update(
                lease_expires_at=timezone.now()
                + timedelta(seconds=settings.JOB_LEASE_SECONDS)
            )
        )


def job_complete(*, job: JobRecord, result: Any) -> None:
    """Record success, only if this attempt still holds the job.

    Called inside the handler's transaction for atomic job types: when the
    lease was lost, raising rolls the handler's writes back too.
    """
    now = timezone.now()
    # Plain SQL: this runs once per job on the workers' hot path. With
    # JOB_ASYNC_COMMIT the transaction (handler writes included) commits without
    # waiting for its WAL flush: a database crash may forget the last moment of
    # outcomes, and those jobs simply run again (delivery is at least once and
    # handlers are idempotent). What requests commit stays synchronous.
    commit_mode = "off" if settings.JOB_ASYNC_COMMIT else "on"
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE jobs_jobrecord AS job
               SET status = 'succeeded', result = %s::jsonb, finished_at = %s,
                   lease_expires_at = NULL, error = '', traceback = ''
              FROM (SELECT set_config('synchronous_commit', %s, true)) AS mode
             WHERE job.id = %s AND job.status = 'running' AND job.attempts = %s
            """,
            [json.dumps(result), now, commit_mode, job.pk, job.attempts],
        )
        updated = cursor.rowcount
    if not updated:
        raise LeaseLost(f"job {job.pk} attempt {job.attempts} lost its lease")
    job.status, job.result, job.finished_at = JobStatus.SUCCEEDED, result, now
    metrics.JOBS_SUCCEEDED.labels(*_labels(job)).inc()


def backoff_delay(kind: JobType, attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: exponential with jitter, or fixed."""
    strategy = kind.backoff or Backoff(settings.JOB_RETRY_BACKOFF)
    if strategy == Backoff.FIXED:
        return kind.backoff_base
    delay = min(kind.backoff_cap, kind.backoff_base * 2 ** max(attempt - 1, 0))
    # +-20 % jitter spreads retries of jobs that failed together.
    return min(kind.backoff_cap, delay * random.uniform(0.8, 1.2))  # noqa: S311


def job_fail(*, job: JobRecord, exc: BaseException) -> JobStatus:
    """Schedule the next attempt, or fail the job for good; returns the new status."""
    kind = get_job_type(job.type)
    now = timezone.now()
    error = f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]
    trace = "".join(tb.format_exception(exc))[-TRACEBACK_CHARS:]
    current = JobRecord.objects.filter(
        pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts
    )
    permanent = isinstance(exc, PermanentJobError)
    if not permanent and job.attempts < job.max_attempts:
        run_at = now + timedelta(seconds=backoff_delay(kind, job.attempts))
        current.update(
            status=JobStatus.QUEUED,
            run_at=run_at,
            published_at=None,
            lease_expires_at=None,
            error=error,
            traceback=trace,
        )
        metrics.JOBS_RETRIED.labels(*_labels(job)).inc()
        logger.warning(
            "job_retry_scheduled", job_id=str(job.pk), run_at=run_at.isoformat()
        )
        return JobStatus.QUEUED
    current.update(
        status=JobStatus.FAILED,
        finished_at=now,
        lease_expires_at=None,
        error=error,
        traceback=trace,
    )
    metrics.JOBS_FAILED.labels(*_labels(job)).inc()
    logger.error("job_failed", job_id=str(job.pk), job_type=job.type, error=error)
    return JobStatus.FAILED


def jobs_retry(*, job_ids: list[Any]) -> int:
    """Operator retry: failed or cancelled jobs start again with fresh attempts."""
    now = timezone.now()
    with transaction.atomic():
        jobs = list(
            JobRecord.objects.select_for_update()
            .filter(pk__in=job_ids, status__in=[JobStatus.FAILED, JobStatus.CANCELLED])
            .order_by("pk")
        )
        for job in jobs:
            job.status = JobStatus.QUEUED
            job.attempts = 0
            job.run_at = now
            job.finished_at = None
            job.forced = True  # an operator asked for it now, window or not
            job.published_at = None
        JobRecord.objects.bulk_update(
            jobs,
            ["status", "attempts", "run_at", "finished_at", "forced", "published_at"],
        )
    return len(jobs)


def jobs_cancel(*, job_ids: list[Any]) -> int:
    """Cancel queued jobs; running and finished ones are left alone."""
    return JobRecord.objects.filter(pk__in=job_ids, status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED, finished_at=timezone.now()
    )


# --- The relay's sweeps -------------------------------------------------------


def jobs_requeue_lapsed(*, now: datetime | None = None) -> int:
    """Running jobs whose lease lapsed (worker killed): queue again or fail."""
    now = now or timezone.now()
    lapsed = JobRecord.objects.filter(
        status=JobStatus.RUNNING, lease_expires_at__lt=now
    )
    error = "Lease expired: the worker stopped renewing it (killed or stuck)."
    requeued = lapsed.filter(attempts__lt=F("max_attempts")).update(
        status=JobStatus.QUEUED,
        run_at=now,
        published_at=None,
        lease_expires_at=None,
        error=error,
    )
    failed = lapsed.update(
        status=JobStatus.FAILED, finished_at=now, lease_expires_at=None, error=error
    )
    if requeued or failed:
        logger.warning("leases_lapsed", requeued=requeued, failed=failed)
    return requeued + failed


def _publish_rows(ids_and_kinds: list[tuple[Any, str, int]], now: datetime) -> int:
    published = []
    for job_id, job_type, priority in ids_and_kinds:
        if not broker.publish(job_id, job_type, priority):
            break  # broker down: the rest waits for the next pass
        published.append(job_id)
    if published:
        JobRecord.objects.filter(pk__in=published, status=JobStatus.QUEUED).update(
            published_at=now
        )
    return len(published)


def jobs_publish_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Publish queued jobs that are due and not yet published: new jobs, due
    retries and delayed jobs, BATCH jobs inside the window (or forced), and
    jobs that waited out a broker outage. Highest priority first."""
    now = now or timezone.now()
    window_open = in_batch_window(now)
    due = Q(status=JobStatus.QUEUED, published_at__isnull=True, run_at__lte=now)
    if not window_open:
        due &= ~Q(priority=Priority.BATCH) | Q(forced=True)
    with transaction.atomic():
        _bookkeeping_commit()  # a lost mark only means a harmless re-publish
        rows = list(
            JobRecord.objects.select_for_update(skip_locked=True)
            .filter(due)
            .order_by("priority", "run_at")
            .values_list("pk", "type", "priority")[:limit]
        )
        return _publish_rows(rows, now)


def jobs_republish_stale(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Re-publish queued jobs whose message vanished (broker flushed or restarted).

    A class's queue that is empty while jobs of that class wait published for
    longer than ``JOB_STALE_SECONDS`` means their messages are gone. A message
    merely reserved by a busy worker may be sent twice; the claim makes that
    harmless.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    total = 0
    for priority in Priority:
        if broker.queue_size(priority.queue) != 0:
            continue  # messages still waiting (or broker unreachable)
        with transaction.atomic():
            _bookkeeping_commit()
            rows = list(
                JobRecord.objects.select_for_update(skip_locked=True)
                .filter(
                    status=JobStatus.QUEUED, priority=priority, published_at__lt=cutoff
                )
                .order_by("published_at")
                .values_list("pk", "type", "priority")[:limit]
            )
            if rows:
                logger.warning(
                    "republishing_stale", queue=priority.queue, jobs=len(rows)
                )
                total += _publish_rows(rows, now)
    return total


def jobs_purge(*, now: datetime | None = None) -> dict[str, int]:
    """Retention: drop succeeded jobs after JOB_KEEP_SUCCEEDED_DAYS, failed and
    cancelled ones after JOB_KEEP_FAILED_DAYS."""
    now = now or timezone.now()
    succeeded, _ = JobRecord.objects.filter(
        status=JobStatus.SUCCEEDED,
        finished_at__lt=now - timedelta(days=settings.JOB_KEEP_SUCCEEDED_DAYS),
    ).delete()
    failed, _ = JobRecord.objects.filter(
        status__in=[JobStatus.FAILED, JobStatus.CANCELLED],
        finished_at__lt=now - timedelta(days=settings.JOB_KEEP_FAILED_DAYS),
    ).delete()
    return {"succeeded": succeeded, "failed": failed}
