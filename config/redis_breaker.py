"""One circuit breaker for the default (cache) Redis, shared by everything
that talks to it from a request: the catalog's response cache, product view
counts and activity events.

While it is open, callers skip Redis instead of each paying a socket timeout
per request; the first failure opens it for ``CACHE_BREAKER_SECONDS``.
"""

import time

import structlog
from django.conf import settings

logger = structlog.get_logger("bazaar.cache")


class RedisBreaker:
    """Open for a while after a Redis failure; closed otherwise."""

    def __init__(self) -> None:
        self.open_until = 0.0
        # Set when a write that must not be lost (a cache invalidation) was
        # skipped while open: the catalog cache then distrusts its entries.
        self.lost_invalidation = False

    def is_open(self) -> bool:
        return time.monotonic() < self.open_until

    def trip(self, exc: Exception) -> None:
        if not self.is_open():
            logger.warning("cache_unavailable", error=str(exc)[:200])
        self.open_until = time.monotonic() + settings.CACHE_BREAKER_SECONDS

    def reset(self) -> None:
        self.open_until = 0.0
        self.lost_invalidation = False


breaker = RedisBreaker()
