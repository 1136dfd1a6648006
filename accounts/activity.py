"""User-activity events (login, product view, product ordered), recorded in
batches and never inserted by the request that causes them.

A request pays one RPUSH onto a Redis list, after its transaction commits (so
a rolled-back order leaves no event). The LOW job ``analytics.flush_activity``
moves the list into ``ActivityEvent`` every minute, thousands of rows per
INSERT. While Redis is down, events are dropped and counted
(``bazaar_activity_events_total{outcome="dropped"}``), like product views:
they describe behaviour, they are not money or security (logins are also in
the ``SecurityEvent`` audit log, written synchronously).
"""

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_redis import get_redis_connection
from redis.exceptions import RedisError
from rest_framework_simplejwt.exceptions import TokenError

from accounts.models import ActivityEvent, User
from accounts.tokens import AccessToken
from config.redis_breaker import breaker
from config.redis_flush import flush_claim
from monitoring.metrics import ACTIVITY_EVENTS

logger = structlog.get_logger("bazaar.accounts.activity")

QUEUE_KEY = "bz:activity"
FLUSHING_KEY = "bz:activity:flushing"
FLUSH_LOCK_KEY = "bz:activity:flush-lock"
FLUSH_BATCH = 5000
PURGE_CHUNK = 10_000


@dataclass(frozen=True)
class Activity:
    """One event to record: who, what kind, on which product (its id, or the
    slug it was looked up by), extra data."""

    kind: str
    user_id: int
    product: int | str | None = None
    data: dict[str, Any] = field(default_factory=dict)


SlugResolver = Callable[[set[str]], dict[str, int]]


def activity_record(*events: Activity, now: datetime | None = None) -> None:
    """Queue ``events`` for the next flush, once the current transaction
    commits (at once outside one). Never raises for Redis trouble."""
    if not events:
        return
    stamp = (now or timezone.now()).isoformat()
    raw = [
        json.dumps(
            {
                "id": uuid.uuid4().hex,
                "kind": event.kind,
                "user": event.user_id,
                "product": event.product,
                "data": event.data,
                "at": stamp,
            },
            separators=(",", ":"),
        )
        for event in events
    ]
    transaction.on_commit(lambda: _push(raw))


def _push(raw: list[str]) -> None:
    if breaker.is_open():
        ACTIVITY_EVENTS.labels("dropped").inc(len(raw))
        return
    try:
        get_redis_connection("default").rpush(QUEUE_KEY, *raw)
    except RedisError as exc:
        breaker.trip(exc)
        ACTIVITY_EVENTS.labels("dropped").inc(len(raw))
    else:
        ACTIVITY_EVENTS.labels("queued").inc(len(raw))


def activity_viewer_id(request: HttpRequest) -> int | None:
    """The user a valid bearer access token names, read from the token alone.

    For attributing a view on a cached, unauthenticated path: a revoked
    session's last minutes of views may still be attributed to it, which is
    harmless for analytics and saves a session lookup per cached read.
    """
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        return int(AccessToken(token.strip())["sub"])
    except (TokenError, KeyError, TypeError, ValueError):
        return None


def activity_flush(
    *, resolve_slugs: SlugResolver | None = None, batch: int = FLUSH_BATCH
) -> dict[str, int]:
    """Move the queued events into ``ActivityEvent``, ``batch`` per INSERT.

    ``resolve_slugs`` maps product slugs to ids (the catalog's, passed in by
    the job: accounts does not import catalog); a slug it cannot map is kept
    in ``data``.

    The queue is renamed first, so events recorded meanwhile wait for the
    next flush. Each batch is trimmed off only after its INSERT, and the
    INSERT skips event ids already stored, so a flush that dies part-way is
    finished by the next one without duplicates. Events of users deleted
    since are skipped.
    """
    client = get_redis_connection("default")
    lock = client.lock(FLUSH_LOCK_KEY, timeout=600, blocking_timeout=0)
    if not lock.acquire():
        return {"events": 0, "skipped": 0, "busy": 1}
    try:
        return _flush(client, batch, resolve_slugs or (lambda slugs: {}))
    finally:
        lock.release()


def _flush(client: Any, batch: int, resolve_slugs: SlugResolver) -> dict[str, int]:
    if not flush_claim(client, QUEUE_KEY, FLUSHING_KEY):
        return {"events": 0, "skipped": 0}
    stored = skipped = 0
    while raw := client.lrange(FLUSHING_KEY, 0, batch - 1):
        rows = _rows(raw, resolve_slugs)
        skipped += len(raw) - len(rows)
        ActivityEvent.objects.bulk_create(rows, ignore_conflicts=True)
        stored += len(rows)
        client.ltrim(FLUSHING_KEY, len(raw), -1)
    client.delete(FLUSHING_KEY)
    ACTIVITY_EVENTS.labels("stored").inc(stored)
    if stored or skipped:
        logger.info("activity_flushed", events=stored, skipped=skipped)
    return {"events": stored, "skipped": skipped}


def _rows(raw: Iterable[bytes], resolve_slugs: SlugResolver) -> list[ActivityEvent]:
    events: list[ActivityEvent] = []
    slugged: list[tuple[ActivityEvent, str]] = []
    for item in raw:
        try:
            event = json.loads(item)
            product = event.get("product")
            row = ActivityEvent(
                event_id=uuid.UUID(event["id"]),
                user_id=int(event["user"]),
                kind=str(event["kind"]),
                product_id=product if isinstance(product, int) else None,
                data=dict(event.get("data") or {}),
                occurred_at=parse_datetime(event["at"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            logger.warning("activity_event_malformed", error=str(exc)[:200])
            continue
        if isinstance(product, str):
            slugged.append((row, product))
        events.append(row)
    if slugged:
        ids = resolve_slugs({slug for _, slug in slugged})
        for row, slug in slugged:
            row.product_id = ids.get(slug)
            if row.product_id is None:
                row.data["product_slug"] = slug
    users = set(
        User.objects.filter(pk__in={row.user_id for row in events}).values_list(
            "pk", flat=True
        )
    )
    return [row for row in events if row.user_id in users and row.occurred_at]


def activity_purge(*, now: datetime | None = None) -> dict[str, int]:
    """Delete events older than ``ACTIVITY_KEEP_DAYS``, in chunks, so a big
    backlog never holds one long transaction."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.ACTIVITY_KEEP_DAYS)
    deleted = 0
    while True:
        chunk = ActivityEvent.objects.filter(occurred_at__lt=cutoff).values("pk")[
            :PURGE_CHUNK
        ]
        count, _ = ActivityEvent.objects.filter(pk__in=chunk).delete()
        deleted += count
        if count < PURGE_CHUNK:
            break
    if deleted:
        logger.info("activity_purged", events=deleted, before=cutoff.isoformat())
    return {"deleted": deleted}
