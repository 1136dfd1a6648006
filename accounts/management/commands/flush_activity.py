"""``manage.py flush_activity``: write the queued user-activity events now."""

from typing import Any

from django.core.management.base import BaseCommand

from accounts.activity import activity_flush
from catalog.selectors import product_ids_by_slug


class Command(BaseCommand):
    help = (
        "Write the user-activity events queued in Redis to the database "
        "(the analytics.flush_activity job, run every minute by beat)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        done = activity_flush(resolve_slugs=product_ids_by_slug)
        if done.get("busy"):
            self.stdout.write("another flush is running; nothing done")
            return
        self.stdout.write(
            f"stored {done['events']} event(s), skipped {done['skipped']}"
        )
