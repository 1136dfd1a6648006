"""The relay's side of the broker: publish job ids, ask for queue depths.

Requests never publish jobs: only the relay (and operators' commands) do, on a
connection with short socket timeouts that gives up at once, so a dead broker
costs one failed attempt per relay pass and nothing else. The catalog cache's
best-effort refresh messages open their own connection the same way
(``connection_open``).
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog
from django.conf import settings
from kombu.exceptions import ChannelError
from kombu.transport import redis as redis_transport

from config.celery import app as celery_app
from jobs.enums import Priority

logger = structlog.get_logger("bazaar.jobs.broker")

_local = threading.local()


class _PublishingChannel(redis_transport.Channel):
    """kombu's Redis channel, reusing one client object for its commands.

    kombu builds a new redis-py client object for every command it sends (a
    dict of ~170 response callbacks each time): the biggest single cost of a
    publish. The relay's connection is used by one thread at a time, so one
    client (over kombu's own connection pool) can serve them all.
    """

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        if client:
            yield client
            return
        cached = self.__dict__.get("_publishing_client")
        if cached is None:
            cached = self.__dict__["_publishing_client"] = self._create_client()
        yield cached


class PublishingTransport(redis_transport.Transport):
    Channel = _PublishingChannel


def _connection() -> Any:
    conn = getattr(_local, "connection", None)
    url = settings.CELERY_BROKER_URL
    if conn is not None and getattr(_local, "url", None) != url:
        _drop_connection()
        conn = None
    if conn is None:
        _local.url = url
        # Fail at once: the relay's next pass is the retry.
        conn = connection_open(url, timeout=settings.JOB_PUBLISH_TIMEOUT)
        _local.connection = conn
    return conn


def connection_open(url: str, *, timeout: float) -> Any:
    """A broker connection for publishing that gives up at once: ``timeout``
    on every socket operation and no retries (its caller decides what a
    failure means), over the publishing Redis transport when the broker is
    Redis."""
    is_redis = url.startswith(("redis://", "rediss://"))
    return celery_app.connection_for_write(
        url=url,
        transport=PublishingTransport if is_redis else None,
        transport_options={
            "socket_connect_timeout": timeout,
            "socket_timeout": timeout,
            "max_retries": 0,
            "connect_retries_timeout": timeout,
        },
    )


def _drop_connection() -> None:
    conn = getattr(_local, "connection", None)
    _local.connection = None
    if conn is not None:
        try:
            conn.release()
        except Exception:  # the connection is already broken; nothing to save
            logger.debug("release_failed", exc_info=True)


def publish(job_id: str, job_type: str, priority: int) -> bool:
    """Send one job's message; False (never an exception) when the broker fails.

    The message goes to the class's queue through the anonymous exchange, so
    it is routed even after the broker lost its bindings (FLUSHALL, restart).
    """
    try:
        celery_app.send_task(
            job_type,
            args=[str(job_id)],
            queue=Priority(priority).queue,
            connection=_connection(),
            retry=False,
            ignore_result=True,
        )
    except Exception as exc:
        _drop_connection()
        logger.warning("publish_failed", job_id=str(job_id), error=str(exc)[:200])
        return False
    return True


def queue_size(queue: str) -> int | None:
    """Messages waiting in ``queue``; None when the broker cannot be asked."""
    try:
        conn = _connection()
        with conn.channel() as channel:
            return channel.queue_declare(queue=queue, passive=True).message_count
    except ChannelError:
        return 0  # the queue does not exist: nothing is waiting in it
    except Exception as exc:
        _drop_connection()
        logger.warning("queue_size_failed", queue=queue, error=str(exc)[:200])
        return None
