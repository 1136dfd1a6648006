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


@dataclass(frozen=True)
class _Priced:
    """A product as the order reads it before taking its stock."""

    name: str
    price: Decimal
    currency: str
    is_active: bool


class PricesMoved(Exception):
    """A product's name, price or currency changed between the order's read
    and its stock take: the caller rolls the order back and builds it again."""


# How often a build is tried; the last one locks the rows as it reads them.
BUILD_ATTEMPTS = 3


_PRODUCTS = """
    SELECT id, name, price, currency, is_active FROM catalog_product
     WHERE id = ANY(%s) ORDER BY id {lock}
"""


def _products(quantities: dict[int, int], *, lock: bool = False) -> dict[int, _Priced]:
    """The products as the order reads them (written out: this runs on every
    order, and the ORM spends longer compiling the query than PostgreSQL
    spends answering it)."""
    sql = _PRODUCTS.format(lock="FOR UPDATE" if lock else "")
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(quantities)])
        return {pk: _Priced(*row) for pk, *row in cursor.fetchall()}


def _products_check(quantities: dict[int, int], products: dict[int, _Priced]) -> str:
    """ProductUnavailable (missing or inactive), then MixedCurrency; else the
    order's one currency."""
    for product_id in sorted(quantities):
        product = products.get(product_id)
        if product is None or not product.is_active:
            raise ProductUnavailable(product_id=product_id)
    return _one_currency({product.currency for product in products.values()})


def _one_currency(currencies: set[str]) -> str:
    """The order's currency, or MixedCurrency."""
    if len(currencies) > 1:
        raise MixedCurrency(currencies=sorted(currencies))
    return currencies.pop()


def order_build(
    *,
    user: User,
    lines: list[Line],
    shipping_address: dict[str, str],
    lock: bool = False,
) -> Order:
    """Write a pending order and take its stock; call it inside ``atomic``.

    The stock is taken last: its conditional UPDATE locks each product's row
    until commit, so a hot product is held for the take and the commit only,
    not for the whole order (buyers of one product queue on that lock). The
    order is written at the prices read first; the take returns the row as
    it locked it, and if a name, price or currency moved in between this
    raises ``PricesMoved`` (roll back and build again, with ``lock=True`` to
    read under the row locks on the last try). Raises ProductUnavailable
    (missing or inactive), MixedCurrency, or catalog's InsufficientStock;
    the caller's rollback leaves nothing behind. The confirmation email and
    the in-app notification are queued in the same transaction; the activity
    events after it commits.
    """
    quantities = lines_merge(lines)
    products = _products(quantities, lock=lock)
    currency = _products_check(quantities, products)

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
    _stock_take(quantities, products)
    transaction.on_commit(lambda: metrics.ORDERS_PLACED.labels(order.currency).inc())
    return order


def _stock_take(quantities: dict[int, int], products: dict[int, _Priced]) -> None:
    """Take the units; PricesMoved if a product is not as the order read it."""
    try:
        taken: dict[int, StockTaken] = stock_take_lines(quantities=quantities)
    except InsufficientStock:
        # Deactivated since the read: say so rather than "short".
        _products_check(quantities, _products(quantities))
        raise
    for pk, now in taken.items():
        read = products[pk]
        if (now.name, now.price, now.currency) != (
            read.name,
            read.price,
            read.currency,
        ):
            raise PricesMoved(pk)


def order_create(
    *, user: User, lines: list[Line], shipping_address: dict[str, str]
) -> Order:
    """``order_build`` in its own transaction (a savepoint when nested), built
    again if a price moves under it; a refusal leaves nothing behind."""
    order = dict(user=user, lines=lines, shipping_address=shipping_address)
    for _ in range(BUILD_ATTEMPTS - 1):
        try:
            with transaction.atomic():
                return order_build(**order)
        except PricesMoved:
            pass
    with transaction.atomic():
        return order_build(**order, lock=True)


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
