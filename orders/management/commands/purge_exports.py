"""``manage.py purge_exports``: delete order exports past retention."""

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from orders.services import order_exports_purge


class Command(BaseCommand):
    help = (
        "Delete order exports (rows and CSV files) older than ORDER_EXPORT_KEEP_DAYS."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        done = order_exports_purge(now=timezone.now())
        self.stdout.write(f"deleted {done['deleted']} export(s)")
