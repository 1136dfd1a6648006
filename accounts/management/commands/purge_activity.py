"""``manage.py purge_activity``: delete user-activity events past retention."""

from typing import Any

from django.core.management.base import BaseCommand

from accounts import clock
from accounts.activity import activity_purge


class Command(BaseCommand):
    help = "Delete user-activity events older than ACTIVITY_KEEP_DAYS."

    def handle(self, *args: Any, **options: Any) -> None:
        done = activity_purge(now=clock.now())
        self.stdout.write(f"deleted {done['deleted']} event(s)")
