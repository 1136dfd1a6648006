"""``manage.py performance_snapshot``: the periodic performance log line, now."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from monitoring.services import performance_snapshot_log


class Command(BaseCommand):
    help = (
        "Log (and print as JSON) the last --minutes' request, cache, queue, job "
        "and slow-query figures; default PERFORMANCE_LOG_INTERVAL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--minutes", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["minutes"] is not None and options["minutes"] < 1:
            raise CommandError("--minutes must be at least 1")
        snapshot = performance_snapshot_log(
            now=timezone.now(), minutes=options["minutes"]
        )
        self.stdout.write(json.dumps(snapshot, cls=DjangoJSONEncoder, indent=2))
