from django.core.management.base import BaseCommand

from catalog.warming import cache_warm


class Command(BaseCommand):
    help = "Build the response-cache entries of the busiest catalog pages now."

    def handle(self, *args: object, **options: object) -> None:
        report = cache_warm()
        self.stdout.write(
            f"warmed {report['keys']} key(s) ({report['built']} built, "
            f"{report['present']} already present, {report['failed']} failed, "
            f"{report['bypassed']} bypassed) in {report['seconds']} s"
        )
