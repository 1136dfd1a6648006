"""Marketing campaigns: send (fan-out into batches), one email per recipient.

Send queues one BATCH fan-out job; the fan-out pages through the audience in
id order and records one ``CampaignBatch`` (a user id range) plus one batch
job per page. A batch job re-reads its range when it runs, so users who
opted out (or were deleted) after the fan-out are skipped. Each recipient's
email has an ``EmailLog`` whose Message-ID is fixed by (campaign, user): that
unique id is what makes a batch that runs twice send nobody twice.
"""

from datetime import datetime
from functools import lru_cache
from typing import Any

import structlog
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F, QuerySet
from django.template import Context, Engine
from django.utils import timezone

import jobs
from accounts.enums import CampaignStatus, NotificationCategory
from accounts.exceptions import CampaignNotDraft
from accounts.models import Campaign, CampaignBatch, User
from accounts.unsubscribe import unsubscribe_token
from jobs.enums import EmailStatus
from jobs.mail import email_log_send, email_render, message_id
from jobs.models import EmailLog

logger = structlog.get_logger("bazaar.campaigns")

CATEGORY = NotificationCategory.MARKETING
TEMPLATE = "campaign"


def campaign_audience() -> QuerySet[User]:
    """Active, not deleted users who accept marketing email, in id order."""
    return User.objects.filter(
        is_active=True,
        deleted_at__isnull=True,
        notification_preferences__email_marketing=True,
    ).order_by("pk")


@lru_cache(maxsize=1)
def _text_engine() -> Engine:
    # Campaign texts are plain text: no HTML escaping of names like O'Brien
    # (the HTML part escapes the rendered text once, in its template). The
    # rendering Context says so too: it, not the engine, decides.
    return Engine(autoescape=False)


def _render_text(source: str, values: Context) -> str:
    # Template.render marks its output safe, but this is plain text (a name
    # may hold "<" or "'"): drop the mark so the HTML part escapes it.
    return "".join(_text_engine().from_string(source).render(values))


def campaign_template_check(*, text: str) -> None:
    """Raise ``django.template.TemplateSyntaxError`` if ``text`` does not compile
    (checked when staff save a campaign, not when the batches run)."""
    _text_engine().from_string(text)


@transaction.atomic
def campaign_send(*, campaign_id: int, now: datetime) -> Campaign:
    """Start sending a draft: one BATCH fan-out job, forced if the campaign is.

    The job waits for the off-peak window (``JOB_BATCH_WINDOW``) unless forced.
    """
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    if campaign.status != CampaignStatus.DRAFT:
        raise CampaignNotDraft()
    campaign.status = CampaignStatus.SENDING
    campaign.started_at = now
    campaign.save(update_fields=["status", "started_at"])
    jobs.enqueue(
        "notifications.campaign_fanout",
        {"campaign_id": campaign.pk},
        forced=campaign.forced,
        dedupe_key=f"campaign:{campaign.pk}:fanout",
    )
    return campaign


@transaction.atomic
def campaign_fan_out(*, campaign_id: int) -> dict[str, Any]:
    """Split the audience into batches of ``CAMPAIGN_BATCH_SIZE`` and queue a
    job for each. Runs in the job's transaction: batches and their jobs commit
    together or not at all, so a retried fan-out starts clean; one that finds
    batches already recorded queues nothing again."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    if campaign.status != CampaignStatus.SENDING or campaign.batches.exists():
        return {"batches": campaign.batches_count, "already_fanned_out": True}
    size = settings.CAMPAIGN_BATCH_SIZE
    audience = campaign_audience().values_list("pk", flat=True)
    number, after, recipients = 0, 0, 0
    while True:
        ids = list(audience.filter(pk__gt=after)[:size])
        if not ids:
            break
        number += 1
        batch = CampaignBatch.objects.create(
            campaign=campaign,
            number=number,
            first_user_id=ids[0],
            last_user_id=ids[-1],
            size=len(ids),
        )
        jobs.enqueue(
            "notifications.campaign_batch",
            {"campaign_id": campaign.pk, "batch_id": batch.pk},
            forced=campaign.forced,
            dedupe_key=f"campaign:{campaign.pk}:batch:{number}",
        )
        after, recipients = ids[-1], recipients + len(ids)
    campaign.recipients_count = recipients
    campaign.batches_count = number
    update = ["recipients_count", "batches_count"]
    if number == 0:  # nobody to write to: done at once
        campaign.status, campaign.sent_at = CampaignStatus.SENT, timezone.now()
        update += ["status", "sent_at"]
    campaign.save(update_fields=update)
    return {"batches": number, "recipients": recipients}


def _message_id(*, campaign_id: int, user_id: int) -> str:
    return message_id(f"campaign-{campaign_id}-{user_id}")


def campaign_message(
    *, campaign: Campaign, user: User, message_id: str
) -> EmailMultiAlternatives:
    """The email of ``campaign`` for ``user``, with RFC 8058 one-click headers."""
    unsubscribe_url = settings.UNSUBSCRIBE_URL.format(
        token=unsubscribe_token(user_id=user.pk, category=CATEGORY)
    )
    values = Context(
        {
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "site_name": "Bazaar",
        },
        autoescape=False,
    )
    subject, text, html = email_render(
        template=TEMPLATE,
        context={
            "campaign_subject": _render_text(campaign.subject, values),
            "campaign_body": _render_text(campaign.body, values),
            "unsubscribe_url": unsubscribe_url,
        },
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        headers={
            "Message-ID": message_id,
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def campaign_batch_send(*, batch_id: int, job_id: Any) -> dict[str, Any]:
    """Send one batch: an email to each user of its range still in the audience.

    Outside a transaction, so each log's state is committed as it changes. A
    recipient whose log says SENT is not sent again; an SMTP failure stops the
    batch (the job retries and resumes after the ones already sent).
    """
    batch = CampaignBatch.objects.select_related("campaign").get(pk=batch_id)
    campaign = batch.campaign
    recipients = list(
        campaign_audience().filter(
            pk__gte=batch.first_user_id, pk__lte=batch.last_user_id
        )
    )
    sent = already = 0
    connection = get_connection(timeout=settings.EMAIL_TIMEOUT)
    with connection:
        for user in recipients:
            message_id = _message_id(campaign_id=campaign.pk, user_id=user.pk)
            log, _ = EmailLog.objects.get_or_create(
                message_id=message_id,
                defaults={
                    "job_id": job_id,
                    "user": user,
                    "recipient": user.email,
                    "template": TEMPLATE,
                },
            )
            if log.status == EmailStatus.SENT:
                already += 1
                continue
            message = campaign_message(
                campaign=campaign, user=user, message_id=message_id
            )
            message.connection = connection
            if log.job_id != job_id:  # this job takes the attempt over
                log.job_id = job_id
                log.save(update_fields=["job"])
            try:
                email_log_send(log, message)
            except Exception:
                Campaign.objects.filter(pk=campaign.pk).update(
                    sent_count=F("sent_count") + sent
                )
                raise
            sent += 1
    skipped = batch.size - len(recipients)
    _batch_finish(batch=batch, sent=sent, skipped=skipped)
    logger.info(
        "campaign_batch_sent",
        campaign_id=campaign.pk,
        batch=batch.number,
        sent=sent,
        already_sent=already,
        skipped=skipped,
    )
    return {"sent": sent, "already_sent": already, "skipped": skipped}


@transaction.atomic
def _batch_finish(*, batch: CampaignBatch, sent: int, skipped: int) -> None:
    """Count what this run sent; the first finish of a batch counts its skips
    and, when it is the campaign's last, marks the campaign sent."""
    # The campaign's row lock serialises batches finishing at the same time,
    # so exactly one of them sees "no batch left" and marks the campaign sent.
    Campaign.objects.select_for_update().filter(pk=batch.campaign_id).first()
    first_finish = CampaignBatch.objects.filter(
        pk=batch.pk, finished_at__isnull=True
    ).update(finished_at=timezone.now())
    Campaign.objects.filter(pk=batch.campaign_id).update(
        sent_count=F("sent_count") + sent,
        skipped_count=F("skipped_count") + (skipped if first_finish else 0),
    )
    unfinished = CampaignBatch.objects.filter(
        campaign_id=batch.campaign_id, finished_at__isnull=True
    )
    if first_finish and not unfinished.exists():
        Campaign.objects.filter(
            pk=batch.campaign_id, status=CampaignStatus.SENDING
        ).update(status=CampaignStatus.SENT, sent_at=timezone.now())
