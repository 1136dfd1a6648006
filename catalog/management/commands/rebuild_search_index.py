"""``manage.py rebuild_search_index``: rebuild the product search index."""

from argparse import ArgumentParser

from django.core.management.base import BaseCommand

from catalog.services import SEARCH_INDEX, search_index_rebuild


class Command(BaseCommand):
    help = (
        "Rebuild the full-text GIN index (REINDEX CONCURRENTLY) and ANALYZE "
        "products. Vectors need no rebuild: search_vector is a generated "
        "column that PostgreSQL maintains on every write."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--locking",
            action="store_true",
            help="Plain REINDEX (faster, blocks writes to products meanwhile).",
        )

    def handle(self, *args: object, **options: object) -> None:
        timings = search_index_rebuild(concurrently=not options["locking"])
        self.stdout.write(
            f"rebuilt {SEARCH_INDEX} in {timings['reindex']:.2f}s, "
            f"analyzed products in {timings['analyze']:.2f}s"
        )
