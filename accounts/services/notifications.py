"""Notifications: the in-app row, the per-channel jobs, preferences, reads.

``notify`` is what other apps (orders) call when something happens to a user.
Everything it causes is written in the caller's transaction: the in-app row
is committed with the event itself, so the notification is readable through
``GET /api/notifications`` the moment the event's transaction commits (well
inside the 5 s real-time target; no job or push stands in between), and the
email, SMS and push jobs are queued in the same commit (or vanish with a
rollback).
"""

from typing import Any

from django.db import transaction
from django.utils import timezone

import jobs
from accounts.enums import NotificationChannel
from accounts.exceptions import InvalidUnsubscribeToken
from accounts.models import Notification, NotificationPreferences, User
from accounts.preferences import PREFERENCE_FIELDS, preference_on
from accounts.selectors import notification_preferences_get
from accounts.services.audit import email_queue
from accounts.unsubscribe import unsubscribe_token_read
from jobs.enums import Priority


@transaction.atomic
def preferences_update(
    *, user: User, values: dict[str, dict[str, bool]]
) -> NotificationPreferences:
    """Set the given switches (a validated subset of the nested shape)."""
    prefs, _ = NotificationPreferences.objects.select_for_update().get_or_create(
        user=user
    )
    for channel, categories in values.items():
        for category, value in categories.items():
            setattr(prefs, PREFERENCE_FIELDS[channel][category], bool(value))
    prefs.save()
    return prefs


def notify(
    *,
    user: User,
    kind: str,
    category: str,
    title: str,
    body: str,
    data: dict[str, Any] | None = None,
    email_template: str | None = None,
    email_context: dict[str, Any] | None = None,
) -> Notification | None:
    """In the caller's transaction: an in-app Notification row if the user's
    preferences allow `category` in_app (returned, else None); an `email.send`
    job (HIGH) with `email_template`/`email_context` if given and email[category]
    is on; an SMS job and a push job (`notifications.sms`, `notifications.push`)
    if sms/push[category] is on. category is "order_updates" or "marketing";
    a channel without that category counts as off.

    The in-app row is committed with the event, so it is readable through the
    API as soon as the caller commits (the 5 s real-time target holds by
    construction). Jobs carry ids only and run after the commit.
    """
    data = data or {}
    prefs = notification_preferences_get(user=user)

    def on(channel: str) -> bool:
        return preference_on(prefs, channel=channel, category=category)

    notification = None
    if on(NotificationChannel.IN_APP):
        notification = Notification.objects.create(
            user=user, kind=kind, title=title, body=body, data=data
        )
    if email_template and on(NotificationChannel.EMAIL):
        email_queue(
            user=user,
            template=email_template,
            context=email_context or {},
            priority=Priority.HIGH,
        )
    if on(NotificationChannel.SMS):
        jobs.enqueue(
            "notifications.sms",
            {"user_id": user.pk, "kind": kind, "text": f"{title}: {body}"[:640]},
            user=user,
        )
    if on(NotificationChannel.PUSH):
        jobs.enqueue(
            "notifications.push",
            {
                "user_id": user.pk,
                "kind": kind,
                "title": title,
                "body": body,
                "data": data,
            },
            user=user,
        )
    return notification


def notification_mark_read(*, user: User, notification_id: int) -> Notification | None:
    """Mark one own notification read (idempotent: the first read time stays);
    None if the user has no such notification."""
    mine = Notification.objects.filter(user=user, pk=notification_id)
    mine.filter(read_at__isnull=True).update(read_at=timezone.now())
    return mine.first()


def notifications_mark_all_read(*, user: User) -> int:
    """Mark every unread notification of the user read; returns how many."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def email_unsubscribe(*, token: str) -> tuple[User, str]:
    """One-click unsubscribe: switch email off for the token's category.

    Idempotent (a second click, or a mail client's POST after the user's GET,
    changes nothing more); returns the user and the category.
    """
    found = unsubscribe_token_read(token)
    user = User.objects.filter(pk=found[0]).first() if found else None
    if found is None or user is None:
        raise InvalidUnsubscribeToken()
    category = found[1]
    preferences_update(user=user, values={NotificationChannel.EMAIL: {category: False}})
    return user, category
