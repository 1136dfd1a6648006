"""``manage.py flush_product_views``: fold counted views into popularity now."""

from typing import Any

from django.core.management.base import BaseCommand

from catalog.popularity import product_views_flush


class Command(BaseCommand):
    help = (
        "Add the product views counted in Redis to view_count and popularity "
        "(the analytics.flush_product_views job, run every minute by beat)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        done = product_views_flush()
        self.stdout.write(
            f"flushed {done['views']} view(s) of {done['products']} product(s)"
        )
