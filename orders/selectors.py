"""Reads of orders: one order for its owner or staff, its invoice, a buyer's
orders, the lines a seller sold."""

from typing import IO, Any

from django.db.models import Prefetch, QuerySet

from orders import invoices
from orders.exceptions import InvoiceNotReady
from orders.models import Order, OrderItem


def _with_items(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.prefetch_related(
        Prefetch("items", queryset=OrderItem.objects.order_by("pk"))
    )


def order_get_for_user(*, order_id: int, user: Any) -> Order | None:
    """The order if ``user`` owns it or is staff; None otherwise (a 404: other
    people's orders are never acknowledged)."""
    orders = Order.objects.filter(pk=order_id)
    if not user.is_staff:
        orders = orders.filter(user=user)
    return _with_items(orders).first()


def order_invoice_open(*, order: Order) -> IO[bytes]:
    """The order's latest invoice PDF, open for reading.

    Raises InvoiceNotReady (404) until a rendering job has stored one.
    """
    if not order.invoice_path:
        raise InvoiceNotReady
    try:
        return invoices.invoice_open(order.invoice_path)
    except FileNotFoundError:  # replaced by a newer rendering just now
        raise InvoiceNotReady from None


def order_list_for_user(*, user: Any) -> QuerySet[Order]:
    """The user's own orders, newest first (order_user_created_idx)."""
    return _with_items(Order.objects.filter(user=user)).order_by("-created_at", "-id")


def seller_order_lines(*, seller: Any) -> QuerySet[OrderItem]:
    """Lines of the seller's products with their order, newest first."""
    return (
        OrderItem.objects.filter(product__seller=seller)
        .select_related("order")
        .order_by("-id")
    )
