"""Errors of orders; the API's exception handler turns them into HTTP."""

from config.api.errors import DomainError


class OrdersError(DomainError):
    code = "orders_error"


class IdempotencyKeyMissing(OrdersError):
    status_code = 400
    code = "idempotency_key_required"
    default_detail = "The Idempotency-Key header is required."


class IdempotencyKeyInvalid(OrdersError):
    status_code = 400
    code = "idempotency_key_invalid"
    default_detail = "The Idempotency-Key header must be 1 to 255 printable characters."


class IdempotencyKeyReused(OrdersError):
    status_code = 422
    code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used with a different request."


class IdempotencyRequestInProgress(OrdersError):
    status_code = 409
    code = "idempotency_request_in_progress"
    default_detail = "A request with this Idempotency-Key is still being processed."


class ProductUnavailable(OrdersError):
    status_code = 400
    code = "product_unavailable"
    default_detail = "This product does not exist or is no longer sold."


class MixedCurrency(OrdersError):
    status_code = 400
    code = "mixed_currency"
    default_detail = "All items of an order must be priced in the same currency."


class InvalidTransition(OrdersError):
    status_code = 409
    code = "invalid_transition"
    default_detail = "The order cannot change to that status from its current one."


class PaymentDeclined(OrdersError):
    status_code = 402
    code = "payment_declined"
    default_detail = "The payment was declined."


class PaymentFailed(OrdersError):
    """The gateway could not be reached or answered nonsense; safe to retry."""

    status_code = 502
    code = "payment_gateway_error"
    default_detail = "The payment provider could not be reached; try again."


class InvoiceNotReady(OrdersError):
    status_code = 404
    code = "invoice_not_ready"
    default_detail = "The invoice has not been made yet; request it and try later."
