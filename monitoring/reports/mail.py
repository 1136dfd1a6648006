"""The ``reports.email`` job's delivery: the stored report as HTML with its
charts inline, a plain-text part, and the CSV attached.

Charts travel as ``cid:`` images in a multipart/related part (many mail
clients block data: URIs). Like ``email.send``, each message has an
``EmailLog`` from the moment it is queued and a Message-ID fixed from the job,
and a job whose log says "sent" never sends again.
"""

from email.mime.image import MIMEImage
from typing import Any

import structlog
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import SafeMIMEMultipart

from jobs.enums import EmailStatus
from jobs.exceptions import PermanentJobError
from jobs.mail import email_log_for, email_log_send, email_render
from jobs.models import JobRecord
from monitoring.models import Report
from monitoring.reports.charts import report_charts
from monitoring.reports.render import report_context, report_csv, report_csv_name

logger = structlog.get_logger("bazaar.reports")


class RelatedEmail(EmailMultiAlternatives):
    """An email whose HTML refers to inline images by Content-ID.

    Django builds mixed > alternative; this wraps the alternative in a
    multipart/related with the images: mixed > related > (alternative, PNGs).
    """

    def __init__(self, *args: Any, images: dict[str, bytes], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.images = images  # Content-ID (no brackets) -> PNG

    def _create_alternatives(self, msg: Any) -> Any:
        msg = super()._create_alternatives(msg)
        if not self.images:
            return msg
        related = SafeMIMEMultipart(
            _subtype="related", encoding=self.encoding or settings.DEFAULT_CHARSET
        )
        related.attach(msg)
        for cid, png in self.images.items():
            image = MIMEImage(png, "png")
            image.add_header("Content-ID", f"<{cid}>")
            image.add_header(
                "Content-Disposition", "inline", filename=f"{cid.split('@')[0]}.png"
            )
            related.attach(image)
        return related


def report_email_deliver(*, job: JobRecord) -> dict[str, Any]:
    """Send the report of ``job`` to its address; idempotent once sent."""
    log = email_log_for(job)
    if log.status == EmailStatus.SENT:
        return {"email_log_id": log.pk, "already_sent": True}
    report = Report.objects.filter(pk=job.payload["report_id"]).first()
    if report is None:
        raise PermanentJobError(f"report {job.payload['report_id']} no longer exists")
    charts = report_charts(kind=report.kind, figures=report.figures)
    cids = {chart.name: f"{chart.name}.{report.pk}@report.bazaar" for chart in charts}
    context = report_context(
        report, charts=charts, chart_src=lambda chart: f"cid:{cids[chart.name]}"
    )
    subject, text, html = email_render(template=log.template, context=context)
    message = RelatedEmail(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[log.recipient],
        headers={"Message-ID": log.message_id},
        connection=get_connection(timeout=settings.EMAIL_TIMEOUT),
        images={cids[chart.name]: chart.png for chart in charts},
    )
    message.attach_alternative(html, "text/html")
    message.attach(report_csv_name(report), report_csv(report), "text/csv")
    email_log_send(log, message)
    Report.objects.filter(pk=report.pk).update(emailed_at=log.sent_at)
    logger.info("report_emailed", report_id=report.pk, email_log_id=log.pk)
    return {"email_log_id": log.pk, "message_id": log.message_id}
