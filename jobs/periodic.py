"""Writes of periodic jobs: code's schedules into beat's tables, due slots into jobs.

``schedules_sync`` (``manage.py sync_schedules``) splits a managed
``PeriodicTask`` between code and operators:

- code owns ``task`` (the job type), ``kwargs`` (the payload), ``args``
  (always empty), ``priority`` and ``description``: rewritten on every sync;
- the admin owns ``enabled`` (code's value only seeds a new task),
  ``start_time``, ``expires`` and ``one_off``: never written after creation;
- the schedule (interval or crontab) follows code until an operator changes
  it in the admin; from then on the admin's stands and sync reports it as kept.

A schedule that leaves the code is disabled, never deleted; should it come
back, sync enables it again if sync was what disabled it. Tasks an operator
created in the admin are not sync's business.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import connection, transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

import jobs
from jobs.enums import LIVE_STATUSES, PERIODIC_KEY_PREFIX, PeriodicOutcome
from jobs.models import JobRecord, ScheduleState
from jobs.registry import get_job_type
from jobs.schedules import Schedule, schedule_definitions

logger = structlog.get_logger("bazaar.jobs.periodic")

# pg_advisory_xact_lock key: two deploys syncing at once take turns.
SYNC_LOCK_ID = 0x6A6F6273
DEDUPE_KEY_CHARS = 200  # JobRecord.dedupe_key's max_length


def periodic_dedupe_key(name: str, slot: datetime) -> str:
    """``periodic:<schedule>:<slot in UTC>``, the same in every beat process."""
    instant = slot.astimezone(UTC).isoformat().replace("+00:00", "Z")
    key = f"{PERIODIC_KEY_PREFIX}{name}:{instant}"
    if len(key) > DEDUPE_KEY_CHARS:  # a very long task name: shorten, stay unique
        digest = hashlib.sha256(name.encode()).hexdigest()[:16]
        room = DEDUPE_KEY_CHARS - len(PERIODIC_KEY_PREFIX) - len(instant) - 18
        key = f"{PERIODIC_KEY_PREFIX}{name[:room]}~{digest}:{instant}"
    return key


def periodic_enqueue(
    *,
    name: str,
    job_type: str,
    payload: dict[str, Any],
    priority: int | None,
    slot: datetime,
) -> tuple[PeriodicOutcome, JobRecord | None]:
    """Run ``slot`` of schedule ``name`` once, whichever beat process asks first.

    Commits in a transaction of its own. The schedule's state row is locked,
    so of two beats the second waits, then finds the slot taken: a quiet
    no-op. While the schedule's previous job is still queued or running the
    slot is skipped (taken, logged), not queued behind it.
    """
    with transaction.atomic(durable=True):
        ScheduleState.objects.bulk_create(
            [ScheduleState(name=name)], ignore_conflicts=True
        )
        state = ScheduleState.objects.select_for_update().get(name=name)
        if state.last_slot is not None and slot <= state.last_slot:
            return PeriodicOutcome.DUPLICATE, None
        state.last_slot = slot
        previous = state.last_job_id
        if (
            previous is not None
            and JobRecord.objects.filter(pk=previous, status__in=LIVE_STATUSES).exists()
        ):
            state.skipped_slots += 1
            state.save(update_fields=["last_slot", "skipped_slots"])
            logger.warning(
                "periodic_slot_skipped",
                schedule=name,
                slot=slot.isoformat(),
                live_job_id=str(previous),
            )
            return PeriodicOutcome.SKIPPED, None
        job = jobs.enqueue(
            job_type,
            payload,
            priority=priority,
            dedupe_key=periodic_dedupe_key(name, slot),
        )
        state.last_job = job
        state.save(update_fields=["last_slot", "last_job"])
    return PeriodicOutcome.ENQUEUED, job


# --- Sync: jobs/schedules.py -> django-celery-beat -----------------------------


@dataclass
class SyncReport:
    """Names of the schedules each sync outcome applied to."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # the admin's schedule stands
    disabled: list[str] = field(default_factory=list)  # gone from code


def schedule_spec(task: PeriodicTask) -> str:
    """A task's schedule as comparable text: ``every 60s``, ``cron 15 3 * * * UTC``."""
    if task.interval is not None:
        period = {task.interval.period: task.interval.every}
        seconds = timedelta(**period).total_seconds()
        return f"every {int(seconds) if seconds.is_integer() else seconds}s"
    if task.crontab is not None:
        cron = task.crontab
        fields = (
            cron.minute,
            cron.hour,
            cron.day_of_month,
            cron.month_of_year,
            cron.day_of_week,
        )
        return f"cron {' '.join(fields)} {cron.timezone}"
    return str(task.scheduler or "none")


def _definition_spec(definition: Schedule, tz: str) -> str:
    if definition.every is not None:
        return f"every {definition.every}s"
    return f"cron {' '.join(definition.crontab.split())} {tz}"


def _set_schedule(task: PeriodicTask, definition: Schedule, tz: str) -> None:
    task.interval = task.crontab = task.solar = task.clocked = None
    if definition.every is not None:
        task.interval = (
            IntervalSchedule.objects.filter(
                every=definition.every, period=IntervalSchedule.SECONDS
            )
            .order_by("pk")
            .first()
        ) or IntervalSchedule.objects.create(
            every=definition.every, period=IntervalSchedule.SECONDS
        )
        return
    minute, hour, day_of_month, month_of_year, day_of_week = definition.crontab.split()
    fields = {
        "minute": minute,
        "hour": hour,
        "day_of_month": day_of_month,
        "month_of_year": month_of_year,
        "day_of_week": day_of_week,
        "timezone": tz,
    }
    task.crontab = CrontabSchedule.objects.filter(**fields).order_by(
        "pk"
    ).first() or CrontabSchedule.objects.create(**fields)


def _set_code_fields(task: PeriodicTask, definition: Schedule, priority: int) -> bool:
    """Write the fields code owns; True if any changed."""
    try:
        payload = json.loads(task.kwargs or "{}")
        args = json.loads(task.args or "[]")
    except ValueError:
        payload = args = None
    changed = (
        task.task != definition.job_type
        or payload != definition.payload
        or args != []
        or task.priority != priority
        or task.description != definition.description
    )
    task.task = definition.job_type
    task.kwargs = json.dumps(definition.payload, sort_keys=True)
    task.args = "[]"
    task.priority = priority
    task.description = definition.description
    return changed


def _sync_one(definition: Schedule, tz: str, report: SyncReport) -> None:
    kind = get_job_type(definition.job_type)  # UnknownJobType: a typo in code
    priority = int(
        kind.priority if definition.priority is None else definition.priority
    )
    spec = _definition_spec(definition, tz)
    state, _ = ScheduleState.objects.get_or_create(name=definition.name)
    before = (state.managed, state.synced_schedule, state.retired)
    task = (
        PeriodicTask.objects.select_related("interval", "crontab")
        .filter(name=definition.name)
        .first()
    )
    if task is None:
        task = PeriodicTask(name=definition.name, enabled=definition.enabled)
        _set_code_fields(task, definition, priority)
        _set_schedule(task, definition, tz)
        task.save()
        state.synced_schedule, state.retired = spec, False
        report.created.append(definition.name)
    else:
        changed = _set_code_fields(task, definition, priority)
        current = schedule_spec(task)
        if current == spec:
            state.synced_schedule = spec
        elif current == state.synced_schedule:  # untouched by operators
            _set_schedule(task, definition, tz)
            state.synced_schedule = spec
            changed = True
        else:
            report.kept.append(definition.name)
        if state.retired:  # back in code after sync had disabled it
            state.retired = False
            changed = changed or not task.enabled
            task.enabled = True
        if changed:
            task.save()
            report.updated.append(definition.name)
    state.managed = True
    if (state.managed, state.synced_schedule, state.retired) != before:
        state.save(update_fields=["managed", "synced_schedule", "retired"])


def _retire(names: set[str], report: SyncReport) -> None:
    for state in ScheduleState.objects.filter(managed=True).exclude(name__in=names):
        task = PeriodicTask.objects.filter(name=state.name).first()
        state.managed = False
        if task is not None and task.enabled:
            task.enabled = False
            task.save()
            state.retired = True
            report.disabled.append(state.name)
        state.save(update_fields=["managed", "retired"])


def schedules_sync(*, definitions: Sequence[Schedule] | None = None) -> SyncReport:
    """Make beat's tables match ``jobs/schedules.py``; idempotent (a sync with
    nothing to do writes nothing, so beat does not even reload)."""
    if definitions is None:
        definitions = schedule_definitions()
    names = [definition.name for definition in definitions]
    if len(set(names)) != len(names):
        raise ValueError("schedule names must be unique")
    tz = str(settings.TIME_ZONE)
    report = SyncReport()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SYNC_LOCK_ID])
        for definition in definitions:
            _sync_one(definition, tz, report)
        _retire(set(names), report)
    logger.info("schedules_synced", **{k: v for k, v in vars(report).items() if v})
    return report
