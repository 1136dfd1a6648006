"""``email.send`` through a real worker to a real SMTP server on loopback."""

import json

import pytest
from django.db import transaction

import jobs
from jobs.enums import EmailStatus, JobStatus, Priority
from jobs.exceptions import PermanentJobError
from jobs.mail import email_context, email_payload, email_render
from jobs.models import EmailLog, JobRecord
from jobs.runner import run_job_inline
from tests.factories import UserFactory
from tests.jobs.conftest import wait_until

TEMPLATES = {
    "welcome": {"user_name": "Ada"},
    "otp": {"code": "123456", "minutes": 10},
    "password_reset": {"code": "654321", "minutes": 10},
    "security_alert": {
        "event": "refresh token reused",
        "when": "2026-11-23 10:00 UTC",
        "ip": "203.0.113.9",
        "user_agent": "Firefox",
        "unlock_url": "https://shop.example/unlock?t=abc",
    },
    "order_confirmation": {
        "order_number": "BZ-2026-000123",
        "items": [{"name": "Lamp & shade", "quantity": 2, "line_total": "39.98"}],
        "subtotal": "39.98",
        "shipping": "5.00",
        "total": "44.98",
        "currency": "USD",
    },
    "order_status": {
        "order_number": "BZ-2026-000123",
        "status": "shipped",
        "tracking_number": "TRK1",
    },
}


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_renders_both_parts(template):
    subject, text, html = email_render(template=template, context=TEMPLATES[template])
    assert subject and "\n" not in subject
    assert "Bazaar" in html and "<html" in html
    assert "<html" not in text and "<p>" not in text
    for value in TEMPLATES[template].values():
        if isinstance(value, str) and value not in ("USD",):
            assert value in text, (template, value)


def test_text_part_is_not_html_escaped():
    _, text, html = email_render(
        template="order_confirmation", context=TEMPLATES["order_confirmation"]
    )
    assert "Lamp & shade" in text
    assert "Lamp &amp; shade" in html


@pytest.mark.django_db(transaction=True)
def test_email_job_reaches_the_smtp_sink_and_logs_delivery(
    smtp_sink, thread_worker, relay
):
    user = UserFactory(email="ada@example.com")
    thread_worker()
    relay()
    with transaction.atomic():
        job = jobs.enqueue(
            "email.send",
            email_payload(
                to=user.email,
                template="otp",
                context={"minutes": 10},
                secret={"code": "482913"},
            ),
            priority=Priority.CRITICAL,
            user=user,
        )
        # the log exists from the moment the job does, in the same transaction
        assert EmailLog.objects.get(job=job).status == EmailStatus.QUEUED
    [delivered] = smtp_sink.wait_for(1)
    message = delivered["message"]
    assert delivered["to"] == ["ada@example.com"]
    # the code is in the body only: subjects are stored in the email log
    assert message["Subject"] == "Your Bazaar verification code"
    assert "482913" not in EmailLog.objects.get(job=job).subject
    assert "482913" not in json.dumps(JobRecord.objects.get(pk=job.pk).payload)
    parts = {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }
    assert "482913" in parts["text/plain"]
    assert "482913" in parts["text/html"]
    log = wait_until(
        lambda: EmailLog.objects.filter(job=job, status=EmailStatus.SENT).first()
    )
    assert message["Message-ID"] == log.message_id == f"<{job.pk}@bazaar.local>"
    assert log.attempts == 1
    assert log.sent_at is not None
    assert log.user == user
    # the log is marked sent inside the handler, the job only after it returns
    assert wait_until(
        lambda: JobRecord.objects.filter(pk=job.pk, status=JobStatus.SUCCEEDED).exists()
    )


@pytest.mark.django_db(transaction=True)
def test_unreachable_smtp_server_is_retried_then_marked_failed(settings, smtp_sink):
    from tests.subprocess_env import closed_port

    settings.EMAIL_PORT = closed_port()
    with transaction.atomic():
        job = jobs.enqueue(
            "email.send", {"to": "x@example.com", "template": "welcome", "context": {}}
        )
    assert run_job_inline(str(job.pk)) == JobStatus.QUEUED  # retry scheduled
    log = EmailLog.objects.get(job=job)
    assert log.status == EmailStatus.FAILED
    assert "ConnectionRefusedError" in log.error
    job.refresh_from_db()
    assert job.max_attempts == 3
    assert run_job_inline(str(job.pk)) == JobStatus.QUEUED
    assert run_job_inline(str(job.pk)) == JobStatus.FAILED
    assert EmailLog.objects.get(job=job).attempts == 3


@pytest.mark.django_db(transaction=True)
def test_resent_email_after_a_crash_keeps_its_message_id(smtp_sink):
    # given a send that reached the server but whose success was never recorded
    with transaction.atomic():
        job = jobs.enqueue(
            "email.send", {"to": "y@example.com", "template": "welcome", "context": {}}
        )
    run_job_inline(str(job.pk))
    EmailLog.objects.filter(job=job).update(status=EmailStatus.SENDING)
    JobRecord.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)
    # when the job runs again
    run_job_inline(str(job.pk))
    # then the duplicate is recognisable: same Message-ID
    first, second = smtp_sink.wait_for(2)
    assert first["message"]["Message-ID"] == second["message"]["Message-ID"]
    # and once recorded as sent, a further delivery sends nothing
    JobRecord.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)
    run_job_inline(str(job.pk))
    assert len(smtp_sink.messages) == 2


def test_sealed_values_open_with_a_fallback_key_after_rotation(settings):
    payload = email_payload(
        to="ada@example.com", template="otp", context={}, secret={"code": "123456"}
    )
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-brand-new-secret-key-" + "x" * 40
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert email_context(payload) == {"code": "123456"}

    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(PermanentJobError):
        email_context(payload)
