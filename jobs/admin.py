"""Operators see, retry and cancel jobs here, and follow email delivery."""

import json
import uuid
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask

import jobs
from jobs.enums import PERIODIC_KEY_PREFIX
from jobs.models import EmailLog, JobRecord, ScheduleState
from jobs.registry import job_types
from jobs.selectors import job_counts
from jobs.services import jobs_cancel, jobs_retry


def _pretty(value: Any) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


def _runs_url(name: str) -> str:
    """The Jobs list narrowed to the scheduled runs of schedule ``name``."""
    query = urlencode({"dedupe_key__startswith": f"{PERIODIC_KEY_PREFIX}{name}:"})
    return f"{reverse('admin:jobs_jobrecord_changelist')}?{query}"


class ScheduledFilter(admin.SimpleListFilter):
    """Runs made by beat (their dedupe key names the schedule and slot)."""

    title = "origin"
    parameter_name = "origin"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("scheduled", "Scheduled (beat)"), ("other", "Other")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        periodic = {"dedupe_key__startswith": PERIODIC_KEY_PREFIX}
        if self.value() == "scheduled":
            return queryset.filter(**periodic)
        if self.value() == "other":
            return queryset.exclude(**periodic)
        return queryset


@admin.register(JobRecord)
class JobRecordAdmin(admin.ModelAdmin):
    change_list_template = "admin/jobs/jobrecord/change_list.html"
    list_display = [
        "short_id",
        "type",
        "priority",
        "status",
        "attempts_display",
        "user",
        "created_at",
        "started_at",
        "finished_at",
        "dedupe_key",
    ]
    list_filter = ["status", "priority", "type", ScheduledFilter, "created_at"]
    list_select_related = ["user"]
    search_fields = ["user__email", "dedupe_key", "error", "type"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    show_full_result_count = False
    actions = ["retry_selected", "cancel_selected"]
    fields = [
        "id",
        "type",
        "priority",
        "status",
        "attempts",
        "max_attempts",
        "user",
        "order",
        "dedupe_key",
        "request_id",
        "created_at",
        "run_at",
        "published_at",
        "started_at",
        "finished_at",
        "lease_expires_at",
        "worker",
        "forced",
        "payload_pretty",
        "result_pretty",
        "error",
        "traceback_pretty",
    ]
    readonly_fields = fields

    @admin.display(description="id")
    def short_id(self, job: JobRecord) -> str:
        return str(job.pk)[:8]

    @admin.display(description="attempts")
    def attempts_display(self, job: JobRecord) -> str:
        return f"{job.attempts}/{job.max_attempts}"

    @admin.display(description="payload")
    def payload_pretty(self, job: JobRecord) -> str:
        return _pretty(job.payload)

    @admin.display(description="result")
    def result_pretty(self, job: JobRecord) -> str:
        return _pretty(job.result)

    @admin.display(description="traceback")
    def traceback_pretty(self, job: JobRecord) -> str:
        return format_html("<pre>{}</pre>", job.traceback)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Read-only detail; state changes go through the actions only.
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        try:
            return queryset.filter(pk=uuid.UUID(search_term.strip())), False
        except ValueError:
            return super().get_search_results(request, queryset, search_term)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "job_counts": job_counts(),
            "flower_url": settings.FLOWER_URL,
        }
        return super().changelist_view(request, extra_context=extra_context)

    @admin.action(description="Retry selected jobs (failed or cancelled)")
    def retry_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = jobs_retry(job_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} job(s) queued again.", messages.SUCCESS)

    @admin.action(description="Cancel selected jobs (queued)")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = jobs_cancel(job_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} job(s) cancelled.", messages.SUCCESS)


@admin.register(EmailLog)
class EmailLogAdmin(admin.ModelAdmin):
    list_display = [
        "recipient",
        "template",
        "status",
        "attempts",
        "created_at",
        "sent_at",
    ]
    list_filter = ["status", "template", "created_at"]
    search_fields = ["recipient", "message_id", "subject"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    show_full_result_count = False
    raw_id_fields = ["job", "user"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in EmailLog._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ScheduleState)
class ScheduleStateAdmin(admin.ModelAdmin):
    """Read-only: each schedule's last slot, last job and skipped slots.

    Not deletable: the row is what keeps a finished slot from running again.
    """

    list_display = [
        "name",
        "last_slot",
        "last_job_link",
        "skipped_slots",
        "managed",
        "retired",
        "synced_schedule",
    ]
    list_filter = ["managed", "retired"]
    search_fields = ["name"]
    ordering = ["name"]

    @admin.display(description="last job")
    def last_job_link(self, state: ScheduleState) -> str:
        if state.last_job_id is None:
            return "-"
        url = reverse("admin:jobs_jobrecord_change", args=[state.last_job_id])
        return format_html('<a href="{}">{}</a>', url, str(state.last_job_id)[:8])

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# django-celery-beat's own admin, with the runs of each schedule one click
# away and "Run selected tasks" going through the job platform: its stock
# action would publish a bare Celery message that no job record backs.
admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class PeriodicJobTaskAdmin(PeriodicTaskAdmin):
    """Beat's schedules (synced from jobs/schedules.py, see jobs.periodic)."""

    list_display = (
        "name",
        "enabled",
        "task",
        "scheduler",
        "last_run_at",
        "runs_link",
    )

    @admin.display(description="runs")
    def runs_link(self, task: PeriodicTask) -> str:
        return format_html('<a href="{}">jobs</a>', _runs_url(task.name))

    @admin.action(description="Run selected tasks now (as jobs)")
    def run_tasks(self, request: HttpRequest, queryset: QuerySet) -> None:
        known = job_types()
        count = 0
        for task in queryset:
            if task.task not in known:
                self.message_user(
                    request,
                    f"{task.name}: {task.task!r} is not a job type.",
                    messages.ERROR,
                )
                continue
            # An operator asked for it now: BATCH jobs too, window or not.
            jobs.enqueue(
                task.task,
                json.loads(task.kwargs or "{}"),
                priority=task.priority,
                forced=True,
            )
            count += 1
        self.message_user(request, f"{count} job(s) queued.", messages.SUCCESS)
