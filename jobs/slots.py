"""Slots: the instants a schedule is due, computed alike in every beat process.

A scheduled run is named after its slot, so two beats agree on it without
talking to each other. Intervals count from the Unix epoch (every 60 s falls
on the minute, every 30 min on :00 and :30), whenever a beat started;
crontabs match in their own time zone. Only the latest slot at or before now
matters: after an outage a schedule runs once, not once per missed slot.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from celery import schedules

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# A crontab with no match this far back (31 February...) is never due.
CRONTAB_LOOKBACK_DAYS = 366 * 8
# Checked again after this long when nothing sooner is known.
NEVER = 24 * 3600.0


def interval_slot(every: timedelta, now: datetime) -> tuple[datetime, datetime]:
    """The latest slot at or before ``now`` and the one after it (UTC)."""
    step = every // _MICROSECOND
    if step <= 0:
        raise ValueError("an interval must be positive")
    elapsed = (now - EPOCH) // _MICROSECOND
    start = EPOCH + timedelta(microseconds=elapsed - elapsed % step)
    return start, start + timedelta(microseconds=step)


def _day_matches(cron: schedules.crontab, day: date) -> bool:
    # Celery's crontab wants day of month AND day of week (0 = Sunday) to match.
    return (
        day.month in cron.month_of_year
        and day.day in cron.day_of_month
        and day.isoweekday() % 7 in cron.day_of_week
    )


def _localize(day: date, hour: int, minute: int, tz: Any) -> datetime:
    naive = datetime.combine(day, time(hour, minute))
    if hasattr(tz, "localize"):  # a pytz zone
        return tz.localize(naive)
    return naive.replace(tzinfo=tz)


def crontab_slot(cron: schedules.crontab, now: datetime) -> datetime | None:
    """The latest instant at or before ``now`` the crontab matches (UTC)."""
    tz = getattr(cron, "tz", None) or UTC
    local = now.astimezone(tz)
    hours = sorted(cron.hour, reverse=True)
    minutes = sorted(cron.minute, reverse=True)
    for back in range(CRONTAB_LOOKBACK_DAYS):
        day = local.date() - timedelta(days=back)
        if not _day_matches(cron, day):
            continue
        for hour in hours:
            if back == 0 and hour > local.hour:
                continue
            for minute in minutes:
                if back == 0 and hour == local.hour and minute > local.minute:
                    continue
                slot = _localize(day, hour, minute, tz)
                if slot <= now:  # a DST jump can push a local time past now
                    return slot.astimezone(UTC)
    return None


def latest_slot(schedule: Any, now: datetime) -> tuple[datetime | None, float]:
    """The latest slot at or before ``now`` (None: not due yet, or never), and
    the seconds until the schedule should be looked at again."""
    if isinstance(schedule, schedules.crontab):
        # Crontabs have minute resolution: the next minute may bring a slot.
        following_minute = 60 - now.second - now.microsecond / 1_000_000
        return crontab_slot(schedule, now), following_minute
    clocked_time = getattr(schedule, "clocked_time", None)
    if clocked_time is not None:  # django-celery-beat's one-off "clocked"
        if clocked_time <= now:
            return clocked_time.astimezone(UTC), NEVER
        return None, (clocked_time - now).total_seconds()
    if isinstance(schedule, schedules.schedule):
        slot, following = interval_slot(schedule.run_every, now)
        return slot, (following - now).total_seconds()
    return None, NEVER  # solar and other kinds are not supported
