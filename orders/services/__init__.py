"""Writes of orders (a package: one module per concern, re-exported here)."""

from orders.services.analytics import (
    AGGREGATE_JOB,
    sales_aggregate,
    sales_aggregation_request,
    sales_default_dates,
)
from orders.services.exports import (
    EXPORT_JOB,
    ExportNotReady,
    ExportRangeInvalid,
    order_export_build,
    order_export_request,
    order_exports_purge,
)
from orders.services.idempotency import (
    Answer,
    idempotency_keys_purge,
    order_place,
    request_fingerprint,
)
from orders.services.invoices import (
    INVOICE_JOB,
    order_invoice_render,
    order_invoice_request,
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
    "AGGREGATE_JOB",
    "EXPORT_JOB",
    "INVOICE_JOB",
    "TRANSITIONS",
    "Answer",
    "ExportNotReady",
    "ExportRangeInvalid",
    "Line",
    "idempotency_keys_purge",
    "order_cancel",
    "order_create",
    "order_export_build",
    "order_export_request",
    "order_exports_purge",
    "order_invoice_render",
    "order_invoice_request",
    "order_pay",
    "order_place",
    "order_status_set",
    "orders_expire_unpaid",
    "request_fingerprint",
    "sales_aggregate",
    "sales_aggregation_request",
    "sales_default_dates",
    "shipping_for",
    "transition_allowed",
]
