"""``manage.py seed_demo``: load deterministic demo data (development only)."""

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders.demo import (
    DEMO_ADMIN_EMAIL,
    DEMO_PASSWORD,
    DEMO_SELLER_EMAIL,
    DemoDataError,
    DemoDataPresentError,
    demo_is_empty,
    demo_seed,
)

SKIPPED = "demo data present, skipping"


def _count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return number


class Command(BaseCommand):
    """Thin wrapper over ``orders.demo.demo_seed``: options in, summary out."""

    help = (
        "Load deterministic demo users, categories, products and orders. "
        "Refuses to touch existing data unless --reset is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--products", type=_count, default=1000)
        parser.add_argument("--users", type=_count, default=50, help="shoppers")
        parser.add_argument("--orders", type=_count, default=200)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--reset",
            action="store_true",
            help="delete all orders, products, categories and demo accounts first",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing (exit 0) when the catalog already has products",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and not demo_is_empty():
            self.stdout.write(SKIPPED)
            return
        try:
            result = demo_seed(
                products=options["products"],
                users=options["users"],
                orders=options["orders"],
                seed=options["seed"],
                reset=options["reset"],
            )
        except DemoDataPresentError as exc:
            if options["if_empty"]:  # another seeder won the race
                self.stdout.write(SKIPPED)
                return
            raise CommandError(
                f"{exc} Pass --reset to delete it and seed again."
            ) from exc
        except DemoDataError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded in {result.elapsed_seconds:.1f} s "
                f"(seed {options['seed']})."
            )
        )
        for label, figure in (
            ("shoppers", result.shoppers),
            ("sellers", result.sellers),
            ("categories", result.categories),
            ("products", result.products),
            ("orders", result.orders),
            ("order lines", result.order_items),
        ):
            self.stdout.write(f"  {label:<12}{figure:>10,}")
        self.stdout.write("Log in with (development only):")
        self.stdout.write(f"  superuser   {DEMO_ADMIN_EMAIL} / {DEMO_PASSWORD}")
        self.stdout.write(f"  seller      {DEMO_SELLER_EMAIL} / {DEMO_PASSWORD}")
