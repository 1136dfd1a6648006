"""Whole days in ``TIME_ZONE``: where a day starts and ends as aware
datetimes (for ``[start, end)`` filters), and dates as command arguments."""

import argparse
from datetime import date, datetime, time, timedelta

from django.utils import timezone


def day_start(day: date) -> datetime:
    """Local midnight at the start of ``day``, aware."""
    return timezone.make_aware(datetime.combine(day, time.min))


def days_bounds(first: date, last: date | None = None) -> tuple[datetime, datetime]:
    """``[start, end)`` of the whole days ``first`` to ``last`` (default: the
    one day ``first``); a DST day is 23 or 25 hours long, not 24."""
    return day_start(first), day_start((last or first) + timedelta(days=1))


def iso_date(value: str) -> date:
    """A management command's ``type=`` for YYYY-MM-DD arguments: a bad
    value is a usage error (the command's own message, no traceback)."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO date (YYYY-MM-DD): {value!r}"
        ) from None
