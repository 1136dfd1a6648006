"""Schedules in code, synced into django-celery-beat, run by beat as jobs.

Beat is driven in-process: ``JobScheduler`` made with the Celery app and a
clock the test moves, ticked until nothing is due at that instant.
"""

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from celery import schedules
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_celery_beat.models import (
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    PeriodicTasks,
)
from redis import Redis

import jobs
from accounts.models import OneTimeCode, Session
from config.celery import app as celery_app
from jobs.enums import JobStatus, Priority
from jobs.models import JobRecord, ScheduleState
from jobs.periodic import periodic_dedupe_key, schedules_sync
from jobs.runner import run_job_inline
from jobs.scheduler import JobScheduler
from jobs.schedules import Schedule, schedule_definitions
from jobs.services import jobs_purge
from jobs.slots import crontab_slot, interval_slot
from tests.factories import StaffFactory, UserFactory

CODE_NAMES = [
    "flush-product-views",
    "warm-cache",
    "purge-jobs",
    "cleanup-sessions",
    "expire-unpaid-orders",
    "purge-idempotency-keys",
    "aggregate-sales",
    "flush-activity",
    "purge-activity",
    "purge-exports",
    "cleanup-tmp",
    "db-maintenance",
    "performance-snapshot",
    "report-daily-sales",
    "report-daily-performance",
    "report-weekly-sales",
    "report-weekly-customers",
]
EVERY_MINUTE = Schedule(
    name="count-every-minute",
    job_type="testing.count",
    every=60,
    payload={"tag": "tick"},
    priority=Priority.HIGH,
    description="test schedule",
)
DAILY = Schedule(name="count-daily", job_type="testing.count", crontab="15 3 * * *")


class Clock:
    """The time beat sees; tests move it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    # Noon two days ahead: after every task's creation (beat counts from
    # there), and that day's 03:15 and 03:30 are still ahead of the real now.
    start = timezone.now().astimezone(UTC) + timedelta(days=2)
    return Clock(start.replace(hour=12, minute=0, second=0, microsecond=0))


@pytest.fixture
def make_scheduler(clock: Clock) -> Iterator[Callable[[], JobScheduler]]:
    made: list[JobScheduler] = []

    def make() -> JobScheduler:
        scheduler = JobScheduler(app=celery_app, clock=clock)
        made.append(scheduler)
        return scheduler

    yield make
    for scheduler in made:
        # Otherwise its finalizer syncs when garbage collected, in a later test.
        scheduler._finalize.cancel()


def drain(scheduler: JobScheduler) -> None:
    """Tick until beat has nothing due at the clock's instant."""
    for _ in range(100):
        if scheduler.tick() > 0:
            return
    raise AssertionError("beat kept finding due entries")


def periodic_jobs(name: str) -> list[JobRecord]:
    return list(
        JobRecord.objects.filter(dedupe_key__startswith=f"periodic:{name}:").order_by(
            "dedupe_key"
        )
    )


def finish_all() -> None:
    JobRecord.objects.update(
        status=JobStatus.SUCCEEDED, finished_at=timezone.now(), attempts=1
    )


# --- Sync ----------------------------------------------------------------------


@pytest.mark.django_db
def test_sync_creates_every_code_schedule(settings):
    # given a warming interval from the environment
    settings.CACHE_WARMUP_INTERVAL = 45

    # when
    report = schedules_sync()

    # then
    assert report.created == CODE_NAMES
    assert report.updated == report.kept == report.disabled == []
    tasks = {task.name: task for task in PeriodicTask.objects.all()}
    assert sorted(tasks) == sorted(CODE_NAMES)
    flush, warm = tasks["flush-product-views"], tasks["warm-cache"]
    assert (flush.task, flush.priority, flush.kwargs, flush.args, flush.enabled) == (
        "analytics.flush_product_views",
        Priority.LOW,
        "{}",
        "[]",
        True,
    )
    assert (flush.interval.every, flush.interval.period) == (60, "seconds")
    assert (warm.task, warm.priority, warm.interval.every) == ("cache.warm", 10, 2700)
    for name, job_type, minute in [
        ("purge-jobs", "maintenance.purge_jobs", "15"),
        ("cleanup-sessions", "maintenance.cleanup_sessions", "30"),
    ]:
        task = tasks[name]
        assert (task.task, task.priority, task.interval) == (
            job_type,
            Priority.BATCH,
            None,
        )
        cron = task.crontab
        assert (cron.minute, cron.hour, cron.day_of_month) == (minute, "3", "*")
        assert (cron.month_of_year, cron.day_of_week) == ("*", "*")
        assert str(cron.timezone) == settings.TIME_ZONE
    assert all(task.description for task in tasks.values())
    assert set(
        ScheduleState.objects.filter(managed=True).values_list("name", flat=True)
    ) == set(CODE_NAMES)


@pytest.mark.django_db
def test_resync_keeps_admin_edits_and_writes_nothing(client):
    # given synced schedules, then an operator disables one in the admin and
    # gives another a new interval
    schedules_sync()
    client.force_login(StaffFactory(is_superuser=True))
    warm = PeriodicTask.objects.get(name="warm-cache")
    response = client.post(
        "/admin/django_celery_beat/periodictask/",
        {"action": "disable_tasks", "_selected_action": [warm.pk]},
    )
    assert response.status_code == 302
    flush = PeriodicTask.objects.get(name="flush-product-views")
    flush.interval = IntervalSchedule.objects.create(
        every=2, period=IntervalSchedule.MINUTES
    )
    flush.save()
    tables = [PeriodicTask, IntervalSchedule, CrontabSchedule, ScheduleState]
    counts = [model.objects.count() for model in tables]
    changed_at = PeriodicTasks.last_change()
    rows = list(PeriodicTask.objects.order_by("name").values())

    # when synced again, twice
    second = schedules_sync()
    third = schedules_sync()

    # then the admin's choices stand and nothing was written
    assert second.kept == third.kept == ["flush-product-views"]
    assert second.created == second.updated == second.disabled == []
    assert third.created == third.updated == third.disabled == []
    assert [model.objects.count() for model in tables] == counts
    assert PeriodicTasks.last_change() == changed_at  # beat has nothing to reload
    assert list(PeriodicTask.objects.order_by("name").values()) == rows
    assert PeriodicTask.objects.get(name="warm-cache").enabled is False
    interval = PeriodicTask.objects.get(name="flush-product-views").interval
    assert (interval.every, interval.period) == (2, "minutes")


@pytest.mark.django_db
def test_code_changes_reach_schedules_no_operator_touched(settings):
    # given a synced warming interval, and code-owned fields edited by hand
    settings.CACHE_WARMUP_INTERVAL = 30
    schedules_sync()
    PeriodicTask.objects.filter(name="purge-jobs").update(
        description="edited", kwargs='{"x": 1}', priority=Priority.HIGH
    )

    # when the setting changes and sync runs
    settings.CACHE_WARMUP_INTERVAL = 10
    report = schedules_sync()

    # then code's values are back and the new interval applies
    assert report.updated == ["warm-cache", "purge-jobs"]
    assert report.kept == []
    assert PeriodicTask.objects.get(name="warm-cache").interval.every == 600
    purge = PeriodicTask.objects.get(name="purge-jobs")
    assert (purge.kwargs, purge.priority) == ("{}", Priority.BATCH)
    assert purge.description.startswith("Job retention")


@pytest.mark.django_db
def test_schedule_removed_from_code_is_disabled_not_deleted():
    # given synced schedules and one an operator made in the admin
    schedules_sync()
    PeriodicTask.objects.create(
        name="adhoc",
        task="maintenance.noop",
        interval=IntervalSchedule.objects.create(every=5, period="minutes"),
    )
    without_cleanup = [
        definition
        for definition in schedule_definitions()
        if definition.name != "cleanup-sessions"
    ]

    # when cleanup-sessions leaves the code
    report = schedules_sync(definitions=without_cleanup)

    # then it is disabled, kept, and the operator's task is left alone
    assert report.disabled == ["cleanup-sessions"]
    assert PeriodicTask.objects.get(name="cleanup-sessions").enabled is False
    assert PeriodicTask.objects.get(name="adhoc").enabled is True
    assert PeriodicTask.objects.count() == len(CODE_NAMES) + 1
    assert schedules_sync(definitions=without_cleanup).disabled == []

    # and when it comes back, sync enables it again
    back = schedules_sync()
    assert back.updated == ["cleanup-sessions"]
    assert PeriodicTask.objects.get(name="cleanup-sessions").enabled is True


@pytest.mark.django_db
def test_sync_schedules_command_reports_what_it_did():
    first, second = StringIO(), StringIO()
    call_command("sync_schedules", stdout=first)
    call_command("sync_schedules", stdout=second)
    assert first.getvalue().splitlines() == [f"created: {n}" for n in CODE_NAMES]
    assert second.getvalue() == "schedules up to date\n"


# --- Beat ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_beat_turns_each_due_schedule_into_one_job(clock, make_scheduler, purge_broker):
    # given the code's schedules
    created = timezone.now()
    schedules_sync()
    scheduler = make_scheduler()

    # when beat ticks at noon
    drain(scheduler)

    # then each schedule has one job, named after its slot, and the broker
    # never heard of beat (the relay publishes)
    noon = clock()
    day = noon.replace(hour=0)
    expected = {
        "flush-product-views": ("analytics.flush_product_views", Priority.LOW, noon),
        "warm-cache": ("cache.warm", Priority.LOW, noon),
        "purge-jobs": (
            "maintenance.purge_jobs",
            Priority.BATCH,
            day.replace(hour=3, minute=15),
        ),
        "cleanup-sessions": (
            "maintenance.cleanup_sessions",
            Priority.BATCH,
            day.replace(hour=3, minute=30),
        ),
        "expire-unpaid-orders": ("orders.expire_unpaid", Priority.MEDIUM, noon),
        "purge-idempotency-keys": (
            "orders.purge_idempotency_keys",
            Priority.BATCH,
            day.replace(hour=3, minute=45),
        ),
        "aggregate-sales": (
            "analytics.aggregate_sales",
            Priority.LOW,
            day.replace(hour=0, minute=20),
        ),
        "flush-activity": ("analytics.flush_activity", Priority.LOW, noon),
        "purge-activity": (
            "maintenance.purge_activity",
            Priority.BATCH,
            day.replace(hour=3, minute=50),
        ),
        "purge-exports": (
            "orders.purge_exports",
            Priority.BATCH,
            day.replace(hour=3, minute=55),
        ),
        "cleanup-tmp": (
            "maintenance.cleanup_tmp",
            Priority.LOW,
            noon.replace(hour=11, minute=5),
        ),
        "db-maintenance": (
            "maintenance.db_maintenance",
            Priority.BATCH,
            day.replace(hour=4, minute=10),
        ),
        "performance-snapshot": (
            "monitoring.performance_snapshot",
            Priority.LOW,
            noon,
        ),
        "report-daily-sales": (
            "reports.generate",
            Priority.LOW,
            day.replace(minute=30),
        ),
        "report-daily-performance": (
            "reports.generate",
            Priority.LOW,
            day.replace(minute=40),
        ),
    }
    # Monday's reports: due only if their last slot falls after the tasks were
    # created (beat never runs a slot from before a task existed).
    monday = day - timedelta(days=day.weekday())
    for name, slot in (
        ("report-weekly-sales", monday.replace(hour=1)),
        ("report-weekly-customers", monday.replace(hour=1, minute=10)),
    ):
        if slot > created:
            expected[name] = ("reports.generate", Priority.LOW, slot)
        else:
            assert periodic_jobs(name) == []
    payloads = {
        "report-daily-sales": {"kind": "daily"},
        "report-daily-performance": {"kind": "performance"},
        "report-weekly-sales": {"kind": "weekly"},
        "report-weekly-customers": {"kind": "customers"},
    }
    assert JobRecord.objects.count() == len(expected)
    for name, (job_type, priority, slot) in expected.items():
        [job] = periodic_jobs(name)
        assert (job.type, job.priority, job.payload, job.status) == (
            job_type,
            priority,
            payloads.get(name, {}),
            JobStatus.QUEUED,
        )
        assert job.dedupe_key == periodic_dedupe_key(name, slot)
        state = ScheduleState.objects.get(name=name)
        assert (state.last_slot, state.last_job_id) == (slot, job.pk)
    assert periodic_jobs("flush-product-views")[0].dedupe_key == (
        f"periodic:flush-product-views:{noon:%Y-%m-%dT%H:%M:%S}Z"
    )
    assert Redis.from_url(settings.CELERY_BROKER_URL).dbsize() == 0

    # and the runs are on the tasks once beat syncs
    scheduler.sync()
    flush = PeriodicTask.objects.get(name="flush-product-views")
    assert (flush.last_run_at, flush.total_run_count) == (noon, 1)

    # and ticking again at the same instant adds nothing
    drain(scheduler)
    assert JobRecord.objects.count() == len(expected)


@pytest.mark.django_db(transaction=True)
def test_the_schedule_s_priority_and_payload_reach_the_job(clock, make_scheduler):
    schedules_sync(definitions=[EVERY_MINUTE])
    drain(make_scheduler())
    [job] = periodic_jobs("count-every-minute")
    assert (job.type, job.priority, job.payload) == (
        "testing.count",
        Priority.HIGH,
        {"tag": "tick"},
    )
    assert job.dedupe_key == periodic_dedupe_key("count-every-minute", clock())


@pytest.mark.django_db(transaction=True)
def test_two_beats_side_by_side_enqueue_each_slot_exactly_once(clock, make_scheduler):
    # given one schedule and two beat processes (threads, each with its own
    # database connection) ticking at the same instants
    schedules_sync(definitions=[EVERY_MINUTE])
    steps = 6
    barrier = threading.Barrier(3, timeout=60)
    errors: list[BaseException] = []
    runs_seen: dict[str, list[int]] = {"a": [], "b": []}

    def beat(label: str) -> None:
        try:
            scheduler = make_scheduler()
            for _ in range(steps):
                barrier.wait()
                drain(scheduler)
                entry = scheduler.schedule["count-every-minute"]
                assert entry.last_run_at == clock()  # both handled the slot
                runs_seen[label].append(entry.total_run_count)
                barrier.wait()
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=beat, args=(label,)) for label in "ab"]
    for thread in threads:
        thread.start()
    slots = []
    try:
        for _ in range(steps):
            slots.append(clock())
            barrier.wait()  # both tick
            barrier.wait()  # both done
            finish_all()  # the run finished before the next slot
            clock.advance(seconds=60)
    finally:
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []

    # then every slot ran once, whichever beat took it
    keys = [job.dedupe_key for job in periodic_jobs("count-every-minute")]
    assert keys == [periodic_dedupe_key("count-every-minute", s) for s in slots]
    final_runs = runs_seen["a"][-1] + runs_seen["b"][-1]
    assert final_runs == steps  # each slot counted as run by one beat only
    assert ScheduleState.objects.get(name="count-every-minute").skipped_slots == 0


@pytest.mark.django_db(transaction=True)
def test_slot_is_skipped_while_the_previous_run_is_live(clock, make_scheduler):
    # given a run that is still queued
    schedules_sync(definitions=[EVERY_MINUTE])
    scheduler = make_scheduler()
    drain(scheduler)
    [first] = periodic_jobs("count-every-minute")

    # when the next slots come while it is queued, then running
    clock.advance(seconds=60)
    drain(scheduler)
    JobRecord.objects.filter(pk=first.pk).update(status=JobStatus.RUNNING)
    clock.advance(seconds=60)
    drain(scheduler)

    # then both slots are skipped, not queued behind it
    assert periodic_jobs("count-every-minute") == [first]
    state = ScheduleState.objects.get(name="count-every-minute")
    assert (state.skipped_slots, state.last_slot) == (2, clock())

    # and once it has finished, the next slot runs
    finish_all()
    clock.advance(seconds=60)
    drain(scheduler)
    jobs_now = periodic_jobs("count-every-minute")
    assert len(jobs_now) == 2
    assert jobs_now[-1].dedupe_key == periodic_dedupe_key("count-every-minute", clock())


@pytest.mark.django_db(transaction=True)
def test_after_a_long_outage_each_schedule_runs_once(clock, make_scheduler):
    # given runs at noon, then beat is down for three days and a bit
    schedules_sync(definitions=[EVERY_MINUTE, DAILY])
    before = make_scheduler()
    drain(before)
    finish_all()
    before.close()  # a clean stop writes last_run_at
    assert JobRecord.objects.count() == 2

    # when beat starts again
    clock.advance(days=3, hours=2, seconds=30)
    drain(make_scheduler())

    # then each schedule runs its latest slot once, not once per missed slot
    latest_minute = clock().replace(second=0)
    latest_daily = clock().replace(hour=3, minute=15, second=0)
    assert [job.dedupe_key for job in periodic_jobs("count-every-minute")][-1] == (
        periodic_dedupe_key("count-every-minute", latest_minute)
    )
    assert [job.dedupe_key for job in periodic_jobs("count-daily")][-1] == (
        periodic_dedupe_key("count-daily", latest_daily)
    )
    assert JobRecord.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_job_retention_does_not_free_a_slot(clock, make_scheduler):
    # given a slot that ran and finished long ago, and was then purged
    schedules_sync(definitions=[EVERY_MINUTE])
    drain(make_scheduler())
    JobRecord.objects.update(
        status=JobStatus.SUCCEEDED,
        attempts=1,
        finished_at=timezone.now() - timedelta(days=365),
    )
    assert jobs_purge()["succeeded"] == 1
    assert JobRecord.objects.count() == 0
    assert ScheduleState.objects.get(name="count-every-minute").last_job is None

    # when a beat whose memory of the run was lost (restarted before it wrote
    # last_run_at) ticks at the same instant
    PeriodicTask.objects.filter(name="count-every-minute").update(
        last_run_at=clock() - timedelta(hours=1)
    )
    drain(make_scheduler())

    # then the slot stays taken
    assert JobRecord.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_operator_disabling_a_task_stops_its_runs(clock, make_scheduler):
    schedules_sync(definitions=[EVERY_MINUTE])
    scheduler = make_scheduler()
    drain(scheduler)
    finish_all()
    task = PeriodicTask.objects.get(name="count-every-minute")
    task.enabled = False
    task.save()
    clock.advance(minutes=5)
    drain(scheduler)
    assert len(periodic_jobs("count-every-minute")) == 1


@pytest.mark.django_db(transaction=True)
def test_tasks_that_are_not_job_types_are_never_sent(clock, make_scheduler):
    PeriodicTask.objects.create(
        name="legacy",
        task="celery.backend_cleanup",
        interval=IntervalSchedule.objects.create(every=1, period="seconds"),
    )
    scheduler = make_scheduler()
    drain(scheduler)
    assert "legacy" not in scheduler.schedule
    assert JobRecord.objects.count() == 0


# --- The dedupe of periodic keys, admin, job types ------------------------------------


@pytest.mark.django_db
def test_periodic_keys_stay_taken_whatever_the_status():
    key = "periodic:manual:2030-01-01T00:00:00Z"
    with transaction.atomic():
        first = jobs.enqueue("testing.count", {}, dedupe_key=key)
    JobRecord.objects.filter(pk=first.pk).update(status=JobStatus.SUCCEEDED)
    with transaction.atomic():
        again = jobs.enqueue("testing.count", {}, dedupe_key=key)
    assert again.pk == first.pk
    assert JobRecord.objects.count() == 1
    # other keys only dedupe live jobs, as before
    with transaction.atomic():
        other = jobs.enqueue("testing.count", {}, dedupe_key="startup:x")
    JobRecord.objects.filter(pk=other.pk).update(status=JobStatus.SUCCEEDED)
    with transaction.atomic():
        assert jobs.enqueue("testing.count", {}, dedupe_key="startup:x").pk != other.pk


@pytest.mark.django_db
def test_admin_shows_schedules_and_finds_their_runs(client):
    client.force_login(StaffFactory(is_superuser=True))
    schedules_sync()
    with transaction.atomic():
        run = jobs.enqueue(
            "analytics.flush_product_views",
            {},
            dedupe_key="periodic:flush-product-views:2030-01-01T00:00:00Z",
        )
        other = jobs.enqueue("testing.count", {})

    tasks = client.get("/admin/django_celery_beat/periodictask/")
    assert tasks.status_code == 200
    assert "flush-product-views" in tasks.content.decode()
    assert "dedupe_key__startswith=periodic%3Aflush-product-views%3A" in (
        tasks.content.decode()
    )
    scheduled = client.get("/admin/jobs/jobrecord/", {"origin": "scheduled"})
    assert list(scheduled.context["cl"].result_list) == [run]
    by_key = client.get("/admin/jobs/jobrecord/", {"q": "periodic:flush-product"})
    assert list(by_key.context["cl"].result_list) == [run]
    runs = client.get(
        "/admin/jobs/jobrecord/",
        {"dedupe_key__startswith": "periodic:flush-product-views:"},
    )
    assert list(runs.context["cl"].result_list) == [run]
    assert other.pk != run.pk
    states = client.get("/admin/jobs/schedulestate/")
    assert states.status_code == 200


@pytest.mark.django_db
def test_admin_run_now_goes_through_the_job_platform(client):
    client.force_login(StaffFactory(is_superuser=True))
    schedules_sync()
    purge = PeriodicTask.objects.get(name="purge-jobs")
    response = client.post(
        "/admin/django_celery_beat/periodictask/",
        {"action": "run_tasks", "_selected_action": [purge.pk]},
    )
    assert response.status_code == 302
    [job] = JobRecord.objects.all()
    assert (job.type, job.priority, job.payload, job.forced) == (
        "maintenance.purge_jobs",
        Priority.BATCH,
        {},
        True,
    )


@pytest.mark.django_db(transaction=True)
def test_cleanup_sessions_job_does_what_the_command_does():
    # given a long-dead session and a spent code
    user = UserFactory()
    now = timezone.now()
    long_ago = now - timedelta(days=61)
    Session.objects.create(
        user=user,
        created_at=long_ago,
        last_activity_at=long_ago,
        idle_expires_at=long_ago,
        expires_at=long_ago,
        refresh_jti_hash="x",
        rotated_at=long_ago,
    )
    OneTimeCode.objects.create(
        user=user,
        purpose="verify_email",
        code_hash="h",
        created_at=now,
        expires_at=now + timedelta(minutes=5),
        used_at=now,
    )
    with transaction.atomic():
        job = jobs.enqueue("maintenance.cleanup_sessions")

    # when the job runs
    assert run_job_inline(str(job.pk)) == JobStatus.SUCCEEDED

    # then
    job.refresh_from_db()
    assert job.result == {"sessions": 1, "codes": 1}
    assert Session.objects.count() == OneTimeCode.objects.count() == 0


# --- Slots -------------------------------------------------------------------------


def test_interval_slots_count_from_the_epoch():
    at = datetime(2030, 5, 17, 10, 44, 59, 999_999, tzinfo=UTC)
    assert interval_slot(timedelta(seconds=60), at) == (
        datetime(2030, 5, 17, 10, 44, tzinfo=UTC),
        datetime(2030, 5, 17, 10, 45, tzinfo=UTC),
    )
    assert interval_slot(timedelta(minutes=30), at)[0] == datetime(
        2030, 5, 17, 10, 30, tzinfo=UTC
    )
    exact = datetime(2030, 5, 17, 10, 30, tzinfo=UTC)
    assert interval_slot(timedelta(minutes=30), exact)[0] == exact


def test_crontab_slot_is_the_latest_match_in_its_time_zone():
    daily = schedules.crontab(minute="15", hour="3")
    before = datetime(2030, 5, 17, 3, 14, tzinfo=UTC)
    assert crontab_slot(daily, before) == datetime(2030, 5, 16, 3, 15, tzinfo=UTC)
    assert crontab_slot(daily, before + timedelta(minutes=1)) == datetime(
        2030, 5, 17, 3, 15, tzinfo=UTC
    )
    mondays = schedules.crontab(minute="0", hour="9", day_of_week="mon")
    friday = datetime(2030, 5, 17, 12, 0, tzinfo=UTC)
    assert crontab_slot(mondays, friday) == datetime(2030, 5, 13, 9, 0, tzinfo=UTC)
    berlin = schedules.crontab(minute="15", hour="3")
    berlin.tz = ZoneInfo("Europe/Berlin")  # as django-celery-beat's TzAwareCrontab
    assert crontab_slot(berlin, friday) == datetime(2030, 5, 17, 1, 15, tzinfo=UTC)
