"""The one clock of accounts: tests move it to freeze or advance time."""

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    """The current time (aware, UTC); every token and deadline check reads it."""
    return timezone.now()
