"""Invoices: asking for one (a job) and making it (the job's service)."""

from typing import Any

from django.db import transaction
from django.utils import timezone

import jobs
from orders import invoices
from orders.enums import OrderStatus
from orders.models import Order, OrderItem

INVOICE_JOB = "orders.render_invoice"


def invoice_dedupe_key(order_id: int) -> str:
    return f"orders.invoice:{order_id}"


@transaction.atomic
def order_invoice_request(*, order: Order) -> str:
    """Queue the rendering of the order's invoice; returns the job id.

    While a rendering is queued or running, asking again returns that job
    (the dedupe key is per order), so repeated clicks make one PDF. The job
    belongs to the buyer, who may follow it whoever asked.
    """
    job = jobs.enqueue(
        INVOICE_JOB,
        {"order_id": order.pk},
        user=order.user,
        order=order,
        dedupe_key=invoice_dedupe_key(order.pk),
    )
    return str(job.pk)


def _invoice_data(order: Order) -> invoices.InvoiceData:
    lines = [
        invoices.InvoiceLine(
            name=item.name, unit_price=item.unit_price, quantity=item.quantity
        )
        for item in OrderItem.objects.filter(order=order).order_by("pk")
    ]
    return invoices.InvoiceData(
        number=order.number,
        ordered_at=order.created_at,
        buyer=order.user.display_name,
        shipping_address={
            key: str(value) for key, value in (order.shipping_address or {}).items()
        },
        lines=lines,
        subtotal=order.subtotal,
        shipping=order.shipping,
        total=order.total,
        currency=order.currency,
        status=OrderStatus(order.status).label,
        paid_at=order.paid_at,
        cancelled_at=order.cancelled_at,
    )


def order_invoice_render(*, order_id: int) -> dict[str, Any] | None:
    """Render the invoice, store it and point the order at it (the job).

    Rendering and storage happen outside any transaction; the order changes
    in a short one of its own. Safe to run again: unchanged order data gives
    the same bytes and so the same name, and the row is left as it is. When
    the order changed since the last invoice, the new file replaces the old
    one, which is deleted once the new reference is committed. None when the
    order no longer exists.
    """
    order = Order.objects.select_related("user").filter(pk=order_id).first()
    if order is None:
        return None
    data = invoices.invoice_render(_invoice_data(order))
    name = invoices.invoice_name(order_id=order.pk, number=order.number, data=data)
    invoices.invoice_store(name=name, data=data)
    with transaction.atomic():
        locked = (
            Order.objects.select_for_update()
            .only("id", "invoice_path", "invoice_generated_at")
            .get(pk=order.pk)
        )
        previous = locked.invoice_path
        if previous != name:
            locked.invoice_path = name
            locked.invoice_generated_at = timezone.now()
            # Not through save(): updated_at tracks the order, not its paperwork.
            Order.objects.filter(pk=order.pk).update(
                invoice_path=name, invoice_generated_at=locked.invoice_generated_at
            )
            if previous:
                transaction.on_commit(lambda: invoices.invoice_delete(previous))
    return {
        "order_id": order.pk,
        "path": name,
        "bytes": len(data),
        "generated_at": locked.invoice_generated_at.isoformat(),
        "changed": previous != name,
    }
