"""Marketing campaigns: audience, fan-out into batches, one email per recipient,
the BATCH window, and the one-click unsubscribe link from a real SMTP sink."""

import smtplib
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import mail, signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.enums import CampaignStatus
from accounts.exceptions import CampaignNotDraft
from accounts.models import Campaign, CampaignBatch, NotificationPreferences
from accounts.services import (
    campaign_batch_send,
    campaign_fan_out,
    campaign_send,
    email_unsubscribe,
)
from accounts.services.campaigns import campaign_audience
from accounts.unsubscribe import unsubscribe_token
from jobs import broker
from jobs.enums import EmailStatus, JobStatus, Priority
from jobs.models import EmailLog, JobRecord
from jobs.runner import run_job_inline
from jobs.services import jobs_publish_due
from tests.factories import StaffFactory, UserFactory
from tests.jobs.conftest import wait_until

UNSUBSCRIBE_PATH = "/api/notifications/unsubscribe"


def subscriber(**fields: Any) -> Any:
    user = UserFactory(**fields)
    NotificationPreferences.objects.create(user=user, email_marketing=True)
    return user


def new_campaign(**fields: Any) -> Campaign:
    return Campaign.objects.create(
        subject=fields.pop("subject", "News for {{ first_name }}"),
        body=fields.pop("body", "Hello {{ first_name }} {{ last_name }}!"),
        **fields,
    )


@pytest.fixture
def closed_window(settings) -> None:
    """The BATCH off-peak window is hours away."""
    now = timezone.localtime()
    start = (now + timedelta(hours=2)).strftime("%H:%M")
    end = (now + timedelta(hours=3)).strftime("%H:%M")
    settings.JOB_BATCH_WINDOW = f"{start}-{end}"


def jobs_of(kind: str) -> list[JobRecord]:
    return list(JobRecord.objects.filter(type=kind).order_by("created_at"))


def fan_out(campaign: Campaign) -> None:
    with transaction.atomic():
        campaign_send(campaign_id=campaign.pk, now=timezone.now())
    (fanout,) = jobs_of("notifications.campaign_fanout")
    assert run_job_inline(str(fanout.pk)) == JobStatus.SUCCEEDED


# --- audience and fan-out ------------------------------------------------------------


@pytest.mark.django_db
def test_audience_is_active_undeleted_opted_in_users_in_id_order():
    a = subscriber()
    subscriber(is_active=False)
    subscriber(deleted_at=timezone.now())
    UserFactory()  # defaults: no marketing
    NotificationPreferences.objects.create(user=UserFactory(), email_marketing=False)
    b = subscriber()
    assert list(campaign_audience()) == [a, b]


@pytest.mark.django_db(transaction=True)
def test_send_fans_out_into_batches_once(settings, closed_window):
    settings.CAMPAIGN_BATCH_SIZE = 2
    users = [subscriber() for _ in range(5)]
    UserFactory()  # not in the audience
    campaign = new_campaign(created_by=StaffFactory())
    # when
    with transaction.atomic():
        campaign_send(campaign_id=campaign.pk, now=timezone.now())
    # then: one BATCH fan-out job, not forced
    (fanout,) = jobs_of("notifications.campaign_fanout")
    assert (fanout.priority, fanout.forced, fanout.payload) == (
        Priority.BATCH,
        False,
        {"campaign_id": campaign.pk},
    )
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING
    assert run_job_inline(str(fanout.pk)) == JobStatus.SUCCEEDED
    batches = list(CampaignBatch.objects.filter(campaign=campaign).order_by("number"))
    ids = [u.pk for u in users]
    assert [(b.first_user_id, b.last_user_id, b.size) for b in batches] == [
        (ids[0], ids[1], 2),
        (ids[2], ids[3], 2),
        (ids[4], ids[4], 1),
    ]
    children = jobs_of("notifications.campaign_batch")
    assert sorted(job.dedupe_key for job in children) == [
        f"campaign:{campaign.pk}:batch:{n}" for n in (1, 2, 3)
    ]
    assert {(job.priority, job.forced) for job in children} == {(Priority.BATCH, False)}
    campaign.refresh_from_db()
    assert (campaign.recipients_count, campaign.batches_count) == (5, 3)
    # when the fan-out runs again (a retry, a second delivery)
    with transaction.atomic():
        again = campaign_fan_out(campaign_id=campaign.pk)
    # then nothing doubles
    assert again["already_fanned_out"] is True
    assert CampaignBatch.objects.filter(campaign=campaign).count() == 3
    assert len(jobs_of("notifications.campaign_batch")) == 3


@pytest.mark.django_db
def test_only_drafts_can_be_sent():
    campaign = new_campaign(status=CampaignStatus.SENT)
    with pytest.raises(CampaignNotDraft):
        campaign_send(campaign_id=campaign.pk, now=timezone.now())
    assert not JobRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_empty_audience_is_sent_at_once():
    campaign = new_campaign()
    fan_out(campaign)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.recipients_count) == (CampaignStatus.SENT, 0)
    assert campaign.sent_at is not None


# --- the batches ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_user_who_opts_out_after_the_fan_out_is_skipped(settings, closed_window):
    settings.CAMPAIGN_BATCH_SIZE = 1000
    stays, leaves, deleted = subscriber(), subscriber(), subscriber()
    campaign = new_campaign()
    fan_out(campaign)
    (batch_job,) = jobs_of("notifications.campaign_batch")
    # when, before the batch runs, one opts out (through the link) and one
    # account is deleted
    email_unsubscribe(token=unsubscribe_token(user_id=leaves.pk, category="marketing"))
    deleted.deleted_at = timezone.now()
    deleted.save()
    assert run_job_inline(str(batch_job.pk)) == JobStatus.SUCCEEDED
    # then
    assert [m.to for m in mail.outbox] == [[stays.email]]
    assert list(EmailLog.objects.values_list("user_id", flat=True)) == [stays.pk]
    campaign.refresh_from_db()
    assert (
        campaign.status,
        campaign.recipients_count,
        campaign.sent_count,
        campaign.skipped_count,
    ) == (CampaignStatus.SENT, 3, 1, 2)


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_runs_twice_sends_each_recipient_once(settings):
    settings.CAMPAIGN_BATCH_SIZE = 3
    users = [subscriber(first_name=f"N{n}") for n in range(5)]
    campaign = new_campaign()
    fan_out(campaign)
    first, second = CampaignBatch.objects.filter(campaign=campaign).order_by("number")
    job = JobRecord.objects.get(payload__batch_id=first.pk)
    # given: the batch has run once
    campaign_batch_send(batch_id=first.pk, job_id=job.pk)
    assert len(mail.outbox) == 3
    # when the same batch runs again (redelivery, retry, a duplicate job)
    again = campaign_batch_send(batch_id=first.pk, job_id=job.pk)
    campaign_batch_send(batch_id=first.pk, job_id=None)
    # then nobody gets a second email
    assert again == {"sent": 0, "already_sent": 3, "skipped": 0}
    assert len(mail.outbox) == 3
    logs = EmailLog.objects.filter(template="campaign")
    assert logs.count() == 3
    assert {log.status for log in logs} == {EmailStatus.SENT}
    assert sorted(logs.values_list("user_id", flat=True)) == [u.pk for u in users[:3]]
    campaign.refresh_from_db()
    assert (campaign.status, campaign.sent_count) == (CampaignStatus.SENDING, 3)
    # and the last batch finishes the campaign
    campaign_batch_send(batch_id=second.pk, job_id=None)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.sent_count, campaign.skipped_count) == (
        CampaignStatus.SENT,
        5,
        0,
    )
    assert len(mail.outbox) == 5
    assert EmailLog.objects.filter(template="campaign").count() == 5


@pytest.fixture
def refusing_sink(smtp_sink, monkeypatch) -> Any:
    """The real SMTP sink, answering 451 to every message once it holds
    ``refuse_after`` of them (None: accept everything)."""
    accept = smtp_sink.handle_DATA
    smtp_sink.refuse_after = None

    async def handle_data(server: Any, session: Any, envelope: Any) -> str:
        limit = smtp_sink.refuse_after
        if limit is not None and len(smtp_sink.messages) >= limit:
            return "451 4.3.0 Try again later"
        return await accept(server, session, envelope)

    # aiosmtpd looks the hook up on each new connection.
    monkeypatch.setattr(smtp_sink, "handle_DATA", handle_data)
    return smtp_sink


@pytest.mark.django_db(transaction=True)
def test_a_batch_resumes_after_a_failure_without_resending(settings, refusing_sink):
    settings.CAMPAIGN_BATCH_SIZE = 10
    users = [subscriber() for _ in range(3)]
    campaign = new_campaign()
    fan_out(campaign)
    (batch,) = CampaignBatch.objects.filter(campaign=campaign)
    # given: the SMTP server refuses after the first message of the first run
    refusing_sink.refuse_after = 1
    with pytest.raises(smtplib.SMTPDataError):
        campaign_batch_send(batch_id=batch.pk, job_id=None)
    statuses = dict(EmailLog.objects.values_list("user_id", "status"))
    assert statuses == {users[0].pk: EmailStatus.SENT, users[1].pk: EmailStatus.FAILED}
    # when the retry runs with the server accepting again
    refusing_sink.refuse_after = None
    result = campaign_batch_send(batch_id=batch.pk, job_id=None)
    # then only the two not yet sent get their email, and each user one
    assert result == {"sent": 2, "already_sent": 1, "skipped": 0}
    received = [m["to"][0] for m in refusing_sink.messages]
    assert received[0] == users[0].email
    assert sorted(received[1:]) == sorted(u.email for u in users[1:])
    campaign.refresh_from_db()
    assert (campaign.status, campaign.sent_count) == (CampaignStatus.SENT, 3)


# --- the BATCH window ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_campaign_jobs_wait_for_the_window_unless_forced(
    settings, closed_window, purge_broker
):
    settings.CAMPAIGN_BATCH_SIZE = 1
    for _ in range(2):
        subscriber()
    held, forced = new_campaign(), new_campaign(forced=True)
    with transaction.atomic():
        campaign_send(campaign_id=held.pk, now=timezone.now())
        campaign_send(campaign_id=forced.pk, now=timezone.now())
    # then only the forced campaign's fan-out is published
    assert jobs_publish_due() == 1
    published = JobRecord.objects.get(published_at__isnull=False)
    assert (published.payload, published.forced) == ({"campaign_id": forced.pk}, True)
    assert broker.queue_size("batch") == 1
    # and the forced campaign's batches are forced too
    assert run_job_inline(str(published.pk)) == JobStatus.SUCCEEDED
    assert jobs_publish_due() == 2
    children = jobs_of("notifications.campaign_batch")
    assert [(job.forced, job.published_at is not None) for job in children] == [
        (True, True),
        (True, True),
    ]
    # when the window opens, the held campaign goes too
    now = timezone.localtime()
    start = (now - timedelta(minutes=5)).strftime("%H:%M")
    end = (now + timedelta(minutes=5)).strftime("%H:%M")
    settings.JOB_BATCH_WINDOW = f"{start}-{end}"
    assert jobs_publish_due() == 1
    assert JobRecord.objects.filter(published_at__isnull=True).count() == 0


# --- end to end: worker, relay, SMTP sink, unsubscribe link -------------------------


def unsubscribe_link(message: Any) -> str:
    # A long header may be folded (RFC 5322); unfolded it is one <URL>.
    header = "".join(message["List-Unsubscribe"].split())
    assert header.startswith("<") and header.endswith(">")
    url = urlsplit(header[1:-1])
    assert url.path == UNSUBSCRIBE_PATH
    return f"{url.path}?{url.query}"


def marketing_on(user: Any) -> bool:
    return NotificationPreferences.objects.get(user=user).email_marketing


@pytest.mark.django_db(transaction=True)
def test_forced_campaign_reaches_the_sink_and_its_unsubscribe_link_works(
    settings, closed_window, smtp_sink, thread_worker, relay, api_client
):
    settings.CAMPAIGN_BATCH_SIZE = 2
    ada = subscriber(first_name="Ada", last_name="O'Hara", email="ada@example.com")
    bob = subscriber(first_name="Bob", email="bob@example.com")
    cy = subscriber(first_name="Cy", email="cy@example.com")
    UserFactory(email="nope@example.com")
    campaign = new_campaign(forced=True)
    thread_worker()
    relay()
    # when
    with transaction.atomic():
        campaign_send(campaign_id=campaign.pk, now=timezone.now())
    # then every subscriber gets one personalised email, in spite of the window
    messages = {m["to"][0]: m["message"] for m in smtp_sink.wait_for(3)}
    assert set(messages) == {ada.email, bob.email, cy.email}
    ada_mail = messages[ada.email]
    assert ada_mail["Subject"] == "News for Ada"
    assert ada_mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in ada_mail.walk()
        if not p.is_multipart()
    }
    assert "Hello Ada O'Hara!" in parts["text/plain"]
    assert "Hello Ada O&#x27;Hara!" in parts["text/html"]
    link = unsubscribe_link(ada_mail)
    assert link.split("?", 1)[1].removeprefix("token=") in parts["text/plain"]
    campaign = wait_until(
        lambda: Campaign.objects.filter(pk=campaign.pk, status="sent").first()
    )
    assert (campaign.recipients_count, campaign.sent_count) == (3, 3)
    assert EmailLog.objects.filter(template="campaign", status="sent").count() == 3
    # when Ada follows her link (GET)
    response = api_client.get(link)
    # then
    assert response.status_code == 200
    assert response.json() == {
        "unsubscribed": True,
        "channel": "email",
        "category": "marketing",
    }
    assert response["Cache-Control"] == "private, no-store"
    assert marketing_on(ada) is False
    assert marketing_on(bob) is True
    # when Bob's mail client makes the RFC 8058 one-click POST
    response = api_client.post(
        unsubscribe_link(messages[bob.email]),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION="Bearer stale",
    )
    assert response.status_code == 200
    assert marketing_on(bob) is False
    assert marketing_on(cy) is True
    # clicking again is harmless
    assert api_client.get(link).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    ["", "?token=", "?token=garbage", "?token=eyJ1Ijo.forged.sig"],
)
def test_bad_unsubscribe_token_is_400(api_client, query):
    for method in ("get", "post"):
        response = getattr(api_client, method)(f"{UNSUBSCRIBE_PATH}{query}")
        assert response.status_code == 400
        assert response.json() == {
            "detail": "The unsubscribe link is invalid.",
            "code": "invalid_token",
        }


@pytest.mark.django_db
def test_a_token_signed_for_something_else_is_refused(api_client):
    user = subscriber()
    other_salt = signing.dumps({"u": user.pk, "c": "marketing"}, salt="other")
    response = api_client.get(UNSUBSCRIBE_PATH, {"token": other_salt})
    assert response.status_code == 400
    unknown_user = unsubscribe_token(user_id=10**9, category="marketing")
    assert api_client.get(UNSUBSCRIBE_PATH, {"token": unknown_user}).status_code == 400
    assert marketing_on(user) is True


# --- admin ------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_send_action_queues_the_fan_out(admin_client):
    draft, done = new_campaign(), new_campaign(status=CampaignStatus.SENT)
    response = admin_client.post(
        reverse("admin:accounts_campaign_changelist"),
        {"action": "send_selected", "_selected_action": [draft.pk, done.pk]},
        follow=True,
    )
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.status == CampaignStatus.SENDING
    (job,) = jobs_of("notifications.campaign_fanout")
    assert job.payload == {"campaign_id": draft.pk}
    done.refresh_from_db()
    assert done.status == CampaignStatus.SENT


@pytest.mark.django_db
def test_admin_pages_render(admin_client):
    user = subscriber()
    campaign = new_campaign()
    for url in (
        reverse("admin:accounts_campaign_changelist"),
        reverse("admin:accounts_campaign_add"),
        reverse("admin:accounts_campaign_change", args=[campaign.pk]),
        reverse("admin:accounts_notification_changelist"),
        reverse("admin:accounts_notificationpreferences_changelist"),
        reverse("admin:accounts_user_change", args=[user.pk]),
    ):
        assert admin_client.get(url).status_code == 200, url
    page = admin_client.get(reverse("admin:accounts_user_change", args=[user.pk]))
    assert b"marketing=on" in page.content


@pytest.mark.django_db
def test_admin_add_records_the_author_and_time(admin_client, admin_user):
    before = timezone.now()
    response = admin_client.post(
        reverse("admin:accounts_campaign_add"),
        {"subject": "Hi {{ first_name }}", "body": "Hello", "forced": ""},
    )
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert (campaign.created_by, campaign.status) == (admin_user, CampaignStatus.DRAFT)
    assert before <= campaign.created_at <= timezone.now()


@pytest.mark.django_db
def test_admin_refuses_a_broken_template(admin_client):
    response = admin_client.post(
        reverse("admin:accounts_campaign_add"),
        {"subject": "Hi {{ first_name", "body": "{% if %}", "forced": ""},
    )
    assert response.status_code == 200  # the form again, with errors
    assert not Campaign.objects.exists()
    assert b"Template error" in response.content
