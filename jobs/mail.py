"""Email delivery for the ``email.send`` job: render, send once, log status.

Each message gets an ``EmailLog`` when it is enqueued, with a Message-ID fixed
from the job id. If a worker dies after the SMTP server accepted a message but
before the log said so, the retry sends the same Message-ID again, so the copy
is recognisable as a duplicate by the receiving side and in our log.

Secrets an email carries (one-time codes, unlock links) travel in the job's
``sealed`` field, encrypted with a key derived from ``SECRET_KEY``: the jobs
table, its admin pages and the job-status API never show them in clear, and
they are merged into the template context only at render time.
"""

import base64
import hashlib
import json
from email.utils import parseaddr
from typing import Any

import structlog
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.db import connection
from django.template.loader import render_to_string
from django.utils import timezone

from jobs.enums import EmailStatus
from jobs.exceptions import PermanentJobError
from jobs.models import EmailLog, JobRecord

logger = structlog.get_logger("bazaar.mail")

TEMPLATE_DIR = "emails"


def _fernet(secret: str) -> Fernet:
    digest = hashlib.sha256(b"bazaar-job-sealed:" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _sealer() -> MultiFernet:
    # Seal with SECRET_KEY; open with it or any fallback, so rotating the key
    # does not strand emails already queued.
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return MultiFernet([_fernet(secret) for secret in secrets])


def seal(values: dict[str, Any]) -> str:
    """Encrypt template values that must not sit in the jobs table in clear."""
    return _sealer().encrypt(json.dumps(values).encode()).decode()


def unseal(sealed: str) -> dict[str, Any]:
    try:
        return json.loads(_sealer().decrypt(sealed.encode()))
    except InvalidToken:
        # A key rotated away without a fallback: the email cannot be rendered
        # and retrying will not help.
        raise PermanentJobError(
            "the sealed part of this email cannot be decrypted"
        ) from None


def email_payload(
    *, to: str, template: str, context: dict[str, Any], secret: dict[str, Any] | None
) -> dict[str, Any]:
    """The ``email.send`` payload; ``secret`` values are sealed."""
    payload: dict[str, Any] = {"to": to, "template": template, "context": context}
    if secret:
        payload["sealed"] = seal(secret)
    return payload


def email_context(payload: dict[str, Any]) -> dict[str, Any]:
    """The template context of a payload, with its sealed values opened."""
    context = dict(payload.get("context", {}))
    if payload.get("sealed"):
        context.update(unseal(payload["sealed"]))
    return context


def email_render(*, template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """Subject, text and HTML parts of ``templates/emails/<template>.*``."""
    full = {"site_name": "Bazaar", **context}
    subject = render_to_string(f"{TEMPLATE_DIR}/{template}.subject.txt", full)
    text = render_to_string(f"{TEMPLATE_DIR}/{template}.txt", full)
    html = render_to_string(f"{TEMPLATE_DIR}/{template}.html", full)
    return " ".join(subject.split()), text, html


def message_id(local_part: str) -> str:
    """``<local_part@sender's domain>``: the same for every attempt at one
    message, so a resend after a crash is recognisably the same email."""
    domain = (
        parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "bazaar.local"
    )
    return f"<{local_part}@{domain}>"


def message_id_for(job: JobRecord) -> str:
    return message_id(str(job.pk))


def email_log_for(job: JobRecord) -> EmailLog:
    """The log row of an email job (``on_enqueue`` made it; a job enqueued
    before that hook existed gets one now)."""
    log, _ = EmailLog.objects.get_or_create(
        job=job,
        defaults={
            "user_id": job.user_id,
            "recipient": job.payload["to"],
            "template": job.payload["template"],
            "message_id": message_id_for(job),
        },
    )
    return log


_EMAIL_LOG_INSERT = """
    INSERT INTO jobs_emaillog
           (job_id, user_id, recipient, template, subject, status, attempts,
            message_id, error, created_at, sent_at)
    VALUES (%s, %s, %s, %s, '', %s, 0, %s, '', %s, NULL)
"""


def email_log_create(job: JobRecord) -> None:
    """``on_enqueue`` hook: the log row exists from the moment the job does.

    Written out (an email is queued with every order, inside its transaction,
    and the ORM's INSERT costs more to compile than to execute); the model's
    defaults are spelled in the statement.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _EMAIL_LOG_INSERT,
            [
                job.pk,
                job.user_id,
                job.payload["to"],
                job.payload["template"],
                EmailStatus.QUEUED,
                message_id_for(job),
                timezone.now(),
            ],
        )


def email_log_send(log: EmailLog, message: EmailMessage) -> None:
    """Send ``message`` as ``log``'s attempt: the attempt is recorded before
    the SMTP conversation and its outcome after; a failure is recorded and
    re-raised, so the job retries."""
    log.status = EmailStatus.SENDING
    log.subject = str(message.subject)[:300]
    log.attempts += 1
    log.save(update_fields=["status", "subject", "attempts"])
    try:
        message.send()
    except Exception as exc:
        log.status = EmailStatus.FAILED
        log.error = f"{type(exc).__name__}: {exc}"[:2000]
        log.save(update_fields=["status", "error"])
        raise
    log.status = EmailStatus.SENT
    log.sent_at = timezone.now()
    log.error = ""
    log.save(update_fields=["status", "sent_at", "error"])


def email_deliver(*, job: JobRecord) -> dict[str, Any]:
    """Send the email of ``job``; idempotent once it has been sent."""
    log = email_log_for(job)
    if log.status == EmailStatus.SENT:
        return {"email_log_id": log.pk, "already_sent": True}
    subject, text, html = email_render(
        template=log.template, context=email_context(job.payload)
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[log.recipient],
        headers={"Message-ID": log.message_id},
        connection=get_connection(timeout=settings.EMAIL_TIMEOUT),
    )
    message.attach_alternative(html, "text/html")
    email_log_send(log, message)
    logger.info("email_sent", template=log.template, email_log_id=log.pk)
    return {"email_log_id": log.pk, "message_id": log.message_id}
