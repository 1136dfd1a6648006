"""Report periods: whole days in ``TIME_ZONE``; weeks are ISO weeks."""

from datetime import date, datetime, timedelta

from django.utils import timezone

from config.dates import days_bounds
from monitoring.models import ReportKind

WEEKLY_KINDS = frozenset({ReportKind.WEEKLY_SALES, ReportKind.CUSTOMERS})


def report_period(*, kind: str, day: date) -> tuple[date, date]:
    """First and last day (inclusive) of the ``kind`` report covering ``day``:
    the day itself, or its ISO week, Monday to Sunday."""
    if kind in WEEKLY_KINDS:
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    return day, day


def report_default_day(*, kind: str, today: date | None = None) -> date:
    """The last complete period: yesterday, or a day of last week."""
    today = today or timezone.localdate()
    if kind in WEEKLY_KINDS:
        return today - timedelta(days=today.weekday() + 7)
    return today - timedelta(days=1)


def period_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """Aware ``[start, end)`` of whole days ``first`` to ``last``."""
    return days_bounds(first, last)


def period_days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
