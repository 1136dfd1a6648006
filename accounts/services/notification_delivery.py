"""Delivery of queued SMS and push notifications (the jobs' services).

Both run after the event committed, at least once: a provider call that
succeeded but whose job outcome was lost may repeat, which for a status
message is the lesser evil compared with losing it.
"""

from typing import Any

from accounts.models import User
from accounts.notification_backends import push_backend, sms_backend


def _recipient(user_id: int) -> User | None:
    # A deleted (anonymised) or deactivated account gets nothing more.
    return User.objects.filter(
        pk=user_id, is_active=True, deleted_at__isnull=True
    ).first()


def sms_deliver(*, user_id: int, text: str) -> dict[str, Any]:
    """Send one SMS; without a phone number (or user) it is skipped, not failed,
    since retrying cannot make a number appear."""
    user = _recipient(user_id)
    if user is None:
        return {"skipped": "no user"}
    if not user.phone:
        return {"skipped": "no phone"}
    return {"message_id": sms_backend().send(to=user.phone, text=text)}


def push_deliver(
    *, user_id: int, title: str, body: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Send one push to the user's devices (the provider maps our id to them)."""
    user = _recipient(user_id)
    if user is None:
        return {"skipped": "no user"}
    message_id = push_backend().send(to=str(user.pk), title=title, body=body, data=data)
    return {"message_id": message_id}
