"""Writes of orders (a package: one module per concern, re-exported here)."""

from orders.services.idempotency import (
    Answer,
    idempotency_keys_purge,
    order_place,
    request_fingerprint,
)
from orders.services.lifecycle import (
    TRANSITIONS,
    order_cancel,
    order_pay,
    order_status_set,
    orders_expire_unpaid,
    transition_allowed,
)
from orders.services.placement import Line, order_create, shipping_for

__all__ = [
    "TRANSITIONS",
    "Answer",
    "Line",
    "idempotency_keys_purge",
    "order_cancel",
    "order_create",
    "order_pay",
    "order_place",
    "order_status_set",
    "orders_expire_unpaid",
    "request_fingerprint",
    "shipping_for",
    "transition_allowed",
]
