"""Registration, email OTP, password change and reset. The end-to-end flows
read the emailed code from a real SMTP server, through a real worker."""

import json
import re
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from accounts.enums import CodePurpose, SecurityEventKind
from accounts.models import OneTimeCode, SecurityEvent, Session, User
from jobs.enums import Priority
from jobs.mail import email_context
from jobs.models import JobRecord
from tests.accounts.conftest import ME_URL, REFRESH_URL, bearer, login
from tests.factories import DEFAULT_PASSWORD

REGISTER = "/api/auth/register"
VERIFY = "/api/auth/verify-email"
RESEND = "/api/auth/resend-otp"
PASSWORD = "a-long-unusual-pass-42"


def register(client: APIClient, email: str = "grace@example.com", **extra):
    return client.post(
        REGISTER, {"email": email, "password": PASSWORD, **extra}, format="json"
    )


def text_of(delivered: dict) -> str:
    for part in delivered["message"].walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    raise AssertionError("no text part")


def code_in(delivered: dict) -> str:
    return re.search(r"code is (\d{6,8})", text_of(delivered)).group(1)


def email_jobs(template: str) -> list[JobRecord]:
    return list(JobRecord.objects.filter(type="email.send", payload__template=template))


def queued_code(template: str = "otp") -> str:
    return email_context(email_jobs(template)[-1].payload)["code"]


# --- Registration ---------------------------------------------------------------


@pytest.mark.django_db
def test_register_creates_an_unverified_user_and_queues_two_emails(api_client):
    response = register(api_client, email="Grace@Example.com", first_name="Grace")

    assert response.status_code == 201
    user = User.objects.get()
    assert response.json() == {
        "id": user.pk,
        "email": "grace@example.com",
        "first_name": "Grace",
        "last_name": "",
        "is_verified": False,
    }
    assert user.check_password(PASSWORD)
    [otp] = email_jobs("otp")
    [welcome] = email_jobs("welcome")
    assert (otp.priority, welcome.priority) == (Priority.CRITICAL, Priority.HIGH)
    assert otp.payload["to"] == welcome.payload["to"] == "grace@example.com"
    assert otp.user_id == user.pk
    assert welcome.payload["context"] == {"user_name": "Grace"}
    # the code is stored hashed, and the job carries it sealed, never in clear
    code = email_context(otp.payload)["code"]
    assert re.fullmatch(r"\d{6}", code)
    assert otp.payload["context"] == {"minutes": 10}
    assert code not in json.dumps(otp.payload)
    stored = OneTimeCode.objects.get(user=user)
    assert code not in stored.code_hash
    assert stored.expires_at - stored.created_at == timedelta(minutes=10)


@pytest.mark.django_db
def test_duplicate_email_in_any_case_is_400(api_client):
    register(api_client)

    response = register(api_client, email="GRACE@example.com")

    assert response.status_code == 400
    assert response.json() == {"email": ["A user with this email already exists."]}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "grace@example.com", "password": "12345678"}, "password"),
        ({"email": "grace@example.com", "password": "grace@example.com"}, "password"),
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "a" * 250 + "@example.com", "password": PASSWORD}, "email"),
        (
            {
                "email": "grace@example.com",
                "password": PASSWORD,
                "first_name": "x" * 151,
            },
            "first_name",
        ),
        (
            {"email": "grace@example.com", "password": PASSWORD, "is_staff": True},
            "is_staff",
        ),
        ({"email": "grace@example.com"}, "password"),
    ],
)
def test_register_validation(api_client, body, field):
    response = api_client.post(REGISTER, body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not User.objects.exists()


# --- Email verification -----------------------------------------------------------


@pytest.mark.django_db
def test_verify_email_with_the_code(api_client):
    register(api_client)

    response = api_client.post(
        VERIFY, {"email": "grace@example.com", "code": queued_code()}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {"is_verified": True}
    assert User.objects.get().is_verified is True
    assert SecurityEvent.objects.filter(kind=SecurityEventKind.EMAIL_VERIFIED).exists()


@pytest.mark.django_db
def test_five_wrong_codes_kill_the_code(api_client):
    register(api_client)
    code = queued_code()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        response = api_client.post(
            VERIFY, {"email": "grace@example.com", "code": wrong}, format="json"
        )
        assert response.status_code == 400
        assert response.json() == {
            "detail": "The code is wrong or has expired.",
            "code": "invalid_code",
        }

    response = api_client.post(
        VERIFY, {"email": "grace@example.com", "code": code}, format="json"
    )

    assert response.status_code == 400
    assert User.objects.get().is_verified is False


@pytest.mark.django_db
def test_code_expires_after_ten_minutes(api_client, clock):
    register(api_client)
    clock.advance(minutes=10)

    response = api_client.post(
        VERIFY, {"email": "grace@example.com", "code": queued_code()}, format="json"
    )

    assert response.status_code == 400


@pytest.mark.django_db
def test_verify_for_an_unknown_email_looks_like_a_wrong_code(api_client):
    response = api_client.post(
        VERIFY, {"email": "nobody@example.com", "code": "123456"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_code"


@pytest.mark.django_db
def test_resend_is_throttled_to_one_a_minute_and_replaces_the_code(api_client, clock):
    register(api_client)  # the first code
    clock.advance(seconds=1)

    assert api_client.post(RESEND, {"email": "grace@example.com"}).status_code == 202
    clock.advance(seconds=59)
    assert api_client.post(RESEND, {"email": "grace@example.com"}).status_code == 202

    assert len(email_jobs("otp")) == 2  # registration's and the first resend
    second = queued_code()
    clock.advance(seconds=1)  # a minute after the first resend
    assert api_client.post(RESEND, {"email": "grace@example.com"}).status_code == 202
    assert len(email_jobs("otp")) == 3
    # only the newest code is alive
    dead = api_client.post(
        VERIFY, {"email": "grace@example.com", "code": second}, format="json"
    )
    live = api_client.post(
        VERIFY, {"email": "grace@example.com", "code": queued_code()}, format="json"
    )
    assert (dead.status_code, live.status_code) == (400, 200)
    assert User.objects.get().is_verified is True


@pytest.mark.django_db
def test_resend_for_verified_or_unknown_sends_nothing(api_client):
    register(api_client)
    User.objects.update(is_verified=True)

    assert api_client.post(RESEND, {"email": "grace@example.com"}).status_code == 202
    assert api_client.post(RESEND, {"email": "x@example.com"}).status_code == 202

    assert len(email_jobs("otp")) == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_otp_flow_through_the_real_smtp_sink(smtp_sink, thread_worker, relay):
    thread_worker()
    relay()
    client = APIClient()

    assert register(client, first_name="Grace").status_code == 201
    delivered = smtp_sink.wait_for(2)

    by_subject = {m["message"]["Subject"]: m for m in delivered}
    [otp_mail] = [m for s, m in by_subject.items() if "code" in s.lower()]
    assert otp_mail["to"] == ["grace@example.com"]
    response = client.post(
        VERIFY,
        {"email": "grace@example.com", "code": code_in(otp_mail)},
        format="json",
    )
    assert response.status_code == 200
    assert User.objects.get().is_verified is True


# --- Password change ----------------------------------------------------------------


@pytest.mark.django_db
def test_password_change_revokes_the_other_sessions(api_client, tokens, user):
    other = login(api_client).json()
    client = APIClient()
    client.credentials(**bearer(tokens["access"]))

    wrong = client.post(
        "/api/auth/password/change",
        {"old_password": "nope", "new_password": "another-long-pass-77"},
        format="json",
    )
    weak = client.post(
        "/api/auth/password/change",
        {"old_password": DEFAULT_PASSWORD, "new_password": "123"},
        format="json",
    )
    response = client.post(
        "/api/auth/password/change",
        {"old_password": DEFAULT_PASSWORD, "new_password": "another-long-pass-77"},
        format="json",
    )

    assert (wrong.status_code, list(wrong.json())) == (400, ["old_password"])
    assert (weak.status_code, list(weak.json())) == (400, ["new_password"])
    assert response.status_code == 200
    assert client.get(ME_URL).status_code == 200  # this session stays
    assert APIClient().get(ME_URL, **bearer(other["access"])).status_code == 401
    assert (
        api_client.post(
            REFRESH_URL, {"refresh": other["refresh"]}, format="json"
        ).status_code
        == 401
    )
    assert login(api_client).status_code == 401
    assert login(api_client, password="another-long-pass-77").status_code == 200
    assert (
        SecurityEvent.objects.filter(kind=SecurityEventKind.PASSWORD_CHANGED).count()
        == 1
    )


# --- Password reset -----------------------------------------------------------------


@pytest.mark.django_db
def test_password_reset_revokes_every_session(api_client, tokens, user, clock):
    response = api_client.post(
        "/api/auth/password/reset", {"email": "ada@example.com"}, format="json"
    )
    assert response.status_code == 202
    [job] = email_jobs("password_reset")
    assert job.priority == Priority.CRITICAL
    code = email_context(job.payload)["code"]

    weak = api_client.post(
        "/api/auth/password/reset/confirm",
        {"email": "ada@example.com", "code": code, "new_password": "123"},
        format="json",
    )
    response = api_client.post(
        "/api/auth/password/reset/confirm",
        {"email": "ada@example.com", "code": code, "new_password": "brand-new-pass-99"},
        format="json",
    )

    assert (weak.status_code, list(weak.json())) == (400, ["new_password"])
    assert response.status_code == 200
    assert APIClient().get(ME_URL, **bearer(tokens["access"])).status_code == 401
    assert Session.objects.get().revoke_reason == "password_reset"
    assert login(api_client).status_code == 401
    assert login(api_client, password="brand-new-pass-99").status_code == 200
    # the code was spent
    again = api_client.post(
        "/api/auth/password/reset/confirm",
        {"email": "ada@example.com", "code": code, "new_password": "other-new-pass-11"},
        format="json",
    )
    assert again.status_code == 400


@pytest.mark.django_db
def test_password_reset_code_is_purpose_bound(api_client, user):
    register(api_client)  # an OTP for another user and purpose
    api_client.post("/api/auth/password/reset", {"email": "ada@example.com"})
    otp = queued_code("otp")

    response = api_client.post(
        "/api/auth/password/reset/confirm",
        {"email": "ada@example.com", "code": otp, "new_password": "brand-new-pass-99"},
        format="json",
    )

    assert response.status_code == 400
    assert OneTimeCode.objects.filter(purpose=CodePurpose.PASSWORD_RESET).count() == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_password_reset_through_the_real_smtp_sink(smtp_sink, thread_worker, relay):
    from tests.factories import UserFactory

    UserFactory(email="ada@example.com")
    thread_worker()
    relay()
    client = APIClient()
    tokens = login(client).json()

    assert (
        client.post(
            "/api/auth/password/reset", {"email": "ada@example.com"}
        ).status_code
        == 202
    )
    [mail] = smtp_sink.wait_for(1)
    assert mail["to"] == ["ada@example.com"]
    code = re.search(r"reset code is (\d{8})", text_of(mail)).group(1)

    response = client.post(
        "/api/auth/password/reset/confirm",
        {"email": "ada@example.com", "code": code, "new_password": "brand-new-pass-99"},
        format="json",
    )

    assert response.status_code == 200
    assert APIClient().get(ME_URL, **bearer(tokens["access"])).status_code == 401
    assert login(client, password="brand-new-pass-99").status_code == 200
