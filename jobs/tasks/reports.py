"""Report jobs: build a stored report, and email it to a recipient."""

from datetime import date
from typing import Any

from django.conf import settings

from jobs.enums import Backoff, Priority
from jobs.exceptions import payload_parsing
from jobs.mail import email_log_create
from jobs.models import JobRecord
from jobs.registry import job_type
from monitoring.models import ReportKind
from monitoring.reports.mail import report_email_deliver
from monitoring.reports.services import EMAIL_JOB, GENERATE_JOB, report_generate


@job_type(GENERATE_JOB, priority=Priority.LOW)
def generate(job: JobRecord) -> dict[str, Any]:
    """Payload ``{"kind": "daily"|"weekly"|"customers"|"performance",
    "date": "YYYY-MM-DD"}``; without a date, the last complete period. The
    emails to ``REPORT_RECIPIENTS`` commit with the report."""
    with payload_parsing():
        kind = ReportKind(job.payload.get("kind"))
        raw = job.payload.get("date")
        day = date.fromisoformat(raw) if raw else None
    report = report_generate(kind=kind, day=day, email=bool(settings.REPORT_RECIPIENTS))
    return {
        "report_id": report.pk,
        "kind": report.kind,
        "period_start": report.period_start.isoformat(),
        "period_end": report.period_end.isoformat(),
        "emails": len(settings.REPORT_RECIPIENTS),
    }


@job_type(
    EMAIL_JOB,
    priority=Priority.LOW,
    max_attempts=5,
    backoff=Backoff.EXPONENTIAL,
    backoff_base=10.0,
    backoff_cap=600.0,
    atomic=False,  # the log's "sending" state must be visible while we send
    on_enqueue=email_log_create,
)
def email(job: JobRecord) -> dict[str, Any]:
    """Payload ``{"report_id": id, "to": address, "template": "report"}``."""
    return report_email_deliver(job=job)
