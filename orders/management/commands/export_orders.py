"""``manage.py export_orders``: an orders CSV export, queued like the admin's,
or built right here with ``--inline``."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.dates import iso_date
from jobs.enums import LIVE_STATUSES, JobStatus
from jobs.models import JobRecord
from jobs.runner import run_job_inline
from orders.enums import OrderStatus
from orders.services import ExportRangeInvalid, order_export_request

# How often --inline looks at a job a worker took first.
POLL_SECONDS = 0.5


class Command(BaseCommand):
    help = (
        "Export the lines of orders created from --from to --to (whole days in "
        "TIME_ZONE, both included) to CSV in media storage. Queued as a BATCH "
        "job (off-peak unless --force); --inline builds it in this process."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="date_from", type=iso_date, required=True)
        parser.add_argument("--to", dest="date_to", type=iso_date, required=True)
        parser.add_argument("--status", choices=OrderStatus.values)
        parser.add_argument(
            "--force", action="store_true", help="run now, not in the off-peak window"
        )
        parser.add_argument(
            "--inline",
            action="store_true",
            help="run the export's job in this process and print the file",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            export = order_export_request(
                user=None,
                date_from=options["date_from"],
                date_to=options["date_to"],
                status=options["status"],
                force=options["force"],
            )
        except ExportRangeInvalid as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"export {export.pk} queued as job {export.job_id}")
        if not options["inline"]:
            return
        self._run(export.job_id)
        export.refresh_from_db()
        if not export.ready:
            job = JobRecord.objects.get(pk=export.job_id)
            raise CommandError(f"export {export.pk} failed: {job.error}")
        self.stdout.write(f"{export.rows} row(s) written to {export.path}")

    def _run(self, job_id: Any) -> None:
        """Run the job's attempts here, as a worker would (the job ends up
        succeeded, so no worker runs it again); if a worker claimed it first,
        wait for that worker instead."""
        while True:
            status = run_job_inline(job_id)
            if status is None:  # not claimable: a worker has it, or it finished
                status = JobRecord.objects.get(pk=job_id).status
                if status in LIVE_STATUSES:
                    time.sleep(POLL_SECONDS)
                    continue
            if status != JobStatus.QUEUED:  # queued: a retry is due
                return
