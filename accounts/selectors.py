"""Reads of accounts: users, sessions, and the per-request session check.

``session_authenticate`` answers from the ``security`` cache (one round trip
for session state and user snapshot); on a miss, or with Redis down, from the
database. A request never passes because the cache could not be asked.
"""

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from accounts import cache as acc_cache
from accounts.exceptions import SessionExpired, SessionRevoked
from accounts.models import Notification, NotificationPreferences, Session, User


def user_get(*, user_id: Any) -> User | None:
    return User.objects.filter(pk=user_id).first()


def user_get_by_email(*, email: str) -> User | None:
    """Case-insensitive (emails are stored lower-case); deleted accounts excluded."""
    return (
        User.objects.filter(email=email.strip().lower(), deleted_at__isnull=True)
        .order_by()
        .first()
    )


def session_list_for_user(*, user: User, now: datetime) -> QuerySet[Session]:
    """The user's live sessions, newest first."""
    return Session.objects.filter(
        user=user,
        revoked_at__isnull=True,
        expires_at__gt=now,
        idle_expires_at__gt=now,
    ).order_by("-created_at")


def _session_state_from_db(session_id: str) -> dict[str, Any] | None:
    session = (
        Session.objects.filter(pk=session_id)
        .only(
            "id",
            "user_id",
            "revoked_at",
            "idle_expires_at",
            "expires_at",
            "last_activity_at",
        )
        .first()
    )
    return acc_cache.session_state(session) if session is not None else None


def _user_snapshot_from_db(user_id: str) -> dict[str, Any] | None:
    return (
        User.objects.filter(pk=user_id).values(*acc_cache.USER_SNAPSHOT_FIELDS).first()
    )


def user_from_snapshot(snapshot: dict[str, Any]) -> User:
    """A ``User`` instance from the snapshot; other fields load if ever read."""
    names = [f.attname for f in User._meta.concrete_fields if f.attname in snapshot]
    return User.from_db("default", names, [snapshot[name] for name in names])


def session_authenticate(
    *, session_id: str, user_id: str, now: datetime
) -> tuple[User, dict[str, Any]]:
    """The user behind a live session, with the session's state; raises
    ``SessionRevoked`` or ``SessionExpired``."""
    try:
        state, snapshot = acc_cache.auth_state_get(
            session_id=session_id, user_id=user_id
        )
        cache_up = True
    except acc_cache.CACHE_ERRORS:
        state, snapshot, cache_up = None, None, False
    if state is None:
        state = _session_state_from_db(session_id)
        if state is not None and cache_up:
            acc_cache.quietly(acc_cache.session_state_store_many, {session_id: state})
    if state is None or str(state["u"]) != str(user_id) or state["rev"]:
        raise SessionRevoked()
    if now.timestamp() >= min(state["idle"], state["exp"]):
        raise SessionExpired()
    if snapshot is None:
        snapshot = _user_snapshot_from_db(user_id)
        if snapshot is not None and cache_up:
            acc_cache.quietly(acc_cache.user_snapshot_store, user_id, snapshot)
    if snapshot is None or not snapshot["is_active"] or snapshot["deleted_at"]:
        raise SessionRevoked("The account is no longer active.")
    return user_from_snapshot(snapshot), state


def notification_list_for_user(*, user: User) -> QuerySet[Notification]:
    """The user's notifications, newest first (the pagination orders them)."""
    return Notification.objects.filter(user=user)


def notification_unread_count(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notification_preferences_get(*, user: User) -> NotificationPreferences:
    """The user's switches; an unsaved row holding the defaults if none exists.

    A raw query: every notification (each order placed) reads this, and
    compiling the ORM's SELECT costs four times its round trip."""
    found = NotificationPreferences.objects.raw(_PREFERENCES_SQL, [user.pk])
    return next(iter(found), None) or NotificationPreferences(user=user)


_PREFERENCES_SQL = "SELECT * FROM accounts_notificationpreferences WHERE user_id = %s"
