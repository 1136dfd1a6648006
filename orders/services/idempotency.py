"""``Idempotency-Key`` for placing orders: claim, answer once, replay.

A key's life (one row per user and key):

1. **claim** — one autocommitted ``INSERT ... ON CONFLICT DO NOTHING`` adds
   the row ``in_progress`` with a fresh ``claim`` token. A concurrent duplicate finds
   the row and answers 409 ``idempotency_request_in_progress``; another body
   under the same key answers 422 ``idempotency_key_reused``.
2. **answer** — the order's transaction does the work and stores the answer
   (201 or a domain 4xx) with the order, ``completed``, by an UPDATE that
   matches only *its claim token*. Both commit together, or neither does.
3. **replay** — a completed key returns the stored status and body verbatim.

An unexpected error (a 500) deletes the claim at once, so the client may
retry; a process that died mid-request leaves its claim, which anyone may
take over (a new token) once older than ``IDEMPOTENCY_LOCK_SECONDS``. The
old attempt, if it was only slow, then no longer holds the token and cannot
complete the key: it rolls its order back and answers as a duplicate would.
"""

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from config.api.errors import DomainError
from orders.enums import IdempotencyState
from orders.exceptions import IdempotencyKeyReused, IdempotencyRequestInProgress
from orders.models import IdempotencyKey, Order
from orders.services.placement import (
    BUILD_ATTEMPTS,
    Line,
    PricesMoved,
    order_build,
)

logger = structlog.get_logger("bazaar.orders")

Render = Callable[[Order], dict[str, Any]]


@dataclass(frozen=True)
class Answer:
    """What the API sends back: status code and JSON body."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


class _ClaimLost(Exception):
    """Our claim was taken over while we worked (we were presumed dead)."""


def request_fingerprint(data: Any) -> str:
    """SHA-256 of the body as canonical JSON: key order and spacing do not
    matter, values do."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _error_body(exc: DomainError) -> dict[str, Any]:
    return {"detail": exc.detail, "code": exc.code, **exc.extra}


def _answer_of(record: IdempotencyKey, *, request_hash: str) -> Answer:
    """The answer for a request that found ``record`` already there."""
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused
    if record.state == IdempotencyState.COMPLETED:
        return Answer(record.response_status, record.response_body, replayed=True)
    raise IdempotencyRequestInProgress


def _insert_claim(
    *, user: User, key: str, request_hash: str, now: datetime
) -> IdempotencyKey | None:
    """Insert the key ``in_progress`` in one autocommitted statement, or None
    when it already exists (ON CONFLICT: no exception, no savepoint)."""
    claim = uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO orders_idempotencykey
                   (user_id, key, request_hash, state, claim, claimed_at, created_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (user_id, key) DO NOTHING
            RETURNING id
            """,
            [user.pk, key, request_hash, IdempotencyState.IN_PROGRESS, claim, now, now],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return IdempotencyKey(
        pk=row[0],
        user=user,
        key=key,
        request_hash=request_hash,
        state=IdempotencyState.IN_PROGRESS,
        claim=claim,
        claimed_at=now,
        created_at=now,
    )


def _claim(
    *, user: User, key: str, request_hash: str, now: datetime
) -> IdempotencyKey | Answer:
    """Own the key (a committed ``in_progress`` row), or the answer to give."""
    stale_before = now - timedelta(seconds=settings.IDEMPOTENCY_LOCK_SECONDS)
    for _ in range(3):
        record = _insert_claim(user=user, key=key, request_hash=request_hash, now=now)
        if record is not None:
            return record
        record = IdempotencyKey.objects.filter(user=user, key=key).first()
        if record is None:
            continue  # purged between the two statements: insert again
        if (
            record.request_hash == request_hash
            and record.state == IdempotencyState.IN_PROGRESS
            and record.claimed_at < stale_before
        ):
            # Abandoned by a crashed process: take it over with a new token.
            token = uuid.uuid4()
            taken = IdempotencyKey.objects.filter(
                pk=record.pk, claim=record.claim, state=IdempotencyState.IN_PROGRESS
            ).update(claim=token, claimed_at=now)
            if taken:
                logger.warning("idempotency_key_taken_over", key_id=record.pk)
                record.claim, record.claimed_at = token, now
                return record
            continue
        return _answer_of(record, request_hash=request_hash)
    raise IdempotencyRequestInProgress


def _complete(record: IdempotencyKey, answer: Answer, order: Order | None) -> bool:
    """Store the answer if ``record``'s claim still holds (True), in one
    statement written out: this runs on every order placed, and the ORM's
    UPDATE costs more to compile than to execute."""
    body = IdempotencyKey._meta.get_field("response_body")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE orders_idempotencykey
               SET state = %s, response_status = %s, response_body = %s,
                   order_id = %s
             WHERE id = %s AND claim = %s AND state = %s
            """,
            [
                IdempotencyState.COMPLETED,
                answer.status,
                body.get_db_prep_value(answer.body, connection),
                order.pk if order is not None else None,
                record.pk,
                record.claim,
                IdempotencyState.IN_PROGRESS,
            ],
        )
        return cursor.rowcount == 1


def _release(record: IdempotencyKey) -> None:
    """Forget a claim whose request failed unexpectedly (the client may retry)."""
    IdempotencyKey.objects.filter(
        pk=record.pk, claim=record.claim, state=IdempotencyState.IN_PROGRESS
    ).delete()


def _answer(
    record: IdempotencyKey,
    user: User,
    lines: list[Line],
    shipping_address: dict[str, str],
    render: Render,
) -> Answer:
    """Build the order and complete the key in one transaction; a refusal
    rolls the order back (no savepoint: that would cost two more round trips
    per order, inside the hot product's row lock) and completes the key
    alone. ``_ClaimLost`` if the claim was taken over meanwhile.

    Completing only while the claim still holds: the UPDATE takes the key's
    row lock, so a takeover either ran before (no row matches, the order
    rolls back) or waits and then finds the key completed.
    """
    for attempt in range(BUILD_ATTEMPTS):
        try:
            with transaction.atomic():
                order = order_build(
                    user=user,
                    lines=lines,
                    shipping_address=shipping_address,
                    lock=attempt == BUILD_ATTEMPTS - 1,
                )
                answer = Answer(201, render(order))
                if not _complete(record, answer, order):
                    raise _ClaimLost
                return answer
        except PricesMoved:
            continue
        except DomainError as exc:
            if exc.status_code >= 500:
                raise
            answer = Answer(exc.status_code, _error_body(exc))
            if not _complete(record, answer, None):
                raise _ClaimLost from None
            return answer
    raise AssertionError("the last build reads under the row locks")


def order_place(
    *,
    user: User,
    key: str,
    request_hash: str,
    lines: list[Line],
    shipping_address: dict[str, str],
    render: Render,
) -> Answer:
    """Place an order at most once per (user, key); see the module docstring.

    ``render`` turns the new order into the 201 body (the API's shape), which
    is stored and replayed verbatim. Call it outside any transaction: the
    claim has to be committed, visible to other requests, before the order's
    transaction starts.
    """
    now = timezone.now()
    claimed = _claim(user=user, key=key, request_hash=request_hash, now=now)
    if isinstance(claimed, Answer):
        return claimed
    record = claimed
    try:
        return _answer(record, user, lines, shipping_address, render)
    except _ClaimLost:
        current = IdempotencyKey.objects.filter(user=user, key=key).first()
        if current is None:
            raise IdempotencyRequestInProgress from None
        return _answer_of(current, request_hash=request_hash)
    except BaseException:
        _release(record)
        raise


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    """Delete keys older than ``IDEMPOTENCY_KEY_HOURS`` (API.md promises 24 h
    at least); returns how many went."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
