"""Writes of reports: build a period's figures, store them, ask for emails."""

import hashlib
from collections.abc import Callable
from datetime import date

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

import jobs
from jobs.models import JobRecord
from monitoring.models import Report, ReportKind
from monitoring.reports.figures import (
    customer_figures,
    performance_figures,
    sales_figures,
)
from monitoring.reports.periods import period_days, report_default_day, report_period
from orders.services import sales_aggregate

logger = structlog.get_logger("bazaar.reports")

GENERATE_JOB = "reports.generate"
EMAIL_JOB = "reports.email"
EMAIL_TEMPLATE = "report"

_BUILDERS: dict[str, Callable[..., dict]] = {
    ReportKind.DAILY_SALES: sales_figures,
    ReportKind.WEEKLY_SALES: sales_figures,
    ReportKind.CUSTOMERS: customer_figures,
    ReportKind.PERFORMANCE: performance_figures,
}
_SALES = (ReportKind.DAILY_SALES, ReportKind.WEEKLY_SALES)


@transaction.atomic
def report_generate(
    *, kind: str, day: date | None = None, email: bool = False
) -> Report:
    """Build the ``kind`` report of the period holding ``day`` (default: the
    last complete one) and store it, replacing that period's earlier figures.

    Sales reports first rebuild the period's ``DailySales`` (the nightly run
    may not have seen late payments or cancellations), so their top lists
    agree with the order totals. With ``email``, one ``reports.email`` job
    per ``REPORT_RECIPIENTS`` address commits with the report.
    """
    kind = ReportKind(kind)
    first, last = report_period(kind=kind, day=day or report_default_day(kind=kind))
    if kind in _SALES:
        sales_aggregate(dates=period_days(first, last))
    figures = _BUILDERS[kind](first=first, last=last)
    report, created = Report.objects.update_or_create(
        kind=kind,
        period_start=first,
        defaults={
            "period_end": last,
            "figures": figures,
            "generated_at": timezone.now(),
        },
    )
    logger.info(
        "report_generated",
        kind=kind.value,
        period_start=first.isoformat(),
        report_id=report.pk,
        replaced=not created,
    )
    if email:
        report_email_request(report=report)
    return report


def report_email_request(*, report: Report) -> list[JobRecord]:
    """Queue the report's email to each ``REPORT_RECIPIENTS`` address (none
    when the list is empty). A still-queued email of the same report and
    address is reused: it renders the stored figures when it runs."""
    queued = []
    for address in settings.REPORT_RECIPIENTS:
        digest = hashlib.sha256(address.lower().encode()).hexdigest()[:16]
        queued.append(
            jobs.enqueue(
                EMAIL_JOB,
                {"report_id": report.pk, "to": address, "template": EMAIL_TEMPLATE},
                dedupe_key=f"{EMAIL_JOB}:{report.pk}:{digest}",
            )
        )
    return queued
