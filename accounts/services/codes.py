"""One-time codes and links: issued by email, kept only as an HMAC."""

import secrets
from datetime import datetime, timedelta

from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.enums import CodePurpose
from accounts.models import OneTimeCode, User


def code_hash(*, purpose: str, user_id: int | None, code: str) -> str:
    """Keyed hash: six digits hashed without a secret would fall to a lookup
    table, so the server's key is part of it."""
    return salted_hmac(
        "accounts.OneTimeCode", f"{purpose}:{user_id or ''}:{code}", algorithm="sha256"
    ).hexdigest()


def code_issue(
    *, user: User, purpose: CodePurpose, now: datetime, minutes: int, digits: int
) -> str:
    """A fresh numeric code; earlier live codes of the same purpose die."""
    OneTimeCode.objects.filter(user=user, purpose=purpose, used_at__isnull=True).update(
        used_at=now
    )
    code = f"{secrets.randbelow(10**digits):0{digits}d}"
    OneTimeCode.objects.create(
        user=user,
        purpose=purpose,
        code_hash=code_hash(purpose=purpose, user_id=user.pk, code=code),
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    return code


def code_consume(
    *, user: User, purpose: CodePurpose, code: str, now: datetime, max_attempts: int
) -> bool:
    """True (and the code is spent) when ``code`` is the user's live code.

    A wrong guess counts against the code; after ``max_attempts`` it is dead.
    Must run in a transaction the caller commits even on False.
    """
    live = (
        OneTimeCode.objects.select_for_update()
        .filter(
            user=user,
            purpose=purpose,
            used_at__isnull=True,
            expires_at__gt=now,
            attempts__lt=max_attempts,
        )
        .order_by("-created_at")
        .first()
    )
    if live is None:
        return False
    expected = code_hash(purpose=purpose, user_id=user.pk, code=code)
    if not constant_time_compare(expected, live.code_hash):
        live.attempts += 1
        live.save(update_fields=["attempts"])
        return False
    live.used_at = now
    live.save(update_fields=["used_at"])
    return True


def link_issue(*, user: User, purpose: CodePurpose, now: datetime, minutes: int) -> str:
    """A long random token for an emailed link (found by its hash alone)."""
    OneTimeCode.objects.filter(user=user, purpose=purpose, used_at__isnull=True).update(
        used_at=now
    )
    token = secrets.token_urlsafe(32)
    OneTimeCode.objects.create(
        user=user,
        purpose=purpose,
        code_hash=code_hash(purpose=purpose, user_id=None, code=token),
        created_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    return token


def link_consume(*, purpose: CodePurpose, token: str, now: datetime) -> User | None:
    """The user a live link belongs to (and the link is spent), else None."""
    live = (
        OneTimeCode.objects.select_for_update()
        .select_related("user")
        .filter(
            purpose=purpose,
            code_hash=code_hash(purpose=purpose, user_id=None, code=token),
            used_at__isnull=True,
            expires_at__gt=now,
        )
        .first()
    )
    if live is None:
        return None
    live.used_at = now
    live.save(update_fields=["used_at"])
    return live.user
