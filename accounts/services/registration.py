"""Registration and email verification by one-time code."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.cache import CACHE_ERRORS, quietly, security_cache, user_invalidate
from accounts.client import Client
from accounts.enums import CodePurpose, SecurityEventKind
from accounts.exceptions import EmailTaken, InvalidCode
from accounts.models import OneTimeCode, User
from accounts.ratelimit import code_rate_hit, email_key, rate_limit_hit
from accounts.selectors import user_get_by_email
from accounts.services.audit import email_queue, security_event_record
from accounts.services.codes import code_consume, code_issue
from jobs.enums import Priority
from monitoring import metrics


def otp_send(*, user: User, now: datetime) -> None:
    """Issue a fresh verification code and queue it (CRITICAL)."""
    code = code_issue(
        user=user,
        purpose=CodePurpose.VERIFY_EMAIL,
        now=now,
        minutes=settings.OTP_MINUTES,
        digits=6,
    )
    email_queue(
        user=user,
        template="otp",
        context={"minutes": settings.OTP_MINUTES},
        secret={"code": code},
        priority=Priority.CRITICAL,
    )


def user_register(
    *,
    email: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    client: Client,
    now: datetime,
) -> User:
    """Create an unverified user; queue the code (CRITICAL) and a welcome (HIGH).

    ``password`` has passed the validators (the API's input serializer).
    """
    if client.ip:
        rate_limit_hit(
            scope="register_ip",
            ident=client.ip,
            limit=settings.REGISTER_RATE_PER_IP_HOUR,
            window=3600,
            now=now,
        )
    email = email.strip().lower()
    with transaction.atomic():
        if User.objects.filter(email=email).exists():
            raise EmailTaken()
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    email=email,
                    password=password,
                    first_name=first_name,
                    last_name=last_name,
                    date_joined=now,
                )
        except IntegrityError:
            raise EmailTaken() from None
        security_event_record(
            kind=SecurityEventKind.REGISTERED, user=user, client=client, now=now
        )
        otp_send(user=user, now=now)
        email_queue(
            user=user,
            template="welcome",
            context={"user_name": user.display_name},
            priority=Priority.HIGH,
        )
    transaction.on_commit(metrics.REGISTRATIONS.inc)
    return user


def email_verify(*, email: str, code: str, client: Client, now: datetime) -> User:
    """Mark the email verified with its live code; ``InvalidCode`` otherwise
    (the same for unknown emails). Wrong guesses count even though we refuse."""
    code_rate_hit(ip=client.ip, now=now)
    user = user_get_by_email(email=email)
    if user is None:
        raise InvalidCode()
    with transaction.atomic():
        ok = code_consume(
            user=user,
            purpose=CodePurpose.VERIFY_EMAIL,
            code=code,
            now=now,
            max_attempts=settings.OTP_MAX_ATTEMPTS,
        )
        if ok:
            User.objects.filter(pk=user.pk).update(is_verified=True)
            user.is_verified = True
            security_event_record(
                kind=SecurityEventKind.EMAIL_VERIFIED, user=user, client=client, now=now
            )
            transaction.on_commit(lambda: quietly(user_invalidate, user.pk))
    if not ok:
        raise InvalidCode()
    return user


def email_request_allowed(
    *, scope: str, email: str, user: User, purpose: CodePurpose, now: datetime
) -> bool:
    """At most one emailed code per ``OTP_RESEND_SECONDS`` per address and
    purpose (from Redis; from the codes table when Redis is down)."""
    seconds = settings.OTP_RESEND_SECONDS
    key = f"acc:{scope}:{email_key(email)}"
    stamp = now.timestamp()
    try:
        cache = security_cache()
        if cache.add(key, stamp, timeout=seconds):
            return True
        # Judged on our clock, not only the key's life (tests move the clock).
        last = cache.get(key)
        if last is None or stamp - last >= seconds:
            cache.set(key, stamp, timeout=seconds)
            return True
        return False
    except CACHE_ERRORS:
        return not OneTimeCode.objects.filter(
            user=user,
            purpose=purpose,
            created_at__gt=now - timedelta(seconds=seconds),
        ).exists()


def otp_resend(*, email: str, client: Client, now: datetime) -> None:
    """Send a new code to an unverified account; silently nothing otherwise."""
    code_rate_hit(ip=client.ip, now=now)
    user = user_get_by_email(email=email)
    if user is None or user.is_verified or not user.is_active:
        return
    if not email_request_allowed(
        scope="otp_resend",
        email=user.email,
        user=user,
        purpose=CodePurpose.VERIFY_EMAIL,
        now=now,
    ):
        return
    with transaction.atomic():
        otp_send(user=user, now=now)
