"""``manage.py customer_insights``: repeat-purchase rate, average order value
and top customers over the last days, as JSON (what the reports use)."""

import json
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from orders.selectors import customer_insights


class Command(BaseCommand):
    help = (
        "Print customer insights (per currency: orders, revenue, average order "
        "value, repeat-purchase rate, top customers) for the last --days days."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--top", type=int, default=10)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["days"] < 1 or options["top"] < 1:
            raise CommandError("--days and --top must be at least 1")
        last = timezone.localdate()
        insights = customer_insights(
            first=last - timedelta(days=options["days"] - 1),
            last=last,
            top=options["top"],
        )
        self.stdout.write(json.dumps(insights, cls=DjangoJSONEncoder, indent=2))
