"""Login with brute-force protection, and the unlock link that lifts a lock.

Every attempt counts against the caller's address (``LOGIN_RATE_PER_IP``);
failures count against the email typed, known or not, and
``LOGIN_LOCK_THRESHOLD`` of them within the window lock it (429 from every
address). Unknown emails run the hasher on a dummy, so they answer in the
same time and with the same body as a wrong password.
"""

from datetime import datetime

from django.conf import settings
from django.db import transaction

from accounts.activity import Activity, activity_record
from accounts.client import Client
from accounts.enums import ActivityKind, CodePurpose, SecurityEventKind
from accounts.exceptions import AccountLocked, InvalidCredentials, InvalidUnlockToken
from accounts.hashers import password_check_dummy
from accounts.models import User
from accounts.ratelimit import (
    code_rate_hit,
    login_failure_count,
    login_lock_clear,
    login_lock_get,
    rate_limit_hit,
)
from accounts.selectors import user_get_by_email
from accounts.services.audit import (
    security_alert_queue,
    security_event_record,
    unlock_url_for,
)
from accounts.services.codes import link_consume, link_issue
from accounts.services.sessions import session_create
from monitoring import metrics


def _login_failed(
    *, email: str, user: User | None, reason: str, client: Client, now: datetime
) -> None:
    metrics.LOGIN_FAILURES.labels(reason).inc()
    with transaction.atomic():
        if user is not None:
            security_event_record(
                kind=SecurityEventKind.LOGIN_FAILED,
                user=user,
                client=client,
                now=now,
                data={"reason": reason, "counted": True},
            )
        locked = login_failure_count(
            email=email, user_id=user.pk if user else None, now=now
        )
        if locked and user is not None:
            token = link_issue(
                user=user,
                purpose=CodePurpose.UNLOCK,
                now=now,
                minutes=settings.LOGIN_LOCK_MINUTES,
            )
            security_event_record(
                kind=SecurityEventKind.ACCOUNT_LOCKED,
                user=user,
                client=client,
                now=now,
                data={"minutes": settings.LOGIN_LOCK_MINUTES},
            )
            security_alert_queue(
                user=user,
                event="repeated failed sign-ins; sign-in is locked for "
                f"{settings.LOGIN_LOCK_MINUTES} minutes",
                client=client,
                now=now,
                unlock_url=unlock_url_for(token),
            )


def credentials_check(
    *, email: str, password: str, client: Client, now: datetime
) -> User:
    """The user these credentials belong to, or an error: ``Throttled`` (per
    address), ``AccountLocked`` or ``InvalidCredentials``. Failures are
    audited and counted; used by the API login and the admin's backend."""
    if client.ip:
        rate_limit_hit(
            scope="login_ip",
            ident=client.ip,
            limit=settings.LOGIN_RATE_PER_IP,
            window=60,
            now=now,
        )
    email = email.strip().lower()
    user = user_get_by_email(email=email)
    locked_for = login_lock_get(email=email, user_id=user.pk if user else None, now=now)
    if locked_for is not None:
        if user is not None:
            security_event_record(
                kind=SecurityEventKind.LOGIN_FAILED,
                user=user,
                client=client,
                now=now,
                data={"reason": "locked", "counted": False},
            )
        raise AccountLocked(retry_after=locked_for)
    if user is None:
        password_check_dummy(password)
        ok = False
    else:
        # check_password re-encodes a hash made with older parameters.
        ok = user.check_password(password) and user.is_active
    if not ok:
        _login_failed(
            email=email,
            user=user,
            reason="unknown_email" if user is None else "bad_password",
            client=client,
            now=now,
        )
        # The failure that starts a lock still answers 401; the next gets 429.
        raise InvalidCredentials()
    return user


def login_succeeded(
    *, user: User, client: Client, now: datetime, session_id: str | None = None
) -> None:
    """Audit the login, reset the failure count, stamp ``last_login``, and
    record the activity event (after commit)."""
    security_event_record(
        kind=SecurityEventKind.LOGIN,
        user=user,
        session_id=session_id,
        client=client,
        now=now,
        data={} if session_id else {"via": "django_session"},
    )
    User.objects.filter(pk=user.pk).update(last_login=now)
    login_lock_clear(email=user.email)
    activity_record(
        Activity(
            kind=ActivityKind.LOGIN,
            user_id=user.pk,
            data={} if session_id else {"via": "django_session"},
        ),
        now=now,
    )


def user_login(*, email: str, password: str, client: Client, now: datetime) -> dict:
    """API login: a new session and its first token pair."""
    user = credentials_check(email=email, password=password, client=client, now=now)
    with transaction.atomic():
        answer = session_create(user=user, client=client, now=now)
        login_succeeded(
            user=user, client=client, now=now, session_id=answer["session_id"]
        )
    return answer


def account_unlock(*, token: str, client: Client, now: datetime) -> None:
    """Lift a login lock with the one-time link emailed when it began."""
    code_rate_hit(ip=client.ip, now=now)
    with transaction.atomic():
        user = link_consume(purpose=CodePurpose.UNLOCK, token=token, now=now)
        if user is None:
            raise InvalidUnlockToken()
        # Counted failures before this instant no longer lock (DB fallback).
        security_event_record(
            kind=SecurityEventKind.ACCOUNT_UNLOCKED,
            user=user,
            client=client,
            now=now,
        )
    login_lock_clear(email=user.email)
