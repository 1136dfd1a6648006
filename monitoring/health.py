"""Dependency checks behind /ready (and, later, the detailed health API)."""

import time
from collections.abc import Callable

import structlog
from django.conf import settings
from django.db import connection
from django_redis import get_redis_connection
from kombu import Connection

logger = structlog.get_logger("bazaar.health")

OK = "ok"
DOWN = "down"


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_cache() -> None:
    get_redis_connection("default").ping()


def check_broker() -> None:
    timeout = settings.HEALTH_CHECK_TIMEOUT
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=timeout) as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
}


def run_checks(
    checks: dict[str, Callable[[], None]] | None = None,
) -> dict[str, dict[str, object]]:
    """Run every check (``CHECKS`` unless given); report each as ok/down with
    its latency in ms."""
    results: dict[str, dict[str, object]] = {}
    for name, check in (CHECKS if checks is None else checks).items():
        started = time.perf_counter()
        try:
            check()
            state, error = OK, None
        except Exception as exc:  # a health check reports, never raises
            state, error = DOWN, f"{type(exc).__name__}: {exc}"[:200]
            logger.warning("dependency_down", dependency=name, error=error)
        results[name] = {
            "status": state,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            "error": error,
        }
    return results
