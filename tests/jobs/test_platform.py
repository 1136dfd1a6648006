"""The job platform against real PostgreSQL, Redis and Celery workers."""

import itertools
import logging
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_redis import get_redis_connection
from redis import Redis

import jobs
from jobs import broker
from jobs.enums import JobStatus, Priority
from jobs.models import JobRecord
from jobs.services import jobs_publish_due, jobs_republish_stale, jobs_requeue_lapsed
from tests.jobs.conftest import wait_until
from tests.subprocess_env import closed_port

pytestmark = pytest.mark.django_db(transaction=True)


def r():
    return get_redis_connection("default")


def finished(job_id):
    job = JobRecord.objects.get(pk=job_id)
    return job if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED) else None


def test_rolled_back_transaction_leaves_no_job_and_publishes_nothing(
    django_capture_on_commit_callbacks,
):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        jobs.enqueue("testing.count", {"tag": "x"})
        raise RuntimeError("business change failed")
    assert JobRecord.objects.count() == 0
    assert callbacks == []


def test_committed_job_runs_exactly_once(thread_worker, relay):
    thread_worker()
    relay()
    with transaction.atomic():
        job = jobs.enqueue("testing.count", {"tag": "once"})
    done = wait_until(lambda: finished(job.pk))
    assert done.status == JobStatus.SUCCEEDED
    assert done.attempts == 1
    assert done.result == {"runs": 1}
    assert int(r().get(f"runs:{job.pk}")) == 1


def test_duplicate_messages_run_the_job_once(thread_worker):
    # given the same job published three times (redelivery, sweeper, retry)
    with transaction.atomic():
        job = jobs.enqueue("testing.count", {})
    broker.publish(job.pk, job.type, job.priority)
    broker.publish(job.pk, job.type, job.priority)
    thread_worker(concurrency=3)
    wait_until(lambda: finished(job.pk))
    # then every extra message found nothing to claim
    wait_until(lambda: broker.queue_size("medium") == 0)
    assert int(r().get(f"runs:{job.pk}")) == 1


def test_job_enqueued_while_broker_is_down_runs_after_it_returns(
    settings, thread_worker
):
    # given a broker nobody answers at
    live_broker = settings.CELERY_BROKER_URL
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    started = time.perf_counter()
    with transaction.atomic():
        job = jobs.enqueue("testing.count", {})
    elapsed = time.perf_counter() - started
    # then the caller did not wait: enqueueing never talks to the broker
    assert elapsed < 0.05
    # and the relay's attempt fails without losing the job
    assert jobs_publish_due() == 0
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert job.published_at is None
    # when the broker is back, the relay publishes and a worker runs it
    settings.CELERY_BROKER_URL = live_broker
    thread_worker()
    assert jobs_publish_due() == 1
    done = wait_until(lambda: finished(job.pk))
    assert done.status == JobStatus.SUCCEEDED
    assert int(r().get(f"runs:{job.pk}")) == 1


def test_flushed_broker_messages_are_republished_once(settings, thread_worker):
    # given a published job whose message is then wiped (FLUSHALL/restart)
    settings.JOB_STALE_SECONDS = 0
    with transaction.atomic():
        job = jobs.enqueue("testing.count", {})
    assert jobs_publish_due() == 1
    assert broker.queue_size("medium") == 1
    Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    assert broker.queue_size("medium") == 0
    # when the sweeper runs
    assert jobs_republish_stale() == 1
    thread_worker()
    # then it runs, once
    done = wait_until(lambda: finished(job.pk))
    assert done.status == JobStatus.SUCCEEDED
    assert int(r().get(f"runs:{job.pk}")) == 1


def test_sweeper_leaves_jobs_alone_while_their_queue_has_messages(settings):
    settings.JOB_STALE_SECONDS = 0
    with transaction.atomic():
        jobs.enqueue("testing.count", {})
        jobs.enqueue("testing.count", {})
    assert jobs_publish_due() == 2
    assert broker.queue_size("medium") == 2
    assert jobs_republish_stale() == 0
    assert broker.queue_size("medium") == 2


def test_retries_follow_the_exponential_schedule(thread_worker, relay):
    thread_worker()
    relay()
    with transaction.atomic():
        job = jobs.enqueue("testing.flaky", {"fail": 2})
    done = wait_until(lambda: finished(job.pk), timeout=30)
    assert done.status == JobStatus.SUCCEEDED
    assert done.attempts == 3
    times = [float(t) for t in r().lrange(f"attempt_times:{job.pk}", 0, -1)]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # base 0.4 s doubling, +-20 % jitter: about 0.4 s then about 0.8 s
    assert len(gaps) == 2
    assert 0.32 <= gaps[0] < 2.0
    assert 0.64 <= gaps[1] < 3.0
    assert gaps[1] > gaps[0] * 1.2


def test_exhausted_job_fails_with_its_error_kept(thread_worker, relay):
    thread_worker()
    relay()
    with transaction.atomic():
        job = jobs.enqueue("testing.broken", {})
    done = wait_until(lambda: finished(job.pk), timeout=30)
    assert done.status == JobStatus.FAILED
    assert done.attempts == 2
    assert done.error == "ValueError: this job always fails"
    assert "Traceback" in done.traceback
    assert done.finished_at is not None


def test_critical_job_starts_before_a_backlog_of_low_jobs(thread_worker):
    # given 200 LOW jobs already queued and one CRITICAL job behind them
    with transaction.atomic():
        for n in range(200):
            jobs.enqueue("testing.count", {"tag": f"low-{n}"}, priority=Priority.LOW)
    with transaction.atomic():
        jobs.enqueue("testing.count", {"tag": "critical"}, priority=Priority.CRITICAL)
    assert jobs_publish_due() == 201
    # when one worker slot consumes every queue
    thread_worker(concurrency=1)
    # then the critical job is among the first two to start (one LOW job may
    # already be in flight when the worker comes up)
    wait_until(lambda: r().llen("started") >= 5)
    first = [tag.decode() for tag in r().lrange("started", 0, 4)]
    assert "critical" in first[:2]


def test_batch_jobs_wait_for_the_off_peak_window(settings):
    now = timezone.localtime()
    outside = (now + timedelta(hours=2)).strftime("%H:%M")
    outside_end = (now + timedelta(hours=3)).strftime("%H:%M")
    settings.JOB_BATCH_WINDOW = f"{outside}-{outside_end}"
    with transaction.atomic():
        held = jobs.enqueue("testing.count", {}, priority=Priority.BATCH)
        forced = jobs.enqueue("testing.count", {}, priority=Priority.BATCH, forced=True)
    assert jobs_publish_due() == 1  # only the forced one
    held.refresh_from_db()
    assert held.published_at is None
    assert broker.queue_size("batch") == 1
    forced.refresh_from_db()
    assert forced.published_at is not None
    # when the window opens
    start = (now - timedelta(minutes=5)).strftime("%H:%M")
    end = (now + timedelta(minutes=5)).strftime("%H:%M")
    settings.JOB_BATCH_WINDOW = f"{start}-{end}"
    assert jobs_publish_due() == 1
    assert broker.queue_size("batch") == 2


def test_delayed_job_is_published_when_due():
    with transaction.atomic():
        job = jobs.enqueue(
            "testing.count", {}, run_at=timezone.now() + timedelta(seconds=60)
        )
    assert jobs_publish_due() == 0
    JobRecord.objects.filter(pk=job.pk).update(run_at=timezone.now())
    assert jobs_publish_due() == 1


def test_dedupe_key_returns_the_live_job():
    with transaction.atomic():
        first = jobs.enqueue("testing.count", {}, dedupe_key="flush:views")
        second = jobs.enqueue("testing.count", {}, dedupe_key="flush:views")
    assert first.pk == second.pk
    assert JobRecord.objects.count() == 1
    JobRecord.objects.filter(pk=first.pk).update(status=JobStatus.SUCCEEDED)
    with transaction.atomic():
        third = jobs.enqueue("testing.count", {}, dedupe_key="flush:views")
    assert third.pk != first.pk


def test_enqueue_only_writes_the_row_and_wakes_the_relay(purge_broker):
    from tests.db import direct_connection

    with direct_connection() as listener:
        listener.execute("LISTEN bazaar_jobs")
        with transaction.atomic():
            jobs.enqueue("testing.count", {})
            # nothing is announced before commit
            assert list(listener.notifies(timeout=0.2, stop_after=1)) == []
        heard = list(listener.notifies(timeout=5, stop_after=1))
    assert [n.channel for n in heard] == ["bazaar_jobs"]
    assert broker.queue_size("medium") == 0  # the relay, not the request, publishes


def test_request_id_travels_with_the_job():
    from monitoring.request_id import reset_request_id, set_request_id

    token = set_request_id("req-travels-42")
    try:
        with transaction.atomic():
            job = jobs.enqueue("testing.count", {})
    finally:
        reset_request_id(token)
    assert JobRecord.objects.get(pk=job.pk).request_id == "req-travels-42"


def test_the_job_s_log_lines_carry_the_request_id(caplog):
    from jobs.runner import run_job_inline
    from monitoring.request_id import reset_request_id, set_request_id

    # given a job queued by a request
    token = set_request_id("req-in-logs-7")
    try:
        with transaction.atomic():
            job = jobs.enqueue("testing.count", {})
    finally:
        reset_request_id(token)
    caplog.set_level(logging.INFO, logger="bazaar.jobs.runner")

    # when a worker runs it
    assert run_job_inline(str(job.pk)) == JobStatus.SUCCEEDED

    # then every line the runner logged about it names that request
    lines = [r.msg for r in caplog.records if isinstance(r.msg, dict)]
    assert lines
    assert {line.get("request_id") for line in lines} == {"req-in-logs-7"}


@pytest.mark.parametrize(
    ("job_type", "payload"),
    [
        ("images.process", {"product_id": 1, "path": "tmp/x.png"}),  # a key missing
        ("orders.render_invoice", {"order_id": "one"}),  # a value of the wrong form
        ("orders.export_csv", {"export_id": None}),  # a value of the wrong type
        ("analytics.aggregate_sales", {"dates": ["yesterday"]}),
        ("reports.generate", {"kind": "daily", "date": 20260101}),
    ],
)
def test_a_malformed_payload_fails_for_good_at_the_first_attempt(job_type, payload):
    from jobs.runner import run_job_inline

    # given a job whose payload its handler cannot read
    job = jobs.enqueue(job_type, payload)

    # when it runs
    status = run_job_inline(str(job.pk))

    # then it failed without a retry, saying why
    done = JobRecord.objects.get(pk=job.pk)
    assert (status, done.status, done.attempts) == (
        JobStatus.FAILED,
        JobStatus.FAILED,
        1,
    )
    assert done.error.startswith("PermanentJobError: malformed payload: ")


@pytest.mark.slow
@pytest.mark.parametrize("target", ["pool-child", "main-process"])
def test_worker_killed_mid_job_is_redelivered_and_succeeds_once(
    process_worker, relay, target
):
    import os
    import signal

    # given a job running in a worker subprocess
    first = process_worker(concurrency=1, JOB_LEASE_SECONDS="2")
    relay()
    with transaction.atomic():
        job = jobs.enqueue("testing.sleep", {"seconds": 60, "only_first": True})
    wait_until(lambda: r().get(f"starts:{job.pk}"), timeout=60)
    # when the worker is SIGKILLed mid-job
    if target == "pool-child":
        child = wait_until(first.children)[0]
        os.kill(child, signal.SIGKILL)
    else:
        first.kill()
        process_worker(concurrency=1, JOB_LEASE_SECONDS="2")
    # then the lapsed lease is re-queued and the job succeeds exactly once
    done = wait_until(lambda: finished(job.pk), timeout=60)
    assert done.status == JobStatus.SUCCEEDED
    assert done.attempts == 2
    assert int(r().get(f"starts:{job.pk}")) == 2
    assert int(r().get(f"done:{job.pk}")) == 1
    assert done.error == ""  # a success clears the lapsed attempt's error


def test_lapsed_lease_past_the_last_attempt_fails_the_job():
    with transaction.atomic():
        job = jobs.enqueue("testing.count", {})
    JobRecord.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        attempts=3,
        max_attempts=3,
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert jobs_requeue_lapsed() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("Lease expired")


def test_payload_must_be_plain_json_within_the_size_limit(settings):
    from jobs.exceptions import PayloadTooLarge
    from jobs.registry import UnknownJobType

    settings.JOB_PAYLOAD_MAX_BYTES = 100
    with pytest.raises(PayloadTooLarge), transaction.atomic():
        jobs.enqueue("testing.count", {"blob": "x" * 200})
    with pytest.raises(ValueError, match="plain JSON"), transaction.atomic():
        jobs.enqueue("testing.count", {"when": timezone.now()})
    with pytest.raises(ValueError, match="plain JSON"), transaction.atomic():
        jobs.enqueue("testing.count", {"ratio": float("nan")})
    with pytest.raises(UnknownJobType), transaction.atomic():
        jobs.enqueue("testing.no_such_type", {})
    assert JobRecord.objects.count() == 0
