"""Housekeeping: forget long-dead sessions and spent one-time codes."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from accounts.models import OneTimeCode, Session

DEAD_SESSION_DAYS = 30


def sessions_cleanup(
    *, now: datetime, older_than_days: int = DEAD_SESSION_DAYS
) -> dict[str, int]:
    """Delete sessions dead (revoked or past a deadline) for over
    ``older_than_days``, and codes that are spent or expired."""
    cutoff = now - timedelta(days=older_than_days)
    dead = (
        Q(revoked_at__lt=cutoff)
        | Q(expires_at__lt=cutoff)
        | Q(idle_expires_at__lt=cutoff)
    )
    with transaction.atomic():
        _, sessions = Session.objects.filter(dead).delete()
        _, codes = OneTimeCode.objects.filter(
            Q(used_at__isnull=False) | Q(expires_at__lt=now)
        ).delete()
    return {
        "sessions": sessions.get("accounts.Session", 0),
        "codes": codes.get("accounts.OneTimeCode", 0),
    }
