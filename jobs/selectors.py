"""Reads of the job platform: a job for its owner, figures for operators."""

from typing import Any

from django.db.models import Count, Min
from django.utils import timezone

from jobs import broker
from jobs.enums import JobStatus, Priority
from jobs.models import JobRecord


def job_get_for_user(*, job_id: Any, user: Any) -> JobRecord | None:
    """The job if ``user`` may see it (made for them, or staff); else None."""
    queryset = JobRecord.objects.filter(pk=job_id)
    if not user.is_staff:
        queryset = queryset.filter(user=user)
    return queryset.first()


def job_counts() -> dict[str, dict[str, int]]:
    """Jobs per status and, for live jobs, per priority class."""
    by_status = dict.fromkeys(JobStatus.values, 0)
    for row in JobRecord.objects.values("status").annotate(n=Count("pk")):
        by_status[row["status"]] = row["n"]
    queued = {priority.label: 0 for priority in Priority}
    for row in (
        JobRecord.objects.filter(status=JobStatus.QUEUED)
        .values("priority")
        .annotate(n=Count("pk"))
    ):
        queued[Priority(row["priority"]).label] = row["n"]
    return {"status": by_status, "queued_by_priority": queued}


def queue_status() -> list[dict[str, Any]]:
    """Per priority class: broker depth, outbox counts, oldest queued age."""
    now = timezone.now()
    rows = {
        row["priority"]: row
        for row in JobRecord.objects.filter(status=JobStatus.QUEUED)
        .values("priority")
        .annotate(n=Count("pk"), oldest=Min("created_at"))
    }
    running = dict(
        JobRecord.objects.filter(status=JobStatus.RUNNING)
        .values_list("priority")
        .annotate(n=Count("pk"))
    )
    report = []
    for priority in Priority:
        row = rows.get(priority.value, {})
        oldest = row.get("oldest")
        report.append(
            {
                "queue": priority.label,
                "priority": priority.value,
                "broker_depth": broker.queue_size(priority.queue),
                "queued": row.get("n", 0),
                "running": running.get(priority.value, 0),
                "oldest_queued_seconds": (now - oldest).total_seconds()
                if oldest
                else None,
            }
        )
    return report
