"""The audit log and the emails that tell a user about their account."""

from datetime import datetime
from typing import Any

from django.conf import settings

import jobs
from accounts.client import Client
from accounts.enums import SecurityEventKind
from accounts.models import SecurityEvent, Session, User
from jobs.enums import Priority
from jobs.mail import email_payload


def security_event_record(
    *,
    kind: SecurityEventKind,
    user: User | None,
    client: Client,
    now: datetime,
    session: Session | None = None,
    session_id: Any = None,
    data: dict[str, Any] | None = None,
) -> SecurityEvent:
    """Write one audit row (in the caller's transaction)."""
    return SecurityEvent.objects.create(
        kind=kind,
        user=user,
        session_id=session.pk if session is not None else session_id,
        created_at=now,
        ip=client.ip,
        user_agent=client.user_agent,
        data=data or {},
    )


def email_queue(
    *,
    user: User,
    template: str,
    context: dict[str, Any],
    priority: Priority,
    secret: dict[str, Any] | None = None,
) -> None:
    """Queue an ``email.send`` job in the caller's transaction; ``secret``
    values (codes, unlock links) are sealed in the job, never stored in clear."""
    jobs.enqueue(
        "email.send",
        email_payload(to=user.email, template=template, context=context, secret=secret),
        priority=priority,
        user=user,
    )


def security_alert_queue(
    *, user: User, event: str, client: Client, now: datetime, unlock_url: str = ""
) -> None:
    """A CRITICAL security-alert email: what happened, when, from where."""
    email_queue(
        user=user,
        template="security_alert",
        context={
            "event": event,
            "when": now.strftime("%Y-%m-%d %H:%M UTC"),
            "ip": client.ip or "",
            "user_agent": client.user_agent[:200],
        },
        secret={"unlock_url": unlock_url} if unlock_url else None,
        priority=Priority.CRITICAL,
    )


def unlock_url_for(token: str) -> str:
    return settings.ACCOUNT_UNLOCK_URL.format(token=token)
