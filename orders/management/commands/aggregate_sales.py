"""``manage.py aggregate_sales``: the sales aggregation job, by hand."""

from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from config.dates import iso_date
from orders.services import sales_aggregate


class Command(BaseCommand):
    help = (
        "Recompute daily sales aggregates: --date D, the last --days N "
        "(today included), or yesterday and today."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--date", type=iso_date, action="append", dest="dates")
        group.add_argument("--days", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        dates: list[date] | None = options["dates"]
        if options["days"] is not None:
            if options["days"] < 1:
                raise CommandError("--days must be at least 1")
            today = timezone.localdate()
            dates = [today - timedelta(days=n) for n in range(options["days"])]
        result = sales_aggregate(dates=dates)
        self.stdout.write(
            f"aggregated {len(result['dates'])} day(s), "
            f"{len(result['changed'])} changed: {', '.join(result['changed']) or '-'}"
        )
