"""Priorities and states of background jobs."""

from django.db import models


class Priority(models.IntegerChoices):
    """The plan's five classes; lower runs sooner. Each has its own queue."""

    CRITICAL = 0, "critical"
    HIGH = 1, "high"
    MEDIUM = 5, "medium"
    LOW = 10, "low"
    BATCH = 20, "batch"

    @property
    def queue(self) -> str:
        """The Celery queue that carries this class (the label)."""
        return self.label


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


LIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)

# Dedupe keys of scheduled runs: ``periodic:<schedule>:<slot>``. Unique across
# every status, not only live ones, so a finished run's slot stays taken.
PERIODIC_KEY_PREFIX = "periodic:"


class Backoff(models.TextChoices):
    EXPONENTIAL = "exponential", "Exponential with jitter"
    FIXED = "fixed", "Fixed"


class PeriodicOutcome(models.TextChoices):
    """What became of one due slot of a schedule."""

    ENQUEUED = "enqueued", "Enqueued"
    DUPLICATE = "duplicate", "Already taken (by another beat)"
    SKIPPED = "skipped", "Skipped (previous run still live)"


class EmailStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
