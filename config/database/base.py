"""Django's PostgreSQL backend (or django-prometheus's, with ``DB_METRICS``)
with a per-process circuit breaker on getting a connection.

Without it, an outage costs every request the pool's whole wait
(``DB_POOL_TIMEOUT``) before its 503: three sync workers then answer about
one request a second, everything else queues behind them, and the queue
outlives the outage. With it, the first failure opens the breaker for
``DB_BREAKER_SECONDS``, during which requests that need the database fail at
once (503 ``service_unavailable``, the API's error handler) while those served
from Redis go on. The first request after that probes with one direct
connection (refused at once while PostgreSQL is down); when it succeeds, the
pool is replaced, so neither its reconnection back-off nor its connections to
the dead server delay the recovery.
"""

import threading
import time
from typing import Any

import psycopg
import structlog
from django.conf import settings
from psycopg import OperationalError

if settings.DB_METRICS:
    from django_prometheus.db.backends.postgresql.base import (
        DatabaseWrapper as BaseWrapper,
    )
else:
    from django.db.backends.postgresql.base import DatabaseWrapper as BaseWrapper

logger = structlog.get_logger("bazaar.db")


class ConnectBreaker:
    """Open for a while after a failed connect; ``tripped`` until one succeeds."""

    def __init__(self) -> None:
        self.open_until = 0.0
        self.tripped = False
        self.lock = threading.Lock()

    def is_open(self) -> bool:
        return time.monotonic() < self.open_until

    def trip(self, exc: Exception) -> None:
        with self.lock:
            if not self.tripped:
                logger.error("database_unreachable", error=str(exc)[:200])
            self.tripped = True
            self.open_until = time.monotonic() + settings.DB_BREAKER_SECONDS

    def reset(self) -> None:
        with self.lock:
            if self.tripped:
                logger.info("database_reachable")
            self.tripped = False
            self.open_until = 0.0


# One per database alias, shared by the threads of this process.
breakers: dict[str, ConnectBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(alias: str) -> ConnectBreaker:
    with _breakers_lock:
        return breakers.setdefault(alias, ConnectBreaker())


class DatabaseWrapper(BaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        breaker = breaker_for(self.alias)
        if breaker.is_open():
            raise OperationalError("database unavailable (circuit breaker open)")
        if breaker.tripped and self.pool is not None:
            try:
                psycopg.connect(**conn_params).close()
            except OperationalError as exc:
                breaker.trip(exc)
                raise
            self.close_pool()  # its back-off and dead connections go with it
        try:
            connection = super().get_new_connection(conn_params)
        except OperationalError as exc:  # psycopg_pool's PoolTimeout included
            breaker.trip(exc)
            raise
        if breaker.tripped:
            breaker.reset()
        return connection
