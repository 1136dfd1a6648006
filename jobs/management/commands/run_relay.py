from django.core.management.base import BaseCommand

from jobs.relay import run_forever


class Command(BaseCommand):
    help = "Publish due jobs, re-queue lapsed leases, re-publish lost messages."

    def handle(self, *args: object, **options: object) -> None:
        run_forever()
