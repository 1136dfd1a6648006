"""The order lifecycle: one transition table, and the writes that walk it.

Every change locks the order row first and checks the table against the
locked state, so two racing changes (a payment and the expiry job, two
cancels) are serialised and the loser gets ``invalid_transition``. Every
change notifies the buyer (per their preferences) in the same transaction.
"""

from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import notify
from catalog.services import stock_return
from monitoring import metrics
from orders.enums import OrderStatus
from orders.exceptions import InvalidTransition
from orders.models import Order
from orders.payments import payment_gateway
from orders.services.analytics import sales_aggregation_request
from orders.services.placement import NOTIFICATION_CATEGORY

logger = structlog.get_logger("bazaar.orders")

S = OrderStatus
# status → the statuses it may move to; anything else is invalid_transition.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING: frozenset({S.PAID, S.CANCELLED}),
    S.PAID: frozenset({S.SHIPPED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset(),
    S.CANCELLED: frozenset(),
}
# Buyers may cancel only before shipping; staff follow the table alone.
OWNER_CANCELLABLE = frozenset({S.PENDING, S.PAID})
EXPIRE_BATCH = 200


def transition_allowed(*, current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def _check(order: Order, target: str) -> None:
    if not transition_allowed(current=order.status, target=target):
        raise InvalidTransition(
            f"An order that is {order.status} cannot become {target}.",
            status=order.status,
        )


def _locked(order_id: int) -> Order:
    return Order.objects.select_for_update().select_related("user").get(pk=order_id)


def _notify_status(order: Order) -> None:
    status = OrderStatus(order.status)
    notify(
        user=order.user,
        kind=f"order_{status.value}",
        category=NOTIFICATION_CATEGORY,
        title=f"Order {order.number}: {status.label.lower()}",
        body=f"Your order {order.number} is now {status.label.lower()}.",
        data={"order_id": order.pk, "number": order.number, "status": status.value},
        email_template="order_status",
        email_context={
            "order_number": order.number,
            "status": status.label.lower(),
            "tracking_number": order.tracking_number,
        },
    )


def _save(order: Order, *fields: str) -> None:
    order.save(update_fields=["status", *fields, "updated_at"])
    _notify_status(order)


@transaction.atomic
def order_pay(*, order_id: int, card_token: str) -> Order:
    """Charge the order's total and mark it paid.

    The charge happens under the order's row lock, so a second payment (or the
    expiry job) waits and then finds the order no longer pending. The
    gateway's idempotency key is the order's: if our commit fails after the
    provider charged, the retry gets the same charge back, not a second one.
    A decline (PaymentDeclined, 402) changes nothing.
    """
    order = _locked(order_id)
    _check(order, S.PAID)
    charge_id = payment_gateway().charge(
        amount=order.total,
        currency=order.currency,
        token=card_token,
        idempotency_key=f"order-{order.pk}-charge",
    )
    order.status = S.PAID
    order.paid_at = timezone.now()
    order.payment_charge_id = charge_id
    _save(order, "paid_at", "payment_charge_id")
    sales_aggregation_request(order=order)
    transaction.on_commit(lambda: metrics.revenue_add(order.currency, order.total))
    return order


@transaction.atomic
def order_cancel(*, order_id: int, actor: User | None) -> Order:
    """Cancel, return the stock, and refund a paid order through the gateway.

    ``actor`` None is the system (the expiry job). Buyers may cancel while
    pending or paid; staff as the transition table allows.
    """
    order = _locked(order_id)
    if (
        actor is not None
        and not actor.is_staff
        and order.status not in (OWNER_CANCELLABLE)
    ):
        raise InvalidTransition(
            f"An order that is {order.status} cannot be cancelled.",
            status=order.status,
        )
    _check(order, S.CANCELLED)
    fields = ["cancelled_at"]
    if order.status == S.PAID and order.payment_charge_id:
        order.refund_id = payment_gateway().refund(
            charge_id=order.payment_charge_id,
            amount=order.total,
            idempotency_key=f"order-{order.pk}-refund",
        )
        fields.append("refund_id")
    # One line per product (order_item_one_line_per_product): nothing to merge.
    quantities = dict(order.items.values_list("product_id", "quantity"))
    if quantities:
        stock_return(quantities=quantities)
    order.status = S.CANCELLED
    order.cancelled_at = timezone.now()
    _save(order, *fields)
    sales_aggregation_request(order=order)  # a paid order leaves its day's sales
    return order


@transaction.atomic
def order_status_set(
    *, order_id: int, status: str, tracking_number: str = "", actor: User
) -> Order:
    """Staff move an order along the table. ``paid`` here records a payment
    taken outside the gateway; ``cancelled`` is :func:`order_cancel`;
    ``shipped`` needs a tracking number (the API checks it is given)."""
    if status == S.CANCELLED:
        return order_cancel(order_id=order_id, actor=actor)
    order = _locked(order_id)
    _check(order, status)
    fields: list[str] = []
    if status == S.PAID:
        order.paid_at = timezone.now()
        fields.append("paid_at")
    if status == S.SHIPPED:
        if not tracking_number:
            raise ValueError("shipping needs a tracking number")
        order.tracking_number = tracking_number
        fields.append("tracking_number")
    order.status = status
    _save(order, *fields)
    if status == S.PAID:
        sales_aggregation_request(order=order)
    return order


def orders_expire_unpaid(*, now: datetime | None = None) -> dict[str, int]:
    """Cancel pending orders older than ``ORDER_PAYMENT_MINUTES`` and return
    their stock (the ``orders.expire_unpaid`` job and its command).

    One transaction per order, so one failure does not hold back the rest and
    locks stay short; rows another process is changing are skipped and picked
    up on the next run. Safe to run twice: a cancelled order is not pending.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.ORDER_PAYMENT_MINUTES)
    expired = skipped = 0
    while True:
        ids = list(
            Order.objects.filter(status=S.PENDING, created_at__lt=cutoff)
            .order_by("created_at")
            .values_list("pk", flat=True)[:EXPIRE_BATCH]
        )
        progressed = False
        for order_id in ids:
            with transaction.atomic():
                order = (
                    Order.objects.select_for_update(skip_locked=True)
                    .filter(pk=order_id, status=S.PENDING, created_at__lt=cutoff)
                    .first()
                )
                if order is None:
                    skipped += 1
                    continue
                order_cancel(order_id=order.pk, actor=None)
            expired += 1
            progressed = True
        if len(ids) < EXPIRE_BATCH or not progressed:
            break
    if expired:
        logger.info("orders_expired", count=expired, skipped=skipped)
    return {"expired": expired, "skipped": skipped}
