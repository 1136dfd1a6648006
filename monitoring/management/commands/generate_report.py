"""``manage.py generate_report``: any report, on demand (as the scheduled job)."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from config.dates import iso_date
from monitoring.models import ReportKind
from monitoring.reports.services import report_generate


class Command(BaseCommand):
    help = (
        "Build and store a report: --kind daily (sales), weekly (sales of the "
        "ISO week holding --date), customers (weekly customer insights) or "
        "performance (daily system performance). Default date: the last "
        "complete day or week. --email also queues it to REPORT_RECIPIENTS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, choices=ReportKind.values)
        parser.add_argument("--date", type=iso_date, dest="day", metavar="YYYY-MM-DD")
        parser.add_argument("--email", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"]
        if email and not settings.REPORT_RECIPIENTS:
            self.stderr.write("REPORT_RECIPIENTS is empty: no email queued.")
        report = report_generate(kind=options["kind"], day=options["day"], email=email)
        self.stdout.write(f"report {report.pk}: {report}")
        if email and settings.REPORT_RECIPIENTS:
            self.stdout.write(
                f"email queued to {len(settings.REPORT_RECIPIENTS)} recipient(s)"
            )
