"""Demo orders: same-currency lines of popular products, over the whole lifecycle."""

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from typing import NamedTuple

from psycopg.types.json import Jsonb

from orders.demo.bulk import bulk_copy, bulk_next_values, bulk_reserve_ids
from orders.demo.products import ProductSummary
from orders.enums import OrderStatus
from orders.models import ORDER_NUMBER_SEQUENCE, Order, OrderItem

SHIPPING_FEE = Decimal("5.00")
FREE_SHIPPING_FROM = Decimal("50.00")

_DAY = 86_400
_ZERO = Decimal("0.00")
_STATUS_WEIGHTS = {
    OrderStatus.PENDING: 10,
    OrderStatus.PAID: 15,
    OrderStatus.SHIPPED: 20,
    OrderStatus.DELIVERED: 45,
    OrderStatus.CANCELLED: 10,
}
_STATUSES = tuple(_STATUS_WEIGHTS)
_STATUS_CUM_WEIGHTS = tuple(accumulate(_STATUS_WEIGHTS.values()))


class Shopper(NamedTuple):
    """A demo shopper: who orders, in which currency, shipped where."""

    id: int
    currency: str
    address: dict[str, str]


class _OrderRow(NamedTuple):
    """An ``orders_order`` row; the field names are the COPY columns."""

    id: int
    user_id: int
    number: str
    status: str
    subtotal: Decimal
    shipping: Decimal
    total: Decimal
    currency: str
    shipping_address: Jsonb
    tracking_number: str
    paid_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime
    updated_at: datetime


class _OrderItemRow(NamedTuple):
    """An ``orders_orderitem`` row (its id comes from the identity column)."""

    order_id: int
    product_id: int
    name: str
    unit_price: Decimal
    quantity: int


class _Draft(NamedTuple):
    created_at: datetime
    index: int
    shopper: Shopper
    status: OrderStatus
    lines: list[tuple[ProductSummary, int]]


def orders_create(
    rng: random.Random,
    *,
    count: int,
    shoppers: Sequence[Shopper],
    products: Sequence[ProductSummary],
) -> tuple[int, int]:
    """Write ``count`` orders of 1-4 same-currency lines; returns (orders, lines)."""
    # Ids and numbers follow creation time, as they would in a real shop.
    drafts = sorted(_drafts(rng, count=count, shoppers=shoppers, products=products))
    order_ids = bulk_reserve_ids(Order, count)
    numbers = bulk_next_values(ORDER_NUMBER_SEQUENCE, count)
    order_rows, item_rows = [], []
    for order_id, number, draft in zip(order_ids, numbers, drafts, strict=True):
        subtotal = sum((p.price * qty for p, qty in draft.lines), _ZERO)
        shipping = _ZERO if subtotal >= FREE_SHIPPING_FROM else SHIPPING_FEE
        created_at = updated_at = draft.created_at
        paid_at = cancelled_at = None
        tracking_number = ""
        if draft.status == OrderStatus.CANCELLED:
            cancelled_at = updated_at = created_at + _seconds(rng, 300, 1800)
        elif draft.status != OrderStatus.PENDING:
            paid_at = updated_at = created_at + _seconds(rng, 30, 1800)
        if draft.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
            tracking_number = f"1Z{rng.getrandbits(64):016X}"
            updated_at += _seconds(rng, _DAY, 3 * _DAY)
        if draft.status == OrderStatus.DELIVERED:
            updated_at += _seconds(rng, 2 * _DAY, 7 * _DAY)
        order_rows.append(
            _OrderRow(
                id=order_id,
                user_id=draft.shopper.id,
                number=f"BZ-{created_at.year}-{number:06d}",
                status=draft.status.value,
                subtotal=subtotal,
                shipping=shipping,
                total=subtotal + shipping,
                currency=draft.lines[0][0].currency,
                shipping_address=Jsonb(draft.shopper.address),
                tracking_number=tracking_number,
                paid_at=paid_at,
                cancelled_at=cancelled_at,
                created_at=created_at,
                updated_at=updated_at,
            )
        )
        item_rows += [
            _OrderItemRow(order_id, product.id, product.name, product.price, qty)
            for product, qty in draft.lines
        ]
    bulk_copy(Order, _OrderRow._fields, order_rows)
    bulk_copy(OrderItem, _OrderItemRow._fields, item_rows)
    return len(order_rows), len(item_rows)


def _drafts(
    rng: random.Random,
    *,
    count: int,
    shoppers: Sequence[Shopper],
    products: Sequence[ProductSummary],
) -> list[_Draft]:
    # Best sellers turn up in more orders; a few shoppers order a lot.
    pools: dict[str, tuple[list[ProductSummary], list[int]]] = {}
    for product in products:
        members, weights = pools.setdefault(product.currency, ([], []))
        members.append(product)
        weights.append((weights[-1] if weights else 0) + product.units_sold + 1)
    shopper_weights = list(accumulate(1 / n**0.7 for n in range(1, len(shoppers) + 1)))
    drafts = []
    for index in range(count):
        shopper = rng.choices(shoppers, cum_weights=shopper_weights)[0]
        # The shopper's currency if anything sells in it, else dollars.
        members, weights = (
            pools.get(shopper.currency)
            or pools.get("USD")
            or next(iter(pools.values()))
        )
        wanted = rng.choices((1, 2, 3, 4), weights=(45, 30, 15, 10))[0]
        picks = rng.choices(members, cum_weights=weights, k=wanted)
        lines = [
            (product, rng.choices((1, 2, 3), weights=(70, 20, 10))[0])
            for product in {p.id: p for p in picks}.values()  # distinct, in order
        ]
        newest = max(product.created_at for product, _ in lines)
        drafts.append(
            _Draft(
                created_at=newest + _seconds(rng, 60, 60 * _DAY),
                index=index,
                shopper=shopper,
                status=rng.choices(_STATUSES, cum_weights=_STATUS_CUM_WEIGHTS)[0],
                lines=lines,
            )
        )
    return drafts


def _seconds(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(seconds=rng.randrange(low, high))
