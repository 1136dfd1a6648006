"""``manage.py cleanup_sessions``: delete long-dead sessions and spent codes."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts import clock
from accounts.services import sessions_cleanup
from accounts.services.maintenance import DEAD_SESSION_DAYS


class Command(BaseCommand):
    help = "Delete sessions dead for over 30 days and spent or expired one-time codes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than-days", type=int, default=DEAD_SESSION_DAYS)

    def handle(self, *args: Any, **options: Any) -> None:
        done = sessions_cleanup(
            now=clock.now(), older_than_days=options["older_than_days"]
        )
        self.stdout.write(
            f"deleted {done['sessions']} session(s), {done['codes']} code(s)"
        )
