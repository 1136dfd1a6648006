"""The relay: publishes what the database says is due, repairs what was lost.

Runs as its own process (``manage.py run_relay``), not as a beat task: it must
work exactly when the broker it repairs does not.
"""

import signal
import threading
import time
from types import FrameType

import structlog
from django.conf import settings
from django.db import DatabaseError, close_old_connections

from jobs.services import jobs_publish_due, jobs_republish_stale, jobs_requeue_lapsed

logger = structlog.get_logger("bazaar.jobs.relay")

STALE_SWEEP_EVERY = 5.0  # seconds between checks for vanished messages


def relay_pass(*, sweep_stale: bool) -> dict[str, int]:
    """One pass: lapsed leases, due jobs, and (now and then) vanished messages."""
    figures = {
        "requeued": jobs_requeue_lapsed(),
        "published": jobs_publish_due(),
        "republished": jobs_republish_stale() if sweep_stale else 0,
    }
    return figures


def run_forever(stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    logger.info("relay_started", interval=settings.JOB_RELAY_INTERVAL)
    last_sweep = 0.0
    while not stop.is_set():
        now = time.monotonic()
        sweep = now - last_sweep >= STALE_SWEEP_EVERY
        try:
            figures = relay_pass(sweep_stale=sweep)
            if sweep:
                last_sweep = now
            if any(figures.values()):
                logger.info("relay_pass", **figures)
        except DatabaseError as exc:
            logger.warning("relay_database_error", error=str(exc)[:200])
            close_old_connections()
        stop.wait(settings.JOB_RELAY_INTERVAL)
    logger.info("relay_stopped")
