"""Celery beat for the job platform: a due schedule becomes a ``JobRecord``.

``JobScheduler`` is django-celery-beat's ``DatabaseScheduler`` (schedules in
``PeriodicTask`` rows, synced from ``jobs/schedules.py`` and editable in the
admin) with one change of role: it never publishes to the broker. A due entry
goes to ``jobs.periodic.periodic_enqueue`` under the name of its slot, so the
admin sees and can retry every run, the relay publishes it like any job, two
beats side by side never run a slot twice, a run never overlaps the previous
one, and a beat that was down catches up with one run, not one per missed slot.

Run it with ``celery -A config beat -S jobs.scheduler:JobScheduler``.
"""

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from celery import schedules
from django.db import close_old_connections
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry
from django_celery_beat.utils import NEVER_CHECK_TIMEOUT

from jobs.enums import PeriodicOutcome, Priority
from jobs.periodic import periodic_enqueue
from jobs.registry import job_types
from jobs.slots import latest_slot

logger = structlog.get_logger("bazaar.jobs.beat")

Clock = Callable[[], datetime]

# A due run that failed (database away) is tried again after this many
# seconds; also how soon a disabled entry is looked at again.
RECHECK_SECONDS = 5.0


class JobEntry(ModelEntry):
    """A ``PeriodicTask`` as beat sees it: due once a slot later than the last
    one handled has come.

    ``last_run_at`` holds that last slot. It only moves once ``periodic_enqueue``
    has answered, so a run that could not be recorded is tried again.
    """

    def __init__(
        self, model: PeriodicTask, app: Any = None, clock: Clock | None = None
    ) -> None:
        self.clock = clock or timezone.now
        self.due_slot: datetime | None = None
        super().__init__(model, app=app)

    def _default_now(self) -> datetime:
        return self.clock()

    default_now = _default_now

    def is_due(self) -> schedules.schedstate:
        model = self.model
        now = self.clock()
        if not model.enabled:
            return schedules.schedstate(False, RECHECK_SECONDS)
        if model.start_time is not None and now < model.start_time:
            wait = math.ceil((model.start_time - now).total_seconds())
            return schedules.schedstate(False, wait)
        if model.expires is not None and now >= model.expires:
            self._disable(model)
            return schedules.schedstate(False, NEVER_CHECK_TIMEOUT)
        if model.one_off and model.total_run_count > 0:
            model.enabled, model.total_run_count, model.no_changes = False, 0, False
            model.save()
            return schedules.schedstate(False, NEVER_CHECK_TIMEOUT)
        slot, wait = latest_slot(self.schedule, now)
        if slot is not None and slot > self.last_run_at:
            self.due_slot = slot
            return schedules.schedstate(True, min(wait, RECHECK_SECONDS))
        return schedules.schedstate(False, wait)

    def __next__(self) -> "JobEntry":
        # Beat reserves an entry before it applies it; the slot is marked
        # handled by ``mark_handled`` once the outcome is known.
        return self

    def mark_handled(self, slot: datetime, *, ran: bool) -> None:
        """Remember ``slot`` as done (beat's sync writes it to the task row)."""
        self.last_run_at = self.model.last_run_at = slot
        if ran:
            self.model.total_run_count += 1
            self.total_run_count = self.model.total_run_count
        self.model.no_changes = True  # our own write: no schedule reload
        self.due_slot = None


class JobScheduler(DatabaseScheduler):
    """django-celery-beat's scheduler, enqueueing jobs instead of sending tasks.

    ``clock`` (default ``timezone.now``) lets tests drive ``tick()`` through
    time in-process.
    """

    Entry = JobEntry

    def __init__(self, *args: Any, clock: Clock | None = None, **kwargs: Any) -> None:
        self.clock = clock or timezone.now  # the schedule is read in __init__
        super().__init__(*args, **kwargs)

    @property
    def producer(self) -> None:
        """No broker producer: beat never publishes (the relay does)."""
        return None

    def install_default_entries(self, data: Any) -> None:
        """None: ``celery.backend_cleanup`` has no result backend to clean and
        is not a job type."""

    def enabled_models_qs(self) -> Any:
        # Every enabled task. The parent leaves out crontabs whose hour is
        # far from now, which would delay a missed daily run's catch-up by up
        # to a day; a job platform has a handful of schedules.
        return self.Model.objects.enabled()

    def all_as_schedule(self) -> dict[str, JobEntry]:
        known = job_types()
        entries = {}
        for model in self.enabled_models():
            problem = _unrunnable(model, known)
            if problem:
                logger.error("periodic_task_ignored", schedule=model.name, why=problem)
                continue
            try:
                entries[model.name] = self.Entry(model, app=self.app, clock=self.clock)
            except ValueError:
                logger.exception("periodic_task_unreadable", schedule=model.name)
        return entries

    def _when(self, entry: Any, next_time_to_run: float, mktime: Any = None) -> float:
        """Heap time of an entry, on the scheduler's clock."""
        return self.clock().timestamp() + (self.adjust(next_time_to_run) or 0)

    def apply_entry(self, entry: JobEntry, producer: Any = None) -> None:
        slot = entry.due_slot
        if slot is None:
            slot, _ = latest_slot(entry.schedule, self.clock())
            if slot is None:
                return
        try:
            outcome, job = periodic_enqueue(
                name=entry.name,
                job_type=entry.task,
                payload=entry.kwargs,
                priority=entry.options.get("priority"),
                slot=slot,
            )
        except Exception:  # the database is away: keep ticking, retry soon
            logger.exception(
                "periodic_enqueue_failed", schedule=entry.name, slot=slot.isoformat()
            )
            close_old_connections()
            return
        entry.mark_handled(slot, ran=outcome == PeriodicOutcome.ENQUEUED)
        logger.info(
            "periodic_slot",
            schedule=entry.name,
            slot=slot.isoformat(),
            outcome=outcome.value,
            job_id=str(job.pk) if job else None,
        )

    def apply_async(
        self, entry: JobEntry, producer: Any = None, advance: bool = True, **kw: Any
    ) -> None:
        """Every way into sending a task ends in the job platform instead."""
        self.apply_entry(entry)


def _unrunnable(model: PeriodicTask, known: dict[str, Any]) -> str:
    """Why beat cannot run this task as a job; empty if it can."""
    if model.task not in known:
        return f"task {model.task!r} is not a job type"
    if model.priority is not None and model.priority not in Priority.values:
        return f"priority {model.priority} is not a job priority class"
    return ""
