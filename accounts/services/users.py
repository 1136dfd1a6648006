"""Profile updates and account deletion (anonymised; orders are kept)."""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F

from accounts.cache import quietly, user_invalidate
from accounts.client import Client
from accounts.enums import RevokeReason, SecurityEventKind
from accounts.exceptions import FieldErrors
from accounts.models import OneTimeCode, SecurityEvent, Session, User
from accounts.ratelimit import rate_limit_hit
from accounts.services.audit import security_event_record
from accounts.services.sessions import sessions_revoke


def user_update(*, user: User, first_name: str | None, last_name: str | None) -> User:
    """Change the profile's names (only those given)."""
    user = User.objects.get(pk=user.pk)
    fields = []
    if first_name is not None:
        user.first_name = first_name
        fields.append("first_name")
    if last_name is not None:
        user.last_name = last_name
        fields.append("last_name")
    if fields:
        with transaction.atomic():
            user.save(update_fields=fields)
            transaction.on_commit(lambda: quietly(user_invalidate, user.pk))
    return user


def user_delete(*, user: User, password: str, client: Client, now: datetime) -> None:
    """Anonymise the account after confirming its password.

    The row stays (orders point at it, for accounting); what identifies the
    person goes: email, names, password, and the addresses and user agents
    of its sessions and audit rows.
    """
    rate_limit_hit(
        scope="password_confirm",
        ident=str(user.pk),
        limit=settings.LOGIN_LOCK_THRESHOLD,
        window=settings.LOGIN_FAILURE_WINDOW_MINUTES * 60,
        now=now,
    )
    user = User.objects.get(pk=user.pk)
    if not user.check_password(password):
        raise FieldErrors({"password": ["The password is not correct."]})
    with transaction.atomic():
        sessions_revoke(user_id=user.pk, reason=RevokeReason.ACCOUNT_DELETED, now=now)
        Session.objects.filter(user=user).update(user_agent="", ip=None, ips=[])
        SecurityEvent.objects.filter(user=user).update(ip=None, user_agent="")
        OneTimeCode.objects.filter(user=user).delete()
        user.email = f"deleted-{user.pk}@deleted.invalid"
        user.first_name = ""
        user.last_name = ""
        user.set_unusable_password()
        user.is_active = False
        user.is_verified = False
        user.deleted_at = now
        user.save(
            update_fields=[
                "email",
                "first_name",
                "last_name",
                "password",
                "is_active",
                "is_verified",
                "deleted_at",
            ]
        )
        User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
        security_event_record(
            kind=SecurityEventKind.ACCOUNT_DELETED,
            user=user,
            client=Client(),
            now=now,
        )
        transaction.on_commit(lambda: quietly(user_invalidate, user.pk))
