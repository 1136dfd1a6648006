from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from jobs.models import JobRecord
from jobs.runner import run_job_inline


class Command(BaseCommand):
    help = "Run one queued job now, in this process (for debugging)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("job_id")

    def handle(self, *args: object, **options: str) -> None:
        try:
            job = JobRecord.objects.get(pk=options["job_id"])
        except (JobRecord.DoesNotExist, ValidationError) as exc:
            raise CommandError(f"no job {options['job_id']!r}") from exc
        status = run_job_inline(str(job.pk))
        if status is None:
            raise CommandError(
                f"job {job.pk} is {job.status}: only queued jobs run "
                "(retry a failed one first: retry_failed_jobs or the admin)"
            )
        job.refresh_from_db()
        self.stdout.write(f"job {job.pk}: {job.status} after attempt {job.attempts}")
        if job.error:
            self.stdout.write(job.error)
