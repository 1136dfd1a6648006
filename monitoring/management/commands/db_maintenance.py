"""``manage.py db_maintenance``: ANALYZE, VACUUM where needed, and a summary."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from monitoring.services import db_maintenance


class Command(BaseCommand):
    help = (
        "ANALYZE the hot tables, VACUUM (ANALYZE) tables past the dead-tuple "
        "thresholds, and print the bloat and index-usage summary as JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="report only, change nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        summary = db_maintenance(dry_run=options["dry_run"])
        self.stdout.write(json.dumps(summary, cls=DjangoJSONEncoder, indent=2))
