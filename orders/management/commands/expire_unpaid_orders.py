"""``manage.py expire_unpaid_orders``: the ``orders.expire_unpaid`` job, by hand."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from orders.services import orders_expire_unpaid


class Command(BaseCommand):
    help = "Cancel pending orders unpaid after ORDER_PAYMENT_MINUTES; restock them."

    def handle(self, *args: Any, **options: Any) -> None:
        done = orders_expire_unpaid()
        self.stdout.write(
            f"expired {done['expired']} order(s) unpaid after "
            f"{settings.ORDER_PAYMENT_MINUTES} minutes "
            f"({done['skipped']} busy, left for the next run)"
        )
