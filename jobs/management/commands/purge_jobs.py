from django.conf import settings
from django.core.management.base import BaseCommand

from jobs.services import jobs_purge


class Command(BaseCommand):
    help = "Delete finished jobs past JOB_KEEP_SUCCEEDED_DAYS / JOB_KEEP_FAILED_DAYS."

    def handle(self, *args: object, **options: object) -> None:
        removed = jobs_purge()
        keep_ok, keep_failed = (
            settings.JOB_KEEP_SUCCEEDED_DAYS,
            settings.JOB_KEEP_FAILED_DAYS,
        )
        self.stdout.write(
            f"removed {removed['succeeded']} succeeded job(s) older than "
            f"{keep_ok} days and {removed['failed']} failed or cancelled job(s) "
            f"older than {keep_failed} days"
        )
