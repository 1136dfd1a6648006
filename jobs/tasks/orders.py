"""Order jobs: expiry of unpaid orders and the Idempotency-Key purge, each the
same code path as its management command, invoice PDFs and CSV exports."""

from typing import Any

from django.utils import timezone

from jobs.enums import Priority
from jobs.exceptions import payload_parsing
from jobs.models import JobRecord
from jobs.registry import job_type
from orders.services import (
    EXPORT_JOB,
    INVOICE_JOB,
    idempotency_keys_purge,
    order_export_build,
    order_exports_purge,
    order_invoice_render,
    orders_expire_unpaid,
)


@job_type("orders.expire_unpaid", priority=Priority.MEDIUM, atomic=False)
def expire_unpaid(job: JobRecord) -> dict[str, Any]:
    """Cancel orders unpaid after ORDER_PAYMENT_MINUTES and restock them
    (every minute; one transaction per order, so not atomic as a whole)."""
    return orders_expire_unpaid()


@job_type("orders.purge_idempotency_keys", priority=Priority.BATCH)
def purge_idempotency_keys(job: JobRecord) -> dict[str, int]:
    """Keys older than IDEMPOTENCY_KEY_HOURS, as ``manage.py
    purge_idempotency_keys`` (daily, 03:45)."""
    return {"deleted": idempotency_keys_purge()}


@job_type(INVOICE_JOB, priority=Priority.MEDIUM, atomic=False)
def render_invoice(job: JobRecord) -> dict[str, Any] | None:
    """Payload: ``{"order_id"}`` (orders.services.invoices).

    Not atomic: rendering and writing the file must not hold a transaction
    open; the order update is a short transaction of its own.
    """
    with payload_parsing():
        order_id = int(job.payload["order_id"])
    return order_invoice_render(order_id=order_id)


@job_type(EXPORT_JOB, priority=Priority.BATCH, atomic=False)
def export_csv(job: JobRecord) -> dict[str, Any] | None:
    """Payload: ``{"export_id"}`` (orders.services.exports); off-peak unless forced.

    Not atomic: streaming a large CSV must not hold a transaction open.
    """
    with payload_parsing():
        export_id = int(job.payload["export_id"])
    return order_export_build(export_id=export_id)


@job_type("orders.purge_exports", priority=Priority.BATCH)
def purge_exports(job: JobRecord) -> dict[str, int]:
    """Export retention, as ``manage.py purge_exports`` (daily, 03:55)."""
    return order_exports_purge(now=timezone.now())
