"""Email jobs: ``email.send`` renders a template and sends it over SMTP."""

from typing import Any

from jobs.enums import Backoff, Priority
from jobs.mail import email_deliver, email_log_create
from jobs.models import JobRecord
from jobs.registry import job_type


@job_type(
    "email.send",
    priority=Priority.HIGH,
    max_attempts=3,
    backoff=Backoff.EXPONENTIAL,
    backoff_base=1.0,
    backoff_cap=60.0,
    atomic=False,  # the log's "sending" state must be visible while we send
    on_enqueue=email_log_create,
)
def send(job: JobRecord) -> dict[str, Any]:
    """Payload: ``{"to": address, "template": name, "context": {...}}``."""
    return email_deliver(job=job)
