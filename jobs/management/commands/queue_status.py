import json

from django.core.management.base import BaseCommand

from jobs.selectors import job_counts, queue_status


class Command(BaseCommand):
    help = "Broker depth and outbox counts per queue, oldest queued age."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args: object, **options: object) -> None:
        queues = queue_status()
        counts = job_counts()
        if options["json"]:
            self.stdout.write(json.dumps({"queues": queues, "jobs": counts}, indent=2))
            return
        self.stdout.write(
            f"{'queue':<10}{'broker':>8}{'queued':>8}{'running':>9}  oldest"
        )
        for row in queues:
            depth = "?" if row["broker_depth"] is None else row["broker_depth"]
            oldest = row["oldest_queued_seconds"]
            age = "-" if oldest is None else f"{oldest:.0f}s"
            queued, running = row["queued"], row["running"]
            self.stdout.write(
                f"{row['queue']:<10}{depth!s:>8}{queued:>8}{running:>9}  {age}"
            )
        self.stdout.write(
            "jobs by status: "
            + ", ".join(f"{status}={n}" for status, n in counts["status"].items())
        )
