from django.core.management.base import BaseCommand, CommandError

from jobs.periodic import schedules_sync
from jobs.registry import UnknownJobType


class Command(BaseCommand):
    help = (
        "Write the schedules of jobs/schedules.py into django-celery-beat's tables "
        "(idempotent; the admin's enabled flag and schedule edits are kept)."
    )

    def handle(self, *args: object, **options: object) -> None:
        try:
            report = schedules_sync()
        except (UnknownJobType, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        for outcome, names in vars(report).items():
            for name in names:
                self.stdout.write(f"{outcome}: {name}")
        if report.kept:
            self.stdout.write(
                "kept: the schedule set in the admin stands against the code's"
            )
        if not any(vars(report).values()):
            self.stdout.write("schedules up to date")
