"""``manage.py purge_idempotency_keys``: the daily purge job, by hand."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from orders.services import idempotency_keys_purge


class Command(BaseCommand):
    help = "Delete Idempotency-Keys older than IDEMPOTENCY_KEY_HOURS."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = idempotency_keys_purge()
        self.stdout.write(
            f"deleted {deleted} idempotency key(s) older than "
            f"{settings.IDEMPOTENCY_KEY_HOURS} hours"
        )
