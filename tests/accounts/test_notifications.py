"""Notifications: notify() and preferences, the API, SMS and push jobs."""

import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_redis import get_redis_connection
from rest_framework.test import APIClient

from accounts.models import Notification, NotificationPreferences
from accounts.services import notify, preferences_update
from jobs.enums import JobStatus, Priority
from jobs.models import EmailLog, JobRecord
from jobs.registry import get_job_type
from jobs.services import backoff_delay
from tests.accounts.conftest import bearer, login
from tests.factories import UserFactory
from tests.jobs.conftest import wait_until

LIST_URL = "/api/notifications"
COUNT_URL = "/api/notifications/unread-count"
READ_ALL_URL = "/api/notifications/read-all"
PREFS_URL = "/api/notifications/preferences"

DEFAULT_PREFS = {
    "email": {"order_updates": True, "marketing": False},
    "sms": {"order_updates": False},
    "push": {"order_updates": False, "marketing": False},
    "in_app": {"order_updates": True},
}
SWITCHES = [
    (channel, category)
    for channel, categories in DEFAULT_PREFS.items()
    for category in categories
]


def set_prefs(user: Any, **switches: bool) -> None:
    """``set_prefs(user, email_marketing=True)``: one model field per switch."""
    NotificationPreferences.objects.update_or_create(user=user, defaults=switches)


def channels_of(user: Any) -> set[str]:
    """What notify() caused for ``user``: in_app, email, sms, push."""
    caused = {"in_app"} if Notification.objects.filter(user=user).exists() else set()
    types = set(JobRecord.objects.filter(user=user).values_list("type", flat=True))
    names = {"email.send": "email", "notifications.sms": "sms"}
    names["notifications.push"] = "push"
    return caused | {names[t] for t in types}


def order_shipped(user: Any, **extra: Any) -> Notification | None:
    return notify(
        user=user,
        kind="order_shipped",
        category=extra.pop("category", "order_updates"),
        title="Order BZ-1 shipped",
        body="Tracking TRK1",
        data={"order_id": 7},
        **{
            "email_template": "order_status",
            "email_context": {"order_number": "BZ-1", "status": "shipped"},
            **extra,
        },
    )


# --- notify() and preferences ---------------------------------------------------


@pytest.mark.django_db
def test_notify_with_default_preferences_writes_in_app_row_and_high_email():
    user = UserFactory()
    notification = order_shipped(user)
    assert notification is not None
    assert (notification.user, notification.kind, notification.data) == (
        user,
        "order_shipped",
        {"order_id": 7},
    )
    assert channels_of(user) == {"in_app", "email"}
    job = JobRecord.objects.get(user=user)
    assert (job.type, job.priority) == ("email.send", Priority.HIGH)
    assert job.payload["template"] == "order_status"
    assert job.payload["context"] == {"order_number": "BZ-1", "status": "shipped"}
    assert EmailLog.objects.get(job=job).recipient == user.email


@pytest.mark.django_db
def test_notify_marketing_with_default_preferences_causes_nothing():
    user = UserFactory()
    assert order_shipped(user, category="marketing") is None
    assert channels_of(user) == set()


@pytest.mark.django_db
def test_notify_without_email_template_sends_no_email():
    user = UserFactory()
    order_shipped(user, email_template=None)
    assert channels_of(user) == {"in_app"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "on", [set(c) for n in range(3) for c in itertools.combinations(SWITCHES, n)]
)
@pytest.mark.parametrize("category", ["order_updates", "marketing"])
def test_notify_follows_every_preference_combination(on, category):
    # given: exactly the switches in ``on`` are on
    user = UserFactory()
    set_prefs(user, **{f"{ch}_{cat}": (ch, cat) in on for ch, cat in SWITCHES})
    # when
    notification = order_shipped(user, category=category)
    # then: a channel acts iff its (channel, category) switch is on; a channel
    # without that category (sms/in_app marketing) counts as off
    expected = {ch for ch, cat in on if cat == category}
    assert channels_of(user) == expected
    assert (notification is not None) == ("in_app" in expected)


@pytest.mark.django_db
def test_notify_jobs_carry_ids_and_the_message():
    user = UserFactory()
    set_prefs(user, sms_order_updates=True, push_order_updates=True)
    order_shipped(user)
    sms = JobRecord.objects.get(user=user, type="notifications.sms")
    push = JobRecord.objects.get(user=user, type="notifications.push")
    assert sms.payload == {
        "user_id": user.pk,
        "kind": "order_shipped",
        "text": "Order BZ-1 shipped: Tracking TRK1",
    }
    assert push.payload == {
        "user_id": user.pk,
        "kind": "order_shipped",
        "title": "Order BZ-1 shipped",
        "body": "Tracking TRK1",
        "data": {"order_id": 7},
    }
    assert (sms.priority, sms.max_attempts) == (Priority.HIGH, 5)
    assert (push.priority, push.max_attempts) == (Priority.HIGH, 5)


@pytest.mark.django_db(transaction=True)
def test_notify_is_part_of_the_callers_transaction():
    user = UserFactory()
    set_prefs(user, sms_order_updates=True, push_order_updates=True)
    with pytest.raises(RuntimeError), transaction.atomic():
        order_shipped(user)
        raise RuntimeError("the order failed")
    assert channels_of(user) == set()
    assert not EmailLog.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_phone_must_be_e164():
    user = UserFactory(phone="+14155550123")
    user.full_clean()
    for bad in ("4155550123", "+0123456789", "+1 415 555 0123", "+1234567890123456"):
        user.phone = bad
        with pytest.raises(ValidationError) as caught:
            user.full_clean()
        assert "phone" in caught.value.message_dict


# --- API -------------------------------------------------------------------------


@pytest.fixture
def me(db, user, authed) -> tuple[Any, APIClient]:
    return user, authed


def test_anonymous_gets_401_everywhere(db, api_client):
    for method, url in [
        ("get", LIST_URL),
        ("get", COUNT_URL),
        ("post", f"{LIST_URL}/1/read"),
        ("post", READ_ALL_URL),
        ("get", PREFS_URL),
        ("put", PREFS_URL),
    ]:
        response = getattr(api_client, method)(url, {}, format="json")
        assert response.status_code == 401, (method, url)
        assert response.json()["code"] == "not_authenticated"


def test_list_is_own_newest_first_with_cursor_pagination(me):
    user, client = me
    other = UserFactory()
    now = timezone.now()
    for n in range(3):
        Notification.objects.create(
            user=user,
            kind="k",
            title=f"t{n}",
            body="b",
            data={"n": n},
            created_at=now + timedelta(seconds=n),
        )
    Notification.objects.create(user=other, kind="k", title="theirs", body="")
    # when
    first = client.get(LIST_URL, {"page_size": 2})
    # then
    assert first.status_code == 200
    assert first["Cache-Control"] == "private, no-store"
    body = first.json()
    assert set(body) == {"next", "previous", "results"}
    assert [n["title"] for n in body["results"]] == ["t2", "t1"]
    assert set(body["results"][0]) == {
        "id",
        "kind",
        "title",
        "body",
        "data",
        "read_at",
        "created_at",
    }
    assert body["results"][0]["data"] == {"n": 2}
    assert body["results"][0]["read_at"] is None
    second = client.get(body["next"]).json()
    assert [n["title"] for n in second["results"]] == ["t0"]
    assert second["next"] is None


def test_unread_count_read_and_read_all(me):
    user, client = me
    mine = [
        Notification.objects.create(user=user, kind="k", title=str(n), body="")
        for n in range(3)
    ]
    theirs = Notification.objects.create(user=UserFactory(), kind="k", title="x")
    assert client.get(COUNT_URL).json() == {"unread": 3}
    # when one is read (twice: idempotent, the first read time stays)
    response = client.post(f"{LIST_URL}/{mine[0].pk}/read")
    again = client.post(f"{LIST_URL}/{mine[0].pk}/read/")
    # then
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert response.json()["id"] == mine[0].pk
    assert response.json()["read_at"] is not None
    assert again.json()["read_at"] == response.json()["read_at"]
    assert client.get(COUNT_URL).json() == {"unread": 2}
    # another user's notification does not exist for this user
    missing = client.post(f"{LIST_URL}/{theirs.pk}/read")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.read_at is None
    # read-all
    response = client.post(READ_ALL_URL)
    assert response.status_code == 200
    assert response.json() == {"marked_read": 2}
    assert client.get(COUNT_URL).json() == {"unread": 0}
    assert Notification.objects.filter(user=user, read_at__isnull=True).count() == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_notify_is_readable_through_the_api_at_once(me):
    user, client = me
    order_shipped(user)
    results = client.get(LIST_URL).json()["results"]
    assert [(n["kind"], n["title"]) for n in results] == [
        ("order_shipped", "Order BZ-1 shipped")
    ]
    assert client.get(COUNT_URL).json() == {"unread": 1}


def test_preferences_default_and_put(me):
    user, client = me
    response = client.get(PREFS_URL)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert response.json() == DEFAULT_PREFS
    wanted = {
        "email": {"order_updates": False, "marketing": True},
        "sms": {"order_updates": True},
        "push": {"order_updates": True, "marketing": False},
        "in_app": {"order_updates": False},
    }
    response = client.put(PREFS_URL, wanted, format="json")
    assert response.status_code == 200
    assert response.json() == wanted
    assert client.get(PREFS_URL).json() == wanted
    prefs = NotificationPreferences.objects.get(user=user)
    assert (prefs.email_marketing, prefs.email_order_updates) == (True, False)


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        (
            {"email": {"order_updates": True, "marketing": False, "digest": True}},
            {"email": {"digest": ["Unknown field."]}},
        ),
        ({"fax": {"order_updates": True}}, {"fax": ["Unknown field."]}),
        (
            {"sms": {"order_updates": True, "marketing": True}},
            {"sms": {"marketing": ["Unknown field."]}},
        ),
        (
            {"push": {"order_updates": "true", "marketing": False}},
            {"push": {"order_updates": ["Must be true or false."]}},
        ),
        (
            {"in_app": {"order_updates": 1}},
            {"in_app": {"order_updates": ["Must be true or false."]}},
        ),
        (
            {"in_app": {"order_updates": None}},
            {"in_app": {"order_updates": ["This field may not be null."]}},
        ),
        ({"in_app": {}}, {"in_app": {"order_updates": ["This field is required."]}}),
    ],
)
def test_preferences_put_is_strict(me, change, errors):
    user, client = me
    body = {**DEFAULT_PREFS, **change}
    response = client.put(PREFS_URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert not NotificationPreferences.objects.filter(user=user).exists()


def test_preferences_put_requires_every_channel(me):
    _, client = me
    body = {k: v for k, v in DEFAULT_PREFS.items() if k != "push"}
    response = client.put(PREFS_URL, body, format="json")
    assert response.status_code == 400
    assert response.json() == {"push": ["This field is required."]}
    assert client.put(PREFS_URL, [], format="json").status_code == 400
    not_an_object = client.put(PREFS_URL, {**DEFAULT_PREFS, "sms": True}, format="json")
    assert not_an_object.status_code == 400
    assert list(not_an_object.json()) == ["sms"]


def test_another_users_preferences_are_their_own(me):
    _, client = me
    other = UserFactory(email="bob@example.com")
    preferences_update(user=other, values={"email": {"marketing": True}})
    assert client.get(PREFS_URL).json() == DEFAULT_PREFS
    bob = APIClient()
    bob.credentials(**bearer(login(bob, "bob@example.com").json()["access"]))
    assert bob.get(PREFS_URL).json()["email"] == {
        "order_updates": True,
        "marketing": True,
    }


# --- SMS and push jobs -------------------------------------------------------------


class FlakySmsBackend:
    """Fails the first send of each process-wide run; counts sends in Redis."""

    def send(self, *, to: str, text: str) -> str:
        calls = get_redis_connection("default").incr("flaky-sms-calls")
        if calls == 1:
            raise ConnectionError("provider unavailable")
        return f"flaky-{calls}"


def wait_finished(job: JobRecord) -> JobRecord:
    return wait_until(
        lambda: JobRecord.objects.filter(
            pk=job.pk, status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED]
        ).first()
    )


@pytest.mark.django_db(transaction=True)
def test_sms_and_push_jobs_run_through_the_console_backends(thread_worker, relay):
    with_phone = UserFactory(phone="+14155550123")
    without_phone = UserFactory()
    for user in (with_phone, without_phone):
        set_prefs(user, sms_order_updates=True, push_order_updates=True)
    thread_worker()
    relay()
    with transaction.atomic():
        order_shipped(with_phone, email_template=None)
        order_shipped(without_phone, email_template=None)
    # then
    sms = wait_finished(JobRecord.objects.get(user=with_phone, type__endswith="sms"))
    assert sms.status == JobStatus.SUCCEEDED
    assert sms.result["message_id"].startswith("console-")
    skipped = wait_finished(
        JobRecord.objects.get(user=without_phone, type="notifications.sms")
    )
    assert (skipped.status, skipped.result) == (
        JobStatus.SUCCEEDED,
        {"skipped": "no phone"},
    )
    push = wait_finished(
        JobRecord.objects.get(user=without_phone, type="notifications.push")
    )
    assert push.status == JobStatus.SUCCEEDED
    assert push.result["message_id"].startswith("console-")


@pytest.mark.django_db(transaction=True)
def test_sms_job_retries_with_a_fixed_backoff(thread_worker, relay, settings):
    settings.SMS_BACKEND = "tests.accounts.test_notifications.FlakySmsBackend"
    user = UserFactory(phone="+14155550123")
    set_prefs(user, sms_order_updates=True)
    thread_worker()
    relay()
    with transaction.atomic():
        order_shipped(user, email_template=None)
    job = JobRecord.objects.get(user=user, type="notifications.sms")
    # the first attempt fails: queued again, a fixed 30 s later
    failed_once = wait_until(
        lambda: JobRecord.objects.filter(
            pk=job.pk, status=JobStatus.QUEUED, attempts=1
        ).first()
    )
    assert "provider unavailable" in failed_once.error
    delay = (failed_once.run_at - timezone.now()).total_seconds()
    assert 20 < delay <= 30
    kind = get_job_type("notifications.sms")
    assert [backoff_delay(kind, n) for n in range(1, 5)] == [30.0] * 4
    # when the backoff has passed (moved forward instead of waited)
    JobRecord.objects.filter(pk=job.pk).update(run_at=timezone.now())
    # then the second attempt succeeds
    done = wait_finished(job)
    assert (done.status, done.attempts, done.result) == (
        JobStatus.SUCCEEDED,
        2,
        {"message_id": "flaky-2"},
    )
