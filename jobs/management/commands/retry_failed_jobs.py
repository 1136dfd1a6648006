from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from config.dates import day_start
from jobs.enums import JobStatus
from jobs.models import JobRecord
from jobs.services import jobs_retry


class Command(BaseCommand):
    help = "Queue failed jobs again, with fresh attempts."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--type", help="only jobs of this type, e.g. email.send")
        parser.add_argument("--since", help="only jobs created on or after YYYY-MM-DD")

    def handle(self, *args: object, **options: str | None) -> None:
        failed = JobRecord.objects.filter(status=JobStatus.FAILED)
        if options["type"]:
            failed = failed.filter(type=options["type"])
        if options["since"]:
            try:
                day = datetime.strptime(options["since"], "%Y-%m-%d").date()
            except ValueError as exc:
                raise CommandError("--since takes a date as YYYY-MM-DD") from exc
            failed = failed.filter(created_at__gte=day_start(day))
        count = jobs_retry(job_ids=list(failed.values_list("pk", flat=True)))
        self.stdout.write(f"{count} failed job(s) queued again")
