"""Password hashing cost, suspicious sessions, parallel refreshes, cleanup and
the production settings."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from accounts import clock as acc_clock
from accounts.enums import CodePurpose, RevokeReason, SecurityEventKind
from accounts.exceptions import ServiceUnavailable
from accounts.hashers import Argon2idPasswordHasher, hash_slots
from accounts.models import OneTimeCode, SecurityEvent, Session
from jobs.models import JobRecord
from tests.accounts.conftest import REFRESH_URL, login
from tests.factories import UserFactory
from tests.subprocess_env import manage

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
)


# --- Password hashing -----------------------------------------------------------


def test_argon2id_is_tuned_to_owasp_figures_and_first_in_base_settings():
    from config.settings import base

    encoded = Argon2idPasswordHasher().encode(
        "a-long-unusual-pass-42", "saltsaltsalt1234"
    )

    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert Argon2idPasswordHasher().verify("a-long-unusual-pass-42", encoded)
    assert base.PASSWORD_HASHERS[0] == "accounts.hashers.Argon2idPasswordHasher"


def test_django_default_argon2_hashes_verify_and_are_upgraded(settings, db):
    from django.contrib.auth.hashers import Argon2PasswordHasher

    settings.PASSWORD_HASHERS = ["accounts.hashers.Argon2idPasswordHasher"]
    old = Argon2PasswordHasher()
    old.memory_cost = 1024  # stands in for other parameters (cheap here)
    user = UserFactory(password=old.encode("a-long-unusual-pass-42", old.salt()))

    assert user.check_password("a-long-unusual-pass-42")

    user.refresh_from_db()
    assert "m=19456,t=2,p=1" in user.password
    assert identify_hasher(user.password).algorithm == "argon2"


def test_concurrent_hashes_are_capped(settings):
    settings.PASSWORD_HASH_WAIT_SECONDS = 0.05
    slots = hash_slots()
    held = 0
    while slots.acquire(blocking=False):  # take every slot
        held += 1
    try:
        assert held == settings.PASSWORD_HASH_CONCURRENCY
        with pytest.raises(ServiceUnavailable):
            Argon2idPasswordHasher().encode(
                "a-long-unusual-pass-42", "saltsaltsalt1234"
            )
    finally:
        for _ in range(held):
            slots.release()


# --- Suspicious activity ----------------------------------------------------------


@pytest.mark.django_db
def test_user_agent_family_change_is_audited_then_revokes(user):
    tokens = login(APIClient(HTTP_USER_AGENT=FIREFOX)).json()
    thief = APIClient(HTTP_USER_AGENT=CHROME)
    current = tokens
    for _ in range(2):
        response = thief.post(
            REFRESH_URL, {"refresh": current["refresh"]}, format="json"
        )
        assert response.status_code == 200
        current = response.json()
    assert SecurityEvent.objects.filter(kind=SecurityEventKind.SUSPICIOUS).count() == 2

    # the third strike (SESSION_SUSPICION_LIMIT = 3) ends the session
    response = thief.post(REFRESH_URL, {"refresh": current["refresh"]}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "session_revoked"
    session = Session.objects.get(pk=tokens["session_id"])
    assert session.revoke_reason == RevokeReason.SUSPICIOUS
    assert SecurityEvent.objects.filter(kind=SecurityEventKind.SUSPICIOUS).count() == 3
    event = SecurityEvent.objects.filter(kind=SecurityEventKind.SUSPICIOUS).first()
    assert event.data == {
        "reason": "user_agent_changed",
        "from": "Firefox",
        "to": "Chrome",
    }
    assert event.user_agent == CHROME
    assert JobRecord.objects.filter(payload__template="security_alert").count() == 1


@pytest.mark.django_db
def test_same_family_and_few_addresses_are_not_suspicious(user):
    tokens = login(APIClient(HTTP_USER_AGENT=FIREFOX)).json()
    current = tokens
    for n in range(4):  # 5 addresses in all: at the limit, not past it
        client = APIClient(HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR=f"203.0.113.{n + 1}")
        current = client.post(
            REFRESH_URL, {"refresh": current["refresh"]}, format="json"
        ).json()

    assert not SecurityEvent.objects.filter(kind=SecurityEventKind.SUSPICIOUS).exists()
    assert len(Session.objects.get().ips) == 5


@pytest.mark.django_db
def test_too_many_addresses_is_suspicious(user):
    current = login(APIClient()).json()
    for n in range(5):
        client = APIClient(REMOTE_ADDR=f"203.0.113.{n + 1}")
        current = client.post(
            REFRESH_URL, {"refresh": current["refresh"]}, format="json"
        ).json()

    [event] = SecurityEvent.objects.filter(kind=SecurityEventKind.SUSPICIOUS)
    assert event.data == {"reason": "too_many_ips", "ips": 6}
    assert Session.objects.get().revoked_at is None


# --- Parallel refreshes -------------------------------------------------------------


def _parallel_refresh(raw: str, count: int) -> list:
    barrier = threading.Barrier(count)

    def one(_: int):
        try:
            barrier.wait()
            return APIClient().post(REFRESH_URL, {"refresh": raw}, format="json")
        finally:
            connection.close()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


@pytest.mark.django_db(transaction=True)
def test_parallel_refreshes_rotate_once_and_share_the_answer(user):
    tokens = login(APIClient()).json()

    responses = _parallel_refresh(tokens["refresh"], 4)

    assert [r.status_code for r in responses] == [200] * 4
    assert len({r.json()["refresh"] for r in responses}) == 1
    assert Session.objects.get().generation == 2


@pytest.mark.django_db(transaction=True)
def test_parallel_refreshes_without_grace_only_one_succeeds(user, settings):
    settings.REFRESH_GRACE_SECONDS = 0
    tokens = login(APIClient()).json()

    responses = _parallel_refresh(tokens["refresh"], 2)

    assert sorted(r.status_code for r in responses) == [200, 401]
    session = Session.objects.get()
    # the loser presented a spent token: the family is revoked
    assert session.revoke_reason == RevokeReason.TOKEN_REUSED
    assert session.generation == 2


# --- Logout with a refresh token, cleanup --------------------------------------------


@pytest.mark.django_db
def test_logout_also_revokes_the_given_refresh_tokens_session(api_client, user):
    a = login(api_client).json()
    b = login(api_client).json()
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {a['access']}")

    assert (
        client.post(
            "/api/auth/logout", {"refresh": b["refresh"]}, format="json"
        ).status_code
        == 204
    )

    assert set(Session.objects.values_list("revoke_reason", flat=True)) == {"logout"}


@pytest.mark.django_db
def test_cleanup_sessions_removes_long_dead_sessions_and_spent_codes(user, capsys):
    now = acc_clock.now()
    long_ago = now - timedelta(days=61)

    def session(**fields):
        base = {
            "user": user,
            "created_at": long_ago,
            "last_activity_at": long_ago,
            "idle_expires_at": now + timedelta(days=1),
            "expires_at": now + timedelta(days=1),
            "refresh_jti_hash": "x",
            "rotated_at": long_ago,
        }
        return Session.objects.create(**{**base, **fields})

    live = session()
    recently_revoked = session(
        revoked_at=now - timedelta(days=29), revoke_reason="logout"
    )
    old_revoked = session(revoked_at=now - timedelta(days=31), revoke_reason="logout")
    old_expired = session(
        idle_expires_at=now - timedelta(days=31), expires_at=now - timedelta(days=31)
    )
    SecurityEvent.objects.create(
        kind=SecurityEventKind.LOGOUT, user=user, session=old_revoked, created_at=now
    )
    code = {"user": user, "purpose": CodePurpose.VERIFY_EMAIL, "code_hash": "h"}
    OneTimeCode.objects.create(
        **code, created_at=now, expires_at=now + timedelta(minutes=5)
    )
    OneTimeCode.objects.create(
        **code, created_at=now, expires_at=now + timedelta(minutes=5), used_at=now
    )
    OneTimeCode.objects.create(**code, created_at=long_ago, expires_at=long_ago)

    call_command("cleanup_sessions")

    assert set(Session.objects.values_list("pk", flat=True)) == {
        live.pk,
        recently_revoked.pk,
    }
    assert OneTimeCode.objects.count() == 1
    # the audit row stays, detached from the deleted session
    assert SecurityEvent.objects.get().session_id is None
    assert old_expired.pk not in Session.objects.values_list("pk", flat=True)
    assert "deleted 2 session(s), 2 code(s)" in capsys.readouterr().out


# --- Production settings ----------------------------------------------------------

PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_READ_DOT_ENV_FILE": "false",
    "SECRET_KEY": "q8V0m3nZ_x7Lr2pK9sT4wY6uB1cE5gH0jN3vM8aD2fQ7hR6kS9tW4yX1zC5bG0nL",
    "ALLOWED_HOSTS": "shop.example",
}


@pytest.mark.slow
def test_production_requires_its_own_jwt_signing_key():
    missing = manage("check", env={**PRODUCTION, "JWT_SIGNING_KEY": None})
    short = manage("check", env={**PRODUCTION, "JWT_SIGNING_KEY": "short"})
    same = manage(
        "check", env={**PRODUCTION, "JWT_SIGNING_KEY": PRODUCTION["SECRET_KEY"]}
    )
    good = manage("check", env={**PRODUCTION, "JWT_SIGNING_KEY": "k" * 48})

    assert missing.returncode != 0
    assert "JWT_SIGNING_KEY" in missing.stderr
    assert short.returncode != 0
    assert "JWT_SIGNING_KEY" in short.stderr
    assert same.returncode != 0
    assert good.returncode == 0, good.stderr
