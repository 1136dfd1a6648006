"""The job outbox (source of truth for background work) and the email log."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from jobs.enums import PERIODIC_KEY_PREFIX, EmailStatus, JobStatus, Priority


class JobRecord(models.Model):
    """One unit of background work, committed with the change that caused it.

    The broker only carries the id; this row says whether the job is due,
    running (and until when its lease holds), done, or failed and why.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=100)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    payload = models.JSONField(default=dict, blank=True)
    # Model strings only: the platform never imports a domain app.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    order = models.ForeignKey(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    # When the job (or its next attempt) may start.
    run_at = models.DateTimeField(default=timezone.now)
    # When a broker message was last sent for the current attempt; null means
    # the relay still has to publish it.
    published_at = models.DateTimeField(null=True, blank=True)
    # BATCH jobs run inside the off-peak window unless forced.
    forced = models.BooleanField(default=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    # NULL means "no key": the partial unique constraint ignores it.
    dedupe_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001

    class Meta:
        constraints = [
            # At most one live job per dedupe key; a periodic run's key
            # ("periodic:<schedule>:<slot>") stays taken whatever its status,
            # so a finished slot is never run again while its row exists.
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=Q(status__in=["queued", "running"])
                | Q(dedupe_key__startswith=PERIODIC_KEY_PREFIX),
                name="job_dedupe_key_unique",
            ),
            models.CheckConstraint(
                condition=Q(attempts__lte=models.F("max_attempts")),
                name="job_attempts_within_max",
            ),
        ]
        indexes = [
            # The relay's scan for due, unpublished jobs.
            models.Index(
                fields=["priority", "run_at"],
                name="job_due_unpublished_idx",
                condition=Q(status="queued", published_at__isnull=True),
            ),
            # The stale-message sweep over published, still queued jobs.
            models.Index(
                fields=["priority", "published_at"],
                name="job_published_queued_idx",
                condition=Q(status="queued", published_at__isnull=False),
            ),
            # Lapsed leases of running jobs.
            models.Index(
                fields=["lease_expires_at"],
                name="job_running_lease_idx",
                condition=Q(status="running"),
            ),
            # Admin filters and retention.
            models.Index(
                fields=["status", "-created_at"], name="job_status_created_idx"
            ),
            models.Index(fields=["type", "status"], name="job_type_status_idx"),
            models.Index(
                fields=["status", "finished_at"], name="job_status_finished_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id} ({self.status})"


class ScheduleState(models.Model):
    """The platform's memory of one schedule (a beat ``PeriodicTask``, by name).

    ``last_slot`` is what keeps two beat processes from running a slot twice:
    a slot is taken only if it is later than this, under this row's lock. The
    row is never purged, so the dedupe outlives job retention. ``last_job``
    answers "is the previous run still queued or running?". The remaining
    fields are ``sync_schedules``' bookkeeping of code-defined schedules.
    """

    name = models.CharField(max_length=200, primary_key=True)
    last_slot = models.DateTimeField(null=True, blank=True)
    last_job = models.ForeignKey(
        JobRecord,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,  # retention may drop it; it had finished
        related_name="+",
    )
    # Slots not run because the previous run was still live.
    skipped_slots = models.PositiveIntegerField(default=0)
    # Defined in jobs/schedules.py (as of the last sync).
    managed = models.BooleanField(default=False)
    # The schedule sync last wrote to the task: while the task still has it,
    # no operator has changed it and code may change it again.
    synced_schedule = models.CharField(max_length=200, blank=True)
    # Disabled by sync because the schedule left the code.
    retired = models.BooleanField(default=False)

    class Meta:
        verbose_name = "schedule state"

    def __str__(self) -> str:
        return self.name


class EmailLog(models.Model):
    """Delivery status of one email; its Message-ID is fixed before sending.

    A fixed Message-ID makes a resend after a crash mid-send recognisable as
    the same message by the receiving side and by us.
    """

    job = models.ForeignKey(
        JobRecord,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="emails",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recipient = models.EmailField(max_length=254)
    template = models.CharField(max_length=100)
    subject = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=16, choices=EmailStatus.choices, default=EmailStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    message_id = models.CharField(max_length=200, unique=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["recipient", "-created_at"], name="email_recipient_idx"
            ),
            models.Index(fields=["status", "-created_at"], name="email_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.template} -> {self.recipient} ({self.status})"
