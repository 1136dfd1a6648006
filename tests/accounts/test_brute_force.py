"""Lockout per account, throttles per address and session, Redis down, and no
account enumeration."""

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client
from rest_framework.test import APIClient

from accounts.enums import SecurityEventKind
from accounts.models import SecurityEvent
from jobs.enums import Priority
from jobs.mail import email_context
from jobs.models import JobRecord
from tests.accounts.conftest import REFRESH_URL, login
from tests.accounts.hashers import CountingHasher
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.subprocess_env import closed_port

pytestmark = pytest.mark.django_db

LOCKED = (
    "Too many failed logins; the account is locked for a while. "
    "The owner was emailed a link to unlock it."
)


def fail(client: APIClient, email: str = "ada@example.com", times: int = 5) -> None:
    for _ in range(times):
        response = login(client, email=email, password="wrong-password")
        assert response.status_code == 401


def unlock_token() -> str:
    [alert] = JobRecord.objects.filter(
        type="email.send", payload__template="security_alert"
    )
    assert alert.priority == Priority.CRITICAL
    assert "unlock_url" not in alert.payload["context"]
    url = email_context(alert.payload)["unlock_url"]
    assert url.startswith("http://127.0.0.1:8000/unlock?token=")
    return url.rsplit("=", 1)[1]


def test_five_failures_lock_the_account_from_every_address(user, clock):
    fail(APIClient(REMOTE_ADDR="203.0.113.1"))

    # the right password from another address is refused too
    response = login(APIClient(REMOTE_ADDR="198.51.100.7"))

    assert response.status_code == 429
    assert response["Retry-After"] == str(15 * 60)
    assert response.json() == {
        "detail": f"{LOCKED} Expected available in {15 * 60} seconds.",
        "code": "account_locked",
    }
    assert (
        SecurityEvent.objects.filter(
            kind=SecurityEventKind.ACCOUNT_LOCKED, user=user
        ).count()
        == 1
    )
    unlock_token()  # the owner was sent a CRITICAL email with a link


def test_lock_runs_out_after_fifteen_minutes(user, clock):
    fail(APIClient())
    clock.advance(minutes=10)
    locked = login(APIClient())
    assert locked.status_code == 429
    assert locked["Retry-After"] == str(5 * 60)

    clock.advance(minutes=5)

    assert login(APIClient()).status_code == 200


def test_the_emailed_link_opens_a_page_whose_button_unlocks(api_client, user):
    fail(api_client)
    token = unlock_token()
    browser = Client(enforce_csrf_checks=True)

    page = browser.get(f"/unlock?token={token}")
    # opening the link (a mail scanner does too) spends nothing
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "no-referrer"
    assert page["Cache-Control"] == "private, no-store"
    assert f'value="{token}"' in page.content.decode()
    assert login(api_client).status_code == 429

    csrf = browser.cookies["csrftoken"].value
    done = browser.post("/unlock", {"token": token, "csrfmiddlewaretoken": csrf})
    assert done.status_code == 200
    assert "Your account is unlocked" in done.content.decode()
    assert login(api_client).status_code == 200

    reused = browser.post("/unlock", {"token": token, "csrfmiddlewaretoken": csrf})
    assert reused.status_code == 400
    assert "invalid, already used or expired" in reused.content.decode()
    assert Client().get("/unlock").status_code == 200  # no token: explains, no error


def test_four_failures_do_not_lock_and_a_login_resets_the_count(user):
    fail(APIClient(), times=4)
    assert login(APIClient()).status_code == 200
    fail(APIClient(), times=4)

    assert login(APIClient()).status_code == 200


def test_unlock_link_lifts_the_lock_once(api_client, user):
    fail(api_client)
    token = unlock_token()

    response = api_client.post("/api/auth/unlock", {"token": token}, format="json")

    assert response.status_code == 200
    assert login(api_client).status_code == 200
    again = api_client.post("/api/auth/unlock", {"token": token}, format="json")
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_token"
    assert (
        SecurityEvent.objects.filter(
            kind=SecurityEventKind.ACCOUNT_UNLOCKED, user=user
        ).count()
        == 1
    )


def test_locked_attempts_are_not_checked_or_counted(api_client, user):
    fail(api_client)
    for _ in range(3):
        assert login(api_client).status_code == 429

    assert (
        SecurityEvent.objects.filter(
            kind=SecurityEventKind.LOGIN_FAILED, data__counted=True
        ).count()
        == 5
    )


def test_emailed_code_endpoints_share_a_per_ip_limit(clock, user, settings):
    settings.CODE_RATE_PER_IP_HOUR = 4
    client = APIClient(REMOTE_ADDR="203.0.113.30")
    known, unknown = {"email": user.email}, {"email": "nobody@example.com"}
    answers = [
        client.post("/api/auth/resend-otp", unknown, format="json").status_code,
        client.post("/api/auth/password/reset", known, format="json").status_code,
        client.post(
            "/api/auth/verify-email", {**unknown, "code": "000000"}, format="json"
        ).status_code,
        client.post("/api/auth/unlock", {"token": "x" * 43}, format="json").status_code,
    ]
    assert answers == [202, 202, 400, 400]

    # the fifth request is refused whichever email it names, before any lookup
    for body in (known, unknown):
        response = client.post("/api/auth/password/reset", body, format="json")
        assert response.status_code == 429
        assert response.json()["code"] == "throttled"
        assert 0 < int(response["Retry-After"]) <= 3600
    other = APIClient(REMOTE_ADDR="203.0.113.31")
    assert other.post("/api/auth/resend-otp", known, format="json").status_code == 202


def test_per_ip_limit_is_thirty_attempts_a_minute(clock):
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    for n in range(30):
        # different unknown emails: no account lock is involved
        assert login(client, email=f"u{n}@example.com").status_code == 401

    response = login(client, email="u99@example.com")

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60
    # another address is not affected
    assert login(APIClient(REMOTE_ADDR="203.0.113.10")).status_code == 401


def test_registration_is_limited_to_ten_an_hour_per_address():
    client = APIClient(REMOTE_ADDR="203.0.113.20")
    for n in range(10):
        response = client.post(
            "/api/auth/register",
            {"email": f"new{n}@example.com", "password": "a-long-unusual-pass-42"},
            format="json",
        )
        assert response.status_code == 201

    response = client.post(
        "/api/auth/register",
        {"email": "new99@example.com", "password": "a-long-unusual-pass-42"},
        format="json",
    )

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600


def test_refresh_is_limited_per_session(clock, api_client, tokens, settings):
    # a frozen clock: a minute boundary mid-test would reset the fixed window
    settings.REFRESH_RATE_PER_MINUTE = 3
    current = tokens
    for _ in range(3):
        response = api_client.post(
            REFRESH_URL, {"refresh": current["refresh"]}, format="json"
        )
        assert response.status_code == 200
        current = response.json()

    response = api_client.post(
        REFRESH_URL, {"refresh": current["refresh"]}, format="json"
    )

    assert response.status_code == 429
    assert "Retry-After" in response
    # another session of the same user is not affected
    other = login(api_client).json()
    assert (
        api_client.post(
            REFRESH_URL, {"refresh": other["refresh"]}, format="json"
        ).status_code
        == 200
    )


@pytest.fixture
def redis_down(settings):
    port = closed_port()
    settings.CACHES = {
        **settings.CACHES,
        "security": {
            **settings.CACHES["security"],
            "LOCATION": f"redis://127.0.0.1:{port}/0",
        },
    }


def test_lockout_holds_with_redis_down(user, redis_down, clock):
    # given Redis is unreachable: counters cannot be kept there
    fail(APIClient())

    # then the right password is still refused (decided from the database)
    response = login(APIClient())

    assert response.status_code == 429
    assert response["Retry-After"] == str(15 * 60)
    unlock_token()
    clock.advance(minutes=15)
    assert login(APIClient()).status_code == 200


def test_unlock_with_redis_down(user, redis_down, api_client):
    fail(api_client)
    api_client.post("/api/auth/unlock", {"token": unlock_token()}, format="json")

    assert login(api_client).status_code == 200


def test_requests_authenticate_from_the_database_with_redis_down(
    api_client, user, redis_down
):
    tokens = login(api_client).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.get("/api/auth/me").status_code == 200

    client.post("/api/auth/logout")

    assert client.get("/api/auth/me").status_code == 401


def test_no_enumeration_on_login(user):
    known = login(APIClient(), password="wrong-password")
    unknown = login(APIClient(), email="nobody@example.com", password="wrong-password")

    assert known.status_code == unknown.status_code == 401
    assert known.json() == unknown.json()


def test_unknown_emails_lock_like_known_ones(user):
    fail(APIClient(), email="nobody@example.com")
    fail(APIClient(), email="ada@example.com")

    known = login(APIClient())
    unknown = login(APIClient(), email="nobody@example.com")

    assert known.status_code == unknown.status_code == 429
    assert known.json() == unknown.json()
    assert known["Retry-After"] == unknown["Retry-After"]


def test_unknown_emails_cost_a_password_check(settings):
    settings.PASSWORD_HASHERS = ["tests.accounts.hashers.CountingHasher"]
    UserFactory(email="ada@example.com", password=make_password(DEFAULT_PASSWORD))
    CountingHasher.verified = 0

    login(APIClient(), password="wrong-password")
    login(APIClient(), email="nobody@example.com", password="wrong-password")

    assert CountingHasher.verified == 2


@pytest.mark.parametrize("path", ["/api/auth/resend-otp", "/api/auth/password/reset"])
def test_no_enumeration_on_email_requests(path, user):
    known = APIClient().post(path, {"email": "ada@example.com"}, format="json")
    unknown = APIClient().post(path, {"email": "nobody@example.com"}, format="json")

    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content


def test_admin_login_obeys_the_lockout(client, user):
    user.is_staff = True
    user.save()
    for _ in range(5):
        response = client.post(
            "/admin/login/", {"username": user.email, "password": "wrong-password"}
        )
        assert response.status_code == 200  # the form again, with an error

    response = client.post(
        "/admin/login/", {"username": user.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert login(APIClient()).status_code == 429


def test_admin_login_works_and_is_audited(client, user):
    user.is_staff = True
    user.save()

    response = client.post(
        "/admin/login/", {"username": "ADA@example.com", "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 302
    assert SecurityEvent.objects.get(user=user).data == {"via": "django_session"}
