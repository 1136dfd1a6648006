"""Notification jobs: SMS and push through the configured backends, and
marketing campaigns (fan-out into batches, one batch of emails per job), and
sellers' low-stock alerts."""

from typing import Any

from accounts.services import (
    campaign_batch_send,
    campaign_fan_out,
    push_deliver,
    sms_deliver,
)
from catalog.services import product_low_stock_alert
from jobs.enums import Backoff, Priority
from jobs.models import JobRecord
from jobs.registry import job_type


@job_type(
    "notifications.sms",
    priority=Priority.HIGH,
    max_attempts=5,
    backoff=Backoff.FIXED,
    backoff_base=30.0,
    atomic=False,  # an SMS cannot be rolled back; no transaction to hold open
)
def sms(job: JobRecord) -> dict[str, Any]:
    """Payload: ``{"user_id", "kind", "text"}``; no phone: skipped, not failed."""
    return sms_deliver(user_id=int(job.payload["user_id"]), text=job.payload["text"])


@job_type(
    "notifications.push",
    priority=Priority.HIGH,
    max_attempts=5,
    backoff=Backoff.FIXED,
    backoff_base=30.0,
    atomic=False,
)
def push(job: JobRecord) -> dict[str, Any]:
    """Payload: ``{"user_id", "kind", "title", "body", "data"}``."""
    return push_deliver(
        user_id=int(job.payload["user_id"]),
        title=job.payload["title"],
        body=job.payload["body"],
        data=job.payload.get("data") or {},
    )


@job_type("notifications.campaign_fanout", priority=Priority.BATCH, max_attempts=5)
def campaign_fanout(job: JobRecord) -> dict[str, Any]:
    """Payload: ``{"campaign_id"}``. Atomic: the batches and their jobs commit
    together, so a retry never doubles them."""
    return campaign_fan_out(campaign_id=int(job.payload["campaign_id"]))


@job_type(
    "notifications.campaign_batch",
    priority=Priority.BATCH,
    max_attempts=5,
    backoff=Backoff.EXPONENTIAL,
    backoff_base=30.0,
    backoff_cap=600.0,
    atomic=False,  # each recipient's log must commit as it is sent
)
def campaign_batch(job: JobRecord) -> dict[str, Any]:
    """Payload: ``{"campaign_id", "batch_id"}``; resumes after recipients
    already sent."""
    return campaign_batch_send(batch_id=int(job.payload["batch_id"]), job_id=job.pk)


@job_type("notifications.low_stock", priority=Priority.LOW, max_attempts=5)
def low_stock(job: JobRecord) -> dict[str, Any]:
    """Payload: ``{"product_id", "stock"}`` (stock when it fell, for the record).
    Atomic: the alert and the product's alert flag commit together, so a rerun
    finds the flag and alerts no one twice."""
    return product_low_stock_alert(product_id=int(job.payload["product_id"]))
