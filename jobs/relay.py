"""The relay: publishes what the database says is due, repairs what was lost.

Runs as its own process (``manage.py run_relay``), not as a beat task: it must
work exactly when the broker it repairs does not. It sleeps on PostgreSQL's
LISTEN, woken by the NOTIFY a committed job sends (migration 0002), and wakes
every JOB_RELAY_INTERVAL anyway for due retries, delayed jobs, lapsed leases
and vanished messages. Two relays may run side by side: rows are taken with
SKIP LOCKED, and a message sent twice is harmless (the claim runs a job once).
"""

import signal
import threading
import time
from datetime import timedelta
from types import FrameType

import psycopg
import structlog
from django.conf import settings
from django.db import DatabaseError, close_old_connections, transaction
from django.utils import timezone

import jobs
from jobs.services import jobs_publish_due, jobs_republish_stale, jobs_requeue_lapsed

logger = structlog.get_logger("bazaar.jobs.relay")

CHANNEL = "bazaar_jobs"
STALE_SWEEP_EVERY = 5.0  # seconds between checks for vanished messages
LEASE_CHECK_EVERY = 1.0  # seconds between checks for lapsed leases
BATCH = 500


def relay_pass(*, sweep_stale: bool, check_leases: bool = True) -> dict[str, int]:
    """One pass: due jobs, and (now and then) lapsed leases and lost messages."""
    figures = {"requeued": 0, "published": 0, "republished": 0}
    if check_leases:
        figures["requeued"] = jobs_requeue_lapsed()
    while True:  # drain: a backlog is published in batches without waiting
        published = jobs_publish_due(limit=BATCH)
        figures["published"] += published
        if published < BATCH:
            break
    if sweep_stale:
        figures["republished"] = jobs_republish_stale()
    return figures


def _listen() -> psycopg.Connection | None:
    db = settings.DATABASES["default"]
    try:
        conn = psycopg.connect(
            dbname=db["NAME"],
            host=db["HOST"] or None,
            port=db["PORT"] or None,
            user=db["USER"] or None,
            password=db["PASSWORD"] or None,
            connect_timeout=db["OPTIONS"].get("connect_timeout", 3),
            autocommit=True,
        )
        conn.execute(f"LISTEN {CHANNEL}")
        return conn
    except psycopg.Error as exc:
        logger.warning("relay_listen_failed", error=str(exc)[:200])
        return None


def _wait(
    listener: psycopg.Connection | None, stop: threading.Event
) -> psycopg.Connection | None:
    """Sleep until a job is committed, the interval passes, or ``stop``."""
    interval = settings.JOB_RELAY_INTERVAL
    if listener is None or listener.closed:
        stop.wait(interval)
        return _listen()
    try:
        woken = False
        for _ in listener.notifies(timeout=interval, stop_after=1):
            woken = True
        if woken:
            # Let a burst of commits gather so one pass publishes them together.
            time.sleep(settings.JOB_RELAY_GATHER_SECONDS)
        return listener
    except psycopg.Error as exc:
        logger.warning("relay_listen_lost", error=str(exc)[:200])
        listener.close()
        return None


def _enqueue_startup_jobs() -> None:
    """Jobs the stack runs once it is up (JOB_STARTUP_JOBS, e.g. cache warming),
    due JOB_STARTUP_DELAY seconds from now so start-up never waits on them."""
    run_at = timezone.now() + timedelta(seconds=settings.JOB_STARTUP_DELAY)
    for job_type in settings.JOB_STARTUP_JOBS:
        try:
            with transaction.atomic():
                jobs.enqueue(
                    job_type, {}, run_at=run_at, dedupe_key=f"startup:{job_type}"
                )
        except DatabaseError as exc:
            logger.warning(
                "startup_job_failed", job_type=job_type, error=str(exc)[:200]
            )


def run_forever(stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    logger.info("relay_started", interval=settings.JOB_RELAY_INTERVAL)
    _enqueue_startup_jobs()
    listener = _listen()
    last_sweep = last_lease_check = 0.0
    while not stop.is_set():
        now = time.monotonic()
        sweep = now - last_sweep >= STALE_SWEEP_EVERY
        leases = now - last_lease_check >= LEASE_CHECK_EVERY
        try:
            figures = relay_pass(sweep_stale=sweep, check_leases=leases)
            if sweep:
                last_sweep = now
            if leases:
                last_lease_check = now
            if any(figures.values()):
                logger.info("relay_pass", **figures)
        except DatabaseError as exc:
            logger.warning("relay_database_error", error=str(exc)[:200])
            close_old_connections()
        listener = _wait(listener, stop)
    if listener is not None:
        listener.close()
    close_old_connections()
    logger.info("relay_stopped")
