"""Placing an order: prices from the database, stock taken all or nothing."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

import jobs
from accounts.activity import Activity, activity_record
from accounts.enums import ActivityKind
from accounts.models import User
from accounts.services import notify
from catalog.exceptions import InsufficientStock
from catalog.models import Product
from catalog.services import StockTaken, stock_take_lines
from jobs.enums import Priority
from jobs.mail import email_payload
from monitoring import metrics
from orders.exceptions import MixedCurrency, ProductUnavailable
from orders.models import ORDER_NUMBER_SEQUENCE, Order, OrderItem

NOTIFICATION_CATEGORY = "order_updates"
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Line:
    """One requested line: a product and how many."""

    product_id: int
    quantity: int


def lines_merge(lines: list[Line]) -> dict[int, int]:
    """Product id → total quantity, in order of first appearance."""
    merged: dict[int, int] = {}
    for line in lines:
        merged[line.product_id] = merged.get(line.product_id, 0) + line.quantity
    return merged


def shipping_for(subtotal: Decimal) -> Decimal:
    """The flat ``SHIPPING_FEE``; nothing from ``FREE_SHIPPING_OVER`` up."""
    if subtotal >= Decimal(settings.FREE_SHIPPING_OVER):
        return Decimal("0.00")
    return Decimal(settings.SHIPPING_FEE).quantize(_CENT)


def order_number_next(*, year: int) -> str:
    """``BZ-<year>-<n>`` from the database sequence (unique across years too)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s::regclass)", [ORDER_NUMBER_SEQUENCE])
        (value,) = cursor.fetchone()
    return f"BZ-{year}-{value:06d}"


def _products(quantities: dict[int, int]) -> dict[int, Product]:
    return {
        product.pk: product
        for product in Product.objects.filter(pk__in=quantities).only(
            "id", "name", "price", "currency", "is_active"
        )
    }


def _products_check(quantities: dict[int, int], products: dict[int, Product]) -> None:
    """ProductUnavailable (missing or inactive), then MixedCurrency."""
    for product_id in sorted(quantities):
        product = products.get(product_id)
        if product is None or not product.is_active:
            raise ProductUnavailable(product_id=product_id)
    _one_currency({product.currency for product in products.values()})


def _one_currency(currencies: set[str]) -> str:
    """The order's currency, or MixedCurrency."""
    if len(currencies) > 1:
        raise MixedCurrency(currencies=sorted(currencies))
    return currencies.pop()


@transaction.atomic
def order_create(
    *, user: User, lines: list[Line], shipping_address: dict[str, str]
) -> Order:
    """Create a pending order and take its stock, all lines or none.

    Duplicate lines are merged. Raises ProductUnavailable (missing or
    inactive), MixedCurrency, or catalog's InsufficientStock; any of them
    leaves nothing behind. The confirmation email and the in-app notification
    are queued in the same transaction; the activity events after it commits.
    """
    quantities = lines_merge(lines)
    try:
        # The take reads each product's name, price and currency as it locks
        # the row (held until commit): the order is sold at those.
        products: dict[int, StockTaken] = stock_take_lines(quantities=quantities)
    except InsufficientStock:
        # A missing or inactive product, or mixed currencies, answer first.
        _products_check(quantities, _products(quantities))
        raise
    # Mixed currencies roll the take back with the rest.
    currency = _one_currency({product.currency for product in products.values()})

    subtotal = sum(
        (products[pk].price * quantity for pk, quantity in quantities.items()),
        Decimal("0.00"),
    ).quantize(_CENT)
    shipping = shipping_for(subtotal)
    now = timezone.now()
    order = Order.objects.create(
        user=user,
        number=order_number_next(year=now.year),
        subtotal=subtotal,
        shipping=shipping,
        total=subtotal + shipping,
        currency=currency,
        shipping_address=shipping_address,
    )
    items = OrderItem.objects.bulk_create(
        OrderItem(
            order=order,
            product_id=pk,
            name=products[pk].name,
            unit_price=products[pk].price,
            quantity=quantity,
        )
        for pk, quantity in quantities.items()
    )
    # The lines as a prefetch would leave them (as Django's own
    # prefetch_related does), so rendering the order reads nothing back.
    attached = order.items.all()
    attached._result_cache, attached._prefetch_done = items, True
    order._prefetched_objects_cache = {"items": attached}
    _confirmation_queue(order=order, items=items)
    notify(
        user=user,
        kind="order_placed",
        category=NOTIFICATION_CATEGORY,
        title=f"Order {order.number} placed",
        body=f"We received your order of {order.total} {order.currency}.",
        data={"order_id": order.pk, "number": order.number, "status": order.status},
    )
    activity_record(
        *(
            Activity(
                kind=ActivityKind.ORDER_ITEM_ADDED,
                user_id=user.pk,
                product=item.product_id,
                data={"order_id": order.pk, "quantity": item.quantity},
            )
            for item in items
        ),
        now=now,
    )
    transaction.on_commit(lambda: metrics.ORDERS_PLACED.labels(order.currency).inc())
    return order


def _confirmation_queue(*, order: Order, items: list[OrderItem]) -> None:
    """The HIGH confirmation email: one per order, whatever the preferences
    (it is the receipt). Amounts travel as strings: the payload is JSON."""
    context: dict[str, Any] = {
        "order_number": order.number,
        "items": [
            {
                "name": item.name,
                "quantity": item.quantity,
                "line_total": str(item.line_total),
            }
            for item in items
        ],
        "subtotal": str(order.subtotal),
        "shipping": str(order.shipping),
        "total": str(order.total),
        "currency": order.currency,
    }
    jobs.enqueue(
        "email.send",
        email_payload(
            to=order.user.email,
            template="order_confirmation",
            context=context,
            secret=None,
        ),
        priority=Priority.HIGH,
        user=order.user,
        order=order,
    )
