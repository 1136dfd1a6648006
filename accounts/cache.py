"""What accounts keeps in the ``security`` cache, and its keys.

- Session state and a user snapshot, so authenticating a request needs no
  database query; writes that change either refresh or drop the entry after
  commit, and short lifetimes bound what a missed invalidation could leave.
- The grace answer of a rotated refresh token, encrypted with a key derived
  from that token, so whoever reads Redis cannot replay it.

The ``security`` alias raises when Redis is unreachable; callers catch
``CACHE_ERRORS`` and fall back to the database (never to "allow").
"""

import base64
import hashlib
import hmac
import json
from typing import Any

import structlog
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.cache import BaseCache, caches
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

logger = structlog.get_logger("bazaar.accounts")

# What a dead or slow Redis raises through the ``security`` alias.
CACHE_ERRORS: tuple[type[BaseException], ...] = (
    RedisError,
    ConnectionInterrupted,
    OSError,
)

# The user fields kept in the snapshot; the rest load lazily if ever read.
USER_SNAPSHOT_FIELDS = (
    "id",
    "email",
    "first_name",
    "last_name",
    "is_active",
    "is_staff",
    "is_superuser",
    "is_seller",
    "is_verified",
    "session_epoch",
    "deleted_at",
)


def security_cache() -> BaseCache:
    return caches["security"]


def session_key(session_id: Any) -> str:
    return f"acc:sess:{session_id}"


def user_key(user_id: Any) -> str:
    return f"acc:user:{user_id}"


def activity_key(session_id: Any) -> str:
    return f"acc:act:{session_id}"


def grace_key(jti: str) -> str:
    return "acc:grace:" + hashlib.sha256(jti.encode()).hexdigest()


# --- Session state and user snapshot -------------------------------------------


def session_state(session: Any) -> dict[str, Any]:
    """The compact form of a ``Session`` that authentication reads."""
    return {
        "u": session.user_id,
        "rev": session.revoked_at is not None,
        "idle": session.idle_expires_at.timestamp(),
        "exp": session.expires_at.timestamp(),
        "act": session.last_activity_at.timestamp(),
    }


def auth_state_get(
    *, session_id: str, user_id: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Session state and user snapshot in one round trip (either may be None)."""
    keys = [session_key(session_id), user_key(user_id)]
    found = security_cache().get_many(keys)
    return found.get(keys[0]), found.get(keys[1])


def session_state_store(session: Any) -> None:
    security_cache().set(
        session_key(session.pk),
        session_state(session),
        timeout=settings.SESSION_STATE_CACHE_SECONDS,
    )


def session_state_store_many(states: dict[Any, dict[str, Any]]) -> None:
    security_cache().set_many(
        {session_key(sid): state for sid, state in states.items()},
        timeout=settings.SESSION_STATE_CACHE_SECONDS,
    )


def session_state_invalidate(session_ids: list[Any]) -> None:
    if session_ids:
        security_cache().delete_many([session_key(sid) for sid in session_ids])


def user_snapshot_store(user_id: Any, snapshot: dict[str, Any]) -> None:
    security_cache().set(
        user_key(user_id), snapshot, timeout=settings.USER_STATE_CACHE_SECONDS
    )


def user_invalidate(user_id: Any) -> None:
    security_cache().delete(user_key(user_id))


def activity_gate(session_id: Any) -> bool:
    """True for the one caller per ``SESSION_ACTIVITY_WRITE_SECONDS`` that may
    record a session's activity (shared by every process)."""
    return bool(
        security_cache().add(
            activity_key(session_id),
            1,
            timeout=settings.SESSION_ACTIVITY_WRITE_SECONDS,
        )
    )


# --- Grace answers of rotated refresh tokens ------------------------------------


def _fernet_for(raw_token: str) -> Fernet:
    # The key needs both the token and the server secret: a Redis dump alone
    # decrypts nothing, and neither does a token without the server.
    digest = hmac.new(
        settings.JWT_SIGNING_KEY.encode(), raw_token.encode(), hashlib.sha256
    ).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def grace_store(*, raw_token: str, jti: str, answer: dict[str, Any]) -> None:
    """Keep the answer given to ``raw_token`` for ``REFRESH_GRACE_SECONDS``."""
    seconds = settings.REFRESH_GRACE_SECONDS
    if seconds <= 0:
        return
    sealed = _fernet_for(raw_token).encrypt(json.dumps(answer).encode())
    security_cache().set(grace_key(jti), sealed, timeout=seconds)


def grace_get(*, raw_token: str, jti: str) -> dict[str, Any] | None:
    sealed = security_cache().get(grace_key(jti))
    if sealed is None:
        return None
    try:
        data = _fernet_for(raw_token).decrypt(sealed)
    except InvalidToken:
        return None
    return json.loads(data)


def quietly(action: Any, *args: Any, **kwargs: Any) -> None:
    """Run a cache write; with Redis down, log and go on (reads fall back to
    the database, and entries are short-lived)."""
    try:
        action(*args, **kwargs)
    except CACHE_ERRORS:
        logger.warning("security_cache_unavailable", action=action.__name__)
