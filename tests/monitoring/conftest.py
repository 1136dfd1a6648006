"""Fixtures shared by the monitoring tests."""

from collections.abc import Iterator

import pytest

from config.redis_breaker import breaker


@pytest.fixture(autouse=True)
def _closed_breaker() -> Iterator[None]:
    """Every test starts (and leaves) with the shared Redis breaker closed."""
    breaker.reset()
    yield
    breaker.reset()


@pytest.fixture
def stats_urls(settings) -> None:
    """The real URLs plus test views (errors, statuses, pg_sleep)."""
    settings.ROOT_URLCONF = "tests.monitoring.stats_urls"
