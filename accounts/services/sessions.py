"""Sessions as refresh-token families: create, rotate, detect reuse, revoke.

A refresh locks its ``Session`` row, so of two parallel refreshes of one token
the second waits, then finds the first one's answer in the grace store (the
first writes it before it commits) instead of rotating again. A spent token
presented after the grace, or any older one, revokes the whole family.
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils.crypto import constant_time_compare
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError

from accounts import cache as acc_cache
from accounts.client import Client, ua_family
from accounts.enums import RevokeReason, SecurityEventKind
from accounts.exceptions import (
    AccountsError,
    ServiceUnavailable,
    SessionExpired,
    SessionRevoked,
    TokenInvalid,
    TokenReused,
)
from accounts.models import Session, User
from accounts.ratelimit import rate_limit_hit
from accounts.services.audit import security_alert_queue, security_event_record
from accounts.tokens import (
    RefreshToken,
    access_token_issue,
    jti_hash,
    refresh_token_issue,
)

# Distinct addresses remembered per session (the rule only needs to count).
MAX_REMEMBERED_IPS = 32


def iso(value: datetime) -> str:
    """Timestamps as DRF renders them (UTC with ``Z``)."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _whole_seconds(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def _idle_deadline(*, now: datetime, absolute: datetime) -> datetime:
    idle = _whole_seconds(now + timedelta(days=settings.SESSION_IDLE_DAYS))
    return min(idle, absolute)


def _token_answer(
    *, session: Session, refresh: RefreshToken, now: datetime
) -> dict[str, str]:
    access = access_token_issue(user_id=session.user_id, session_id=session.pk, now=now)
    return {
        "access": str(access),
        "refresh": str(refresh),
        "session_id": str(session.pk),
        "access_expires_at": iso(access.expires_at),
        "refresh_expires_at": iso(session.refresh_expires_at),
    }


def session_create(*, user: User, client: Client, now: datetime) -> dict[str, str]:
    """Open a session for ``user`` and return its first token pair."""
    absolute = _whole_seconds(now + timedelta(days=settings.SESSION_MAX_DAYS))
    session = Session(
        id=uuid.uuid4(),
        user=user,
        created_at=now,
        last_activity_at=now,
        idle_expires_at=_idle_deadline(now=now, absolute=absolute),
        expires_at=absolute,
        user_agent=client.user_agent,
        ua_family=ua_family(client.user_agent),
        ip=client.ip,
        ips=[client.ip] if client.ip else [],
        generation=1,
        rotated_at=now,
    )
    refresh = refresh_token_issue(
        user_id=user.pk,
        session_id=session.pk,
        generation=1,
        expires_at=absolute,
        now=now,
    )
    session.refresh_jti_hash = jti_hash(refresh["jti"])
    session.save(force_insert=True)
    answer = _token_answer(session=session, refresh=refresh, now=now)
    transaction.on_commit(
        lambda: acc_cache.quietly(acc_cache.session_state_store, session)
    )
    return answer


def _revoked_state(user_id: int) -> dict[str, Any]:
    return {"u": user_id, "rev": True, "idle": 0.0, "exp": 0.0, "act": 0.0}


def sessions_revoke(
    *,
    user_id: int,
    reason: RevokeReason,
    now: datetime,
    session_ids: list | None = None,
) -> list[uuid.UUID]:
    """Revoke the user's live sessions (all, or those in ``session_ids``).

    Their cached state turns to "revoked" on commit, so the very next request
    with one of their access tokens is refused without a database query.
    """
    live = Session.objects.filter(user_id=user_id, revoked_at__isnull=True)
    if session_ids is not None:
        live = live.filter(pk__in=session_ids)
    ids = list(live.values_list("pk", flat=True))
    if not ids:
        return []
    Session.objects.filter(pk__in=ids, revoked_at__isnull=True).update(
        revoked_at=now, revoke_reason=reason
    )
    # Drop the cached "live" state now (a request racing the commit reloads
    # from the database), and write "revoked" once the revocation is visible.
    acc_cache.quietly(acc_cache.session_state_invalidate, ids)
    states = {sid: _revoked_state(user_id) for sid in ids}
    transaction.on_commit(
        lambda: acc_cache.quietly(acc_cache.session_state_store_many, states)
    )
    return ids


def _refresh_token_decode(*, raw: str, now: datetime) -> RefreshToken:
    try:
        token = RefreshToken(raw, now=now)
    except ExpiredTokenError:
        # exp is the session's absolute deadline.
        raise SessionExpired() from None
    except TokenError:
        raise TokenInvalid() from None
    try:
        uuid.UUID(str(token["sid"]))
    except ValueError:
        raise TokenInvalid() from None
    if not isinstance(token.get("gen"), int):
        raise TokenInvalid()
    return token


def _suspicious_signals(
    *, session: Session, client: Client
) -> list[tuple[str, dict[str, Any]]]:
    """What about this refresh does not fit the session (and remember the IP)."""
    signals: list[tuple[str, dict[str, Any]]] = []
    family = ua_family(client.user_agent)
    if session.ua_family and family != session.ua_family:
        signals.append(
            ("user_agent_changed", {"from": session.ua_family, "to": family})
        )
    if client.ip and client.ip not in session.ips:
        if len(session.ips) < MAX_REMEMBERED_IPS:
            session.ips = [*session.ips, client.ip]
        if len(session.ips) > settings.SESSION_SUSPICIOUS_IPS:
            signals.append(("too_many_ips", {"ips": len(session.ips)}))
    return signals


def _rotate(
    *, session: Session, token: RefreshToken, raw: str, client: Client, now: datetime
) -> dict[str, str]:
    generation = session.generation + 1
    refresh = refresh_token_issue(
        user_id=session.user_id,
        session_id=session.pk,
        generation=generation,
        expires_at=session.expires_at,
        now=now,
    )
    session.previous_jti_hash = session.refresh_jti_hash
    session.refresh_jti_hash = jti_hash(refresh["jti"])
    session.generation = generation
    session.rotated_at = now
    session.last_activity_at = now
    session.idle_expires_at = _idle_deadline(now=now, absolute=session.expires_at)
    session.save(
        update_fields=[
            "previous_jti_hash",
            "refresh_jti_hash",
            "generation",
            "rotated_at",
            "last_activity_at",
            "idle_expires_at",
            "ips",
            "suspicion",
        ]
    )
    answer = _token_answer(session=session, refresh=refresh, now=now)
    # Before commit: a parallel refresh of the same token waits on the row
    # lock and must find this answer the moment it gets the row.
    acc_cache.quietly(
        acc_cache.grace_store, raw_token=raw, jti=token["jti"], answer=answer
    )
    security_event_record(
        kind=SecurityEventKind.REFRESH,
        user=session.user,
        session=session,
        client=client,
        now=now,
        data={"generation": generation},
    )
    transaction.on_commit(
        lambda: acc_cache.quietly(acc_cache.session_state_store, session)
    )
    return answer


def _reuse_detected(
    *, session: Session, token: RefreshToken, client: Client, now: datetime
) -> None:
    sessions_revoke(
        user_id=session.user_id,
        reason=RevokeReason.TOKEN_REUSED,
        now=now,
        session_ids=[session.pk],
    )
    security_event_record(
        kind=SecurityEventKind.TOKEN_REUSED,
        user=session.user,
        session=session,
        client=client,
        now=now,
        data={"generation": token["gen"], "current_generation": session.generation},
    )
    security_alert_queue(
        user=session.user,
        event="a used sign-in token was presented again; that session was ended",
        client=client,
        now=now,
    )


def session_refresh(*, raw: str, client: Client, now: datetime) -> dict[str, str]:
    """Rotate a session's refresh token; see the module docstring for the rules."""
    token = _refresh_token_decode(raw=raw, now=now)
    rate_limit_hit(
        scope="refresh",
        ident=str(token["sid"]),
        limit=settings.REFRESH_RATE_PER_MINUTE,
        window=60,
        now=now,
    )
    outcome: AccountsError | None = None
    with transaction.atomic():
        session = (
            # Lock the session row only, not the user's.
            Session.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(pk=token["sid"])
            .first()
        )
        if session is None or str(session.user_id) != str(token["sub"]):
            raise TokenInvalid()
        if session.revoked_at is not None:
            raise SessionRevoked()
        if now >= session.refresh_expires_at:
            raise SessionExpired()
        user = session.user
        if not user.is_active or user.deleted_at is not None:
            raise SessionRevoked()
        presented = jti_hash(token["jti"])
        if token["gen"] == session.generation and constant_time_compare(
            presented, session.refresh_jti_hash
        ):
            outcome = _suspicion_check(session=session, client=client, now=now)
            if outcome is None:
                return _rotate(
                    session=session, token=token, raw=raw, client=client, now=now
                )
        elif (
            token["gen"] == session.generation - 1
            and constant_time_compare(presented, session.previous_jti_hash)
            and now - session.rotated_at
            <= timedelta(seconds=settings.REFRESH_GRACE_SECONDS)
        ):
            try:
                again = acc_cache.grace_get(raw_token=raw, jti=token["jti"])
            except acc_cache.CACHE_ERRORS:
                # Without the earlier answer we can neither repeat it nor
                # call this a theft; the client retries.
                raise ServiceUnavailable() from None
            if again is not None:
                return again
            outcome = TokenReused()
            _reuse_detected(session=session, token=token, client=client, now=now)
        else:
            outcome = TokenReused()
            _reuse_detected(session=session, token=token, client=client, now=now)
    # The revocation above is committed; only now refuse.
    raise outcome


def _suspicion_check(
    *, session: Session, client: Client, now: datetime
) -> AccountsError | None:
    """Audit what looks wrong; past ``SESSION_SUSPICION_LIMIT`` end the session."""
    signals = _suspicious_signals(session=session, client=client)
    for reason, data in signals:
        security_event_record(
            kind=SecurityEventKind.SUSPICIOUS,
            user=session.user,
            session=session,
            client=client,
            now=now,
            data={"reason": reason, **data},
        )
    session.suspicion += len(signals)
    if session.suspicion < settings.SESSION_SUSPICION_LIMIT:
        return None
    session.save(update_fields=["ips", "suspicion"])
    sessions_revoke(
        user_id=session.user_id,
        reason=RevokeReason.SUSPICIOUS,
        now=now,
        session_ids=[session.pk],
    )
    security_alert_queue(
        user=session.user,
        event="unusual activity on a signed-in session; that session was ended",
        client=client,
        now=now,
    )
    return SessionRevoked("The session was ended after unusual activity.")


def session_logout(
    *,
    user: User,
    session_id: str | None,
    refresh: str | None,
    client: Client,
    now: datetime,
) -> None:
    """End the caller's session (the access token's, and the refresh token's if
    one is given and belongs to the caller)."""
    ids: list[Any] = [session_id] if session_id else []
    if refresh:
        try:
            token = _refresh_token_decode(raw=refresh, now=now)
        except AccountsError:
            token = None
        if token is not None and str(token["sub"]) == str(user.pk):
            ids.append(token["sid"])
    with transaction.atomic():
        revoked = sessions_revoke(
            user_id=user.pk, reason=RevokeReason.LOGOUT, now=now, session_ids=ids
        )
        for sid in revoked:
            security_event_record(
                kind=SecurityEventKind.LOGOUT,
                user=user,
                session_id=sid,
                client=client,
                now=now,
            )


def session_logout_all(*, user: User, client: Client, now: datetime) -> None:
    """End every session of ``user``, cookie (admin) sessions included."""
    with transaction.atomic():
        revoked = sessions_revoke(
            user_id=user.pk, reason=RevokeReason.LOGOUT_ALL, now=now
        )
        # Changes the session auth hash: Django cookie sessions end too.
        User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
        security_event_record(
            kind=SecurityEventKind.LOGOUT_ALL,
            user=user,
            client=client,
            now=now,
            data={"sessions": len(revoked)},
        )
        transaction.on_commit(
            lambda: acc_cache.quietly(acc_cache.user_invalidate, user.pk)
        )


def session_revoke(
    *, user: User, session_id: Any, client: Client, now: datetime
) -> bool:
    """Revoke one of the user's own sessions; False if it is not theirs."""
    with transaction.atomic():
        session = Session.objects.filter(pk=session_id, user=user).first()
        if session is None:
            return False
        revoked = sessions_revoke(
            user_id=user.pk,
            reason=RevokeReason.USER_REVOKED,
            now=now,
            session_ids=[session.pk],
        )
        if revoked:
            security_event_record(
                kind=SecurityEventKind.SESSION_REVOKED,
                user=user,
                session=session,
                client=client,
                now=now,
            )
    return True


def session_touch(*, session_id: str, state: dict[str, Any], now: datetime) -> None:
    """Record activity: extend the idle deadline, at most once a minute."""
    if now.timestamp() - state["act"] < settings.SESSION_ACTIVITY_WRITE_SECONDS:
        return
    try:
        if not acc_cache.activity_gate(session_id):
            return
    except acc_cache.CACHE_ERRORS:
        pass  # state came from the database; writing once more is harmless
    absolute = datetime.fromtimestamp(state["exp"], tz=now.tzinfo)
    idle = _idle_deadline(now=now, absolute=absolute)
    Session.objects.filter(pk=session_id, revoked_at__isnull=True).update(
        last_activity_at=now, idle_expires_at=idle
    )
    new_state = {**state, "act": now.timestamp(), "idle": idle.timestamp()}
    acc_cache.quietly(acc_cache.session_state_store_many, {session_id: new_state})


def sessions_admin_revoke(
    *, session_ids: list[Any], by: User, client: Client, now: datetime
) -> int:
    """Staff revoke sessions (any users'); each revocation is audited."""
    count = 0
    with transaction.atomic():
        owners: dict[int, list[Any]] = {}
        for sid, user_id in Session.objects.filter(
            pk__in=session_ids, revoked_at__isnull=True
        ).values_list("pk", "user_id"):
            owners.setdefault(user_id, []).append(sid)
        for user_id, ids in owners.items():
            for sid in sessions_revoke(
                user_id=user_id,
                reason=RevokeReason.ADMIN_REVOKED,
                now=now,
                session_ids=ids,
            ):
                security_event_record(
                    kind=SecurityEventKind.SESSION_REVOKED,
                    user=User(pk=user_id),
                    session_id=sid,
                    client=client,
                    now=now,
                    data={"by": by.email},
                )
                count += 1
    return count
