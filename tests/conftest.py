"""Shared fixtures: real PostgreSQL (pytest-django), real Redis, real Celery."""

from collections.abc import Iterator

import pytest
from django.core.cache import caches
from django_redis import get_redis_connection
from rest_framework.test import APIClient

from monitoring import stats


@pytest.fixture(scope="session", autouse=True)
def _close_pools_before_dropping_test_db(
    django_db_setup, django_db_blocker
) -> Iterator[None]:
    """Worker threads leave pooled connections open; close them before teardown."""
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for conn in connections.all():
            conn.close()
            if hasattr(conn, "close_pool"):
                conn.close_pool()


@pytest.fixture(autouse=True)
def _clean_redis() -> Iterator[None]:
    """Each test starts with empty cache databases (the test DBs, never dev's),
    request statistics a previous test buffered in this process included."""
    stats.stats_flush()
    for alias in ("default", "security"):
        get_redis_connection(alias).flushdb()
    yield
    for alias in caches:
        caches[alias].close()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()
