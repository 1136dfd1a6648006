"""Password change (signed in) and reset (by emailed code)."""

from datetime import datetime

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from accounts.cache import quietly, user_invalidate
from accounts.client import Client
from accounts.enums import CodePurpose, RevokeReason, SecurityEventKind
from accounts.exceptions import FieldErrors, InvalidCode
from accounts.models import User
from accounts.ratelimit import code_rate_hit, login_lock_clear, rate_limit_hit
from accounts.selectors import user_get_by_email
from accounts.services.audit import email_queue, security_event_record
from accounts.services.codes import code_consume, code_issue
from accounts.services.registration import email_request_allowed
from accounts.services.sessions import sessions_revoke
from jobs.enums import Priority

RESET_CODE_DIGITS = 8


def password_validate(*, password: str, user: User, field: str) -> None:
    """Django's validators, as a 400 on ``field``."""
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise FieldErrors({field: list(exc.messages)}) from None


def password_change(
    *,
    user: User,
    session_id: str | None,
    old_password: str,
    new_password: str,
    client: Client,
    now: datetime,
) -> None:
    """Set a new password; every other session of the user ends."""
    rate_limit_hit(
        scope="password_change",
        ident=str(user.pk),
        limit=settings.LOGIN_LOCK_THRESHOLD,
        window=settings.LOGIN_FAILURE_WINDOW_MINUTES * 60,
        now=now,
    )
    user = User.objects.get(pk=user.pk)
    if not user.check_password(old_password):
        raise FieldErrors({"old_password": ["The password is not correct."]})
    password_validate(password=new_password, user=user, field="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        others = user.auth_sessions.filter(revoked_at__isnull=True)
        if session_id:
            others = others.exclude(pk=session_id)
        revoked = sessions_revoke(
            user_id=user.pk,
            reason=RevokeReason.PASSWORD_CHANGED,
            now=now,
            session_ids=list(others.values_list("pk", flat=True)),
        )
        security_event_record(
            kind=SecurityEventKind.PASSWORD_CHANGED,
            user=user,
            session_id=session_id,
            client=client,
            now=now,
            data={"sessions_revoked": len(revoked)},
        )
        transaction.on_commit(lambda: quietly(user_invalidate, user.pk))


def password_reset_request(*, email: str, client: Client, now: datetime) -> None:
    """Email a reset code (CRITICAL) if the account exists; silent otherwise."""
    code_rate_hit(ip=client.ip, now=now)
    user = user_get_by_email(email=email)
    if user is None or not user.is_active:
        return
    if not email_request_allowed(
        scope="password_reset",
        email=user.email,
        user=user,
        purpose=CodePurpose.PASSWORD_RESET,
        now=now,
    ):
        return
    with transaction.atomic():
        code = code_issue(
            user=user,
            purpose=CodePurpose.PASSWORD_RESET,
            now=now,
            minutes=settings.PASSWORD_RESET_MINUTES,
            digits=RESET_CODE_DIGITS,
        )
        security_event_record(
            kind=SecurityEventKind.PASSWORD_RESET_REQUESTED,
            user=user,
            client=client,
            now=now,
        )
        email_queue(
            user=user,
            template="password_reset",
            context={"minutes": settings.PASSWORD_RESET_MINUTES},
            secret={"code": code},
            priority=Priority.CRITICAL,
        )


def password_reset_confirm(
    *, email: str, code: str, new_password: str, client: Client, now: datetime
) -> None:
    """Set the password with the emailed code; every session of the user ends
    (cookie sessions too) and any login lock is lifted."""
    code_rate_hit(ip=client.ip, now=now)
    user = user_get_by_email(email=email)
    if user is None or not user.is_active:
        raise InvalidCode()
    password_validate(password=new_password, user=user, field="new_password")
    with transaction.atomic():
        ok = code_consume(
            user=user,
            purpose=CodePurpose.PASSWORD_RESET,
            code=code,
            now=now,
            max_attempts=settings.OTP_MAX_ATTEMPTS,
        )
        if ok:
            user.set_password(new_password)
            # Owning the mailbox proves the address too.
            user.is_verified = True
            user.save(update_fields=["password", "is_verified"])
            User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
            revoked = sessions_revoke(
                user_id=user.pk, reason=RevokeReason.PASSWORD_RESET, now=now
            )
            security_event_record(
                kind=SecurityEventKind.PASSWORD_RESET,
                user=user,
                client=client,
                now=now,
                data={"sessions_revoked": len(revoked)},
            )
            transaction.on_commit(lambda: quietly(user_invalidate, user.pk))
    if not ok:
        raise InvalidCode()
    login_lock_clear(email=user.email)
