"""Counters in the ``security`` cache: request rate limits and login lockout.

Plain rate limits (per address, per session) fail open when Redis is down:
they protect capacity, not accounts, and password hashing has its own cap
(``accounts.hashers``). The login lockout never fails open: without Redis it
is decided from the audit log in the database (``login_lock_from_db``).
"""

import hashlib
import math
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django_redis import get_redis_connection

from accounts.cache import CACHE_ERRORS, security_cache
from accounts.enums import SecurityEventKind
from accounts.exceptions import Throttled
from accounts.models import SecurityEvent

logger = structlog.get_logger("bazaar.accounts")


def _incr(key: str, window: int) -> int:
    """Add one to ``key`` (created with a ``window``-second life); one round trip."""
    full = security_cache().make_key(key)
    pipe = get_redis_connection("security").pipeline(transaction=False)
    pipe.incr(full)
    pipe.expire(full, window, nx=True)
    count, _ = pipe.execute()
    return int(count)


def rate_limit_hit(
    *, scope: str, ident: str, limit: int, window: int, now: datetime
) -> None:
    """Count one request of ``ident`` in a fixed window; 429 past ``limit``."""
    if limit <= 0:
        return
    bucket = int(now.timestamp() // window)
    try:
        count = _incr(f"acc:rl:{scope}:{ident}:{bucket}", window + 1)
    except CACHE_ERRORS:
        logger.warning("rate_limit_unavailable", scope=scope)
        return
    if count > limit:
        retry_after = window - int(now.timestamp() % window)
        raise Throttled(retry_after=retry_after)


def code_rate_hit(*, ip: str | None, now: datetime) -> None:
    """One request to an emailed-code endpoint from ``ip``; 429 past
    ``CODE_RATE_PER_IP_HOUR``. Counted before the email is looked up, so the
    answer never depends on whether the account exists."""
    if ip:
        rate_limit_hit(
            scope="codes_ip",
            ident=ip,
            limit=settings.CODE_RATE_PER_IP_HOUR,
            window=3600,
            now=now,
        )


# --- Login lockout ------------------------------------------------------------


def email_key(email: str) -> str:
    """Lockout counts per address typed, known or not, so a lock answers the
    same for unknown emails (no enumeration)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _lock_seconds() -> int:
    return settings.LOGIN_LOCK_MINUTES * 60


def _window_seconds() -> int:
    return settings.LOGIN_FAILURE_WINDOW_MINUTES * 60


def login_lock_from_db(*, user_id: int, now: datetime) -> int | None:
    """Seconds left of a lock, judged from the audit log (Redis unavailable).

    Locked when the last ``LOGIN_LOCK_THRESHOLD`` counted failures since the
    last successful login or unlock fall within one failure window, and the
    lock they started (``LOGIN_LOCK_MINUTES`` from the latest) still runs.
    """
    threshold = settings.LOGIN_LOCK_THRESHOLD
    reset = (
        SecurityEvent.objects.filter(
            user_id=user_id,
            kind__in=[SecurityEventKind.LOGIN, SecurityEventKind.ACCOUNT_UNLOCKED],
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    since = now - timedelta(seconds=_window_seconds() + _lock_seconds())
    if reset is not None and reset > since:
        since = reset
    failures = list(
        SecurityEvent.objects.filter(
            user_id=user_id,
            kind=SecurityEventKind.LOGIN_FAILED,
            created_at__gt=since,
            data__counted=True,
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:threshold]
    )
    if len(failures) < threshold:
        return None
    if failures[0] - failures[-1] > timedelta(seconds=_window_seconds()):
        return None
    until = failures[0] + timedelta(seconds=_lock_seconds())
    left = (until - now).total_seconds()
    return math.ceil(left) if left > 0 else None


def login_lock_get(*, email: str, user_id: int | None, now: datetime) -> int | None:
    """Seconds left of the lock on ``email``, or None when it may try."""
    try:
        until = security_cache().get(f"acc:lock:{email_key(email)}")
    except CACHE_ERRORS:
        logger.warning("lockout_cache_unavailable")
        if user_id is None:
            return None
        return login_lock_from_db(user_id=user_id, now=now)
    if until is None:
        # No key may mean no lock, or a Redis that restarted empty (or was
        # flushed) and forgot one, possibly one the database fallback decided
        # while it was down: the audit trail settles it for a known account.
        if user_id is None:
            return None
        return login_lock_from_db(user_id=user_id, now=now)
    left = until - now.timestamp()
    return math.ceil(left) if left > 0 else None


def login_failure_count(*, email: str, user_id: int | None, now: datetime) -> bool:
    """Count a failed login (its audit row is already written); True when this
    failure starts a lock."""
    key = email_key(email)
    try:
        count = _incr(f"acc:fail:{key}", _window_seconds())
        if count < settings.LOGIN_LOCK_THRESHOLD:
            return False
        cache = security_cache()
        cache.set(
            f"acc:lock:{key}",
            now.timestamp() + _lock_seconds(),
            timeout=_lock_seconds(),
        )
        cache.delete(f"acc:fail:{key}")
        return True
    except CACHE_ERRORS:
        logger.warning("lockout_cache_unavailable")
        if user_id is None:
            return False
        return login_lock_from_db(user_id=user_id, now=now) is not None


def login_lock_clear(*, email: str) -> None:
    """Forget failures and any lock of ``email`` (successful login, unlock)."""
    key = email_key(email)
    try:
        security_cache().delete_many([f"acc:fail:{key}", f"acc:lock:{key}"])
    except CACHE_ERRORS:
        # The database fallback reads the login/unlock event instead.
        logger.warning("lockout_cache_unavailable")
