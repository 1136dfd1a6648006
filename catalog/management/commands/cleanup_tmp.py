"""``manage.py cleanup_tmp``: delete stale temporary uploads."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from catalog.services import tmp_cleanup


class Command(BaseCommand):
    help = (
        "Delete files under MEDIA_ROOT/tmp/ older than TMP_MAX_AGE_HOURS, except "
        "uploads a queued or running image job still needs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than-hours", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        hours = options["older_than_hours"]
        if hours is not None and hours < 0:
            raise CommandError("--older-than-hours cannot be negative")
        done = tmp_cleanup(now=timezone.now(), older_than_hours=hours)
        self.stdout.write(
            f"deleted {done['deleted']} file(s), kept {done['kept']} awaiting a job"
        )
