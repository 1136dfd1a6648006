"""The lifecycle: payment, cancellation with restock and refund, staff status
steps along the transition table, expiry, and the buyer's notifications."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Notification, NotificationPreferences
from catalog.models import Product
from jobs.models import JobRecord
from jobs.registry import get_job_type
from orders import services
from orders.enums import OrderStatus
from orders.exceptions import InvalidTransition, PaymentDeclined
from orders.models import Order
from orders.payments import PaymentGateway, TestPaymentGateway
from orders.services import Line
from tests.orders.conftest import ADDRESS

pytestmark = pytest.mark.django_db

S = OrderStatus


@pytest.fixture
def order(buyer, mug, lamp) -> Order:
    return services.order_create(
        user=buyer, lines=[Line(mug.pk, 2), Line(lamp.pk, 1)], shipping_address=ADDRESS
    )


def stock(*products: Product) -> list[int]:
    return [Product.objects.get(pk=p.pk).stock for p in products]


def status_emails(order: Order) -> list[dict]:
    jobs = JobRecord.objects.filter(
        type="email.send", payload__template="order_status"
    ).order_by("created_at")
    return [job.payload["context"] for job in jobs if job.user_id == order.user_id]


class RecordingGateway(PaymentGateway):
    """Records what orders asked of the gateway (the test backend decides)."""

    calls: list[tuple] = []

    def charge(self, *, amount, currency, token, idempotency_key):
        self.calls.append(("charge", amount, currency, token, idempotency_key))
        return TestPaymentGateway().charge(
            amount=amount,
            currency=currency,
            token=token,
            idempotency_key=idempotency_key,
        )

    def refund(self, *, charge_id, amount, idempotency_key):
        self.calls.append(("refund", charge_id, amount, idempotency_key))
        return TestPaymentGateway().refund(
            charge_id=charge_id, amount=amount, idempotency_key=idempotency_key
        )


@pytest.fixture
def gateway(settings):
    settings.PAYMENT_GATEWAY = f"{__name__}.RecordingGateway"
    RecordingGateway.calls = []
    return RecordingGateway


# --- The transition table -----------------------------------------------------


def test_the_table_allows_exactly_the_documented_steps():
    allowed = {
        (a, b) for a in S for b in S if services.transition_allowed(current=a, target=b)
    }
    assert allowed == {
        (S.PENDING, S.PAID),
        (S.PENDING, S.CANCELLED),
        (S.PAID, S.SHIPPED),
        (S.PAID, S.CANCELLED),
        (S.SHIPPED, S.DELIVERED),
    }


def test_staff_walk_an_order_to_delivered_and_the_buyer_hears_each_step(order, staff):
    services.order_status_set(order_id=order.pk, status=S.PAID, actor=staff)
    services.order_status_set(
        order_id=order.pk, status=S.SHIPPED, tracking_number="1Z999", actor=staff
    )
    done = services.order_status_set(order_id=order.pk, status=S.DELIVERED, actor=staff)

    assert (done.status, done.tracking_number) == (S.DELIVERED, "1Z999")
    assert done.paid_at is not None
    kinds = list(
        Notification.objects.filter(user=order.user)
        .order_by("pk")
        .values_list("kind", flat=True)
    )
    assert kinds == ["order_placed", "order_paid", "order_shipped", "order_delivered"]
    assert status_emails(order) == [
        {"order_number": order.number, "status": "paid", "tracking_number": ""},
        {"order_number": order.number, "status": "shipped", "tracking_number": "1Z999"},
        {
            "order_number": order.number,
            "status": "delivered",
            "tracking_number": "1Z999",
        },
    ]


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ([], S.SHIPPED),
        ([], S.DELIVERED),
        ([], S.PENDING),
        ([S.PAID], S.PAID),
        ([S.PAID], S.DELIVERED),
        ([S.PAID, S.SHIPPED], S.CANCELLED),
        ([S.PAID, S.SHIPPED], S.PAID),
        ([S.PAID, S.SHIPPED, S.DELIVERED], S.SHIPPED),
        ([S.PAID, S.SHIPPED, S.DELIVERED], S.CANCELLED),
        ([S.CANCELLED], S.PAID),
        ([S.CANCELLED], S.CANCELLED),
    ],
)
def test_illegal_steps_are_invalid_transitions_and_change_nothing(
    order, staff, path, target
):
    for step in path:
        services.order_status_set(
            order_id=order.pk, status=step, tracking_number="T1", actor=staff
        )
    before = Notification.objects.count()

    with pytest.raises(InvalidTransition):
        services.order_status_set(
            order_id=order.pk, status=target, tracking_number="T2", actor=staff
        )

    assert Order.objects.get(pk=order.pk).status == (path[-1] if path else S.PENDING)
    assert Notification.objects.count() == before


def test_notifications_follow_the_buyer_s_preferences(order, staff):
    # given a buyer who wants order updates by SMS only
    NotificationPreferences.objects.create(
        user=order.user,
        email_order_updates=False,
        in_app_order_updates=False,
        sms_order_updates=True,
    )
    Notification.objects.all().delete()

    services.order_status_set(order_id=order.pk, status=S.PAID, actor=staff)

    assert Notification.objects.count() == 0
    assert status_emails(order) == []
    [sms] = JobRecord.objects.filter(type="notifications.sms")
    assert sms.user_id == order.user_id
    assert order.number in sms.payload["text"]


# --- Payment ------------------------------------------------------------------


def test_paying_charges_the_total_and_marks_the_order_paid(order, gateway):
    paid = services.order_pay(order_id=order.pk, card_token="tok_ok")

    assert paid.status == S.PAID
    assert paid.paid_at is not None
    assert paid.payment_charge_id.startswith("ch_test_")
    assert gateway.calls == [
        ("charge", Decimal("55.00"), "USD", "tok_ok", f"order-{order.pk}-charge")
    ]
    assert Order.objects.get(pk=order.pk).payment_charge_id == paid.payment_charge_id


def test_a_declined_card_changes_nothing(order):
    with pytest.raises(PaymentDeclined):
        services.order_pay(order_id=order.pk, card_token="tok_declined")
    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.status, fresh.paid_at, fresh.payment_charge_id) == (
        S.PENDING,
        None,
        "",
    )


def test_paying_twice_is_an_invalid_transition(order, gateway):
    services.order_pay(order_id=order.pk, card_token="tok_ok")
    with pytest.raises(InvalidTransition):
        services.order_pay(order_id=order.pk, card_token="tok_ok")
    assert [call[0] for call in gateway.calls] == ["charge"]


# --- Cancellation -------------------------------------------------------------


def test_cancel_returns_the_stock(order, buyer, mug, lamp):
    assert stock(mug, lamp) == [8, 4]

    cancelled = services.order_cancel(order_id=order.pk, actor=buyer)

    assert cancelled.status == S.CANCELLED
    assert cancelled.cancelled_at is not None
    assert stock(mug, lamp) == [10, 5]
    assert status_emails(order)[-1]["status"] == "cancelled"


def test_cancelling_a_paid_order_refunds_it(order, buyer, mug, gateway):
    paid = services.order_pay(order_id=order.pk, card_token="tok_ok")

    cancelled = services.order_cancel(order_id=order.pk, actor=buyer)

    assert gateway.calls[-1] == (
        "refund",
        paid.payment_charge_id,
        Decimal("55.00"),
        f"order-{order.pk}-refund",
    )
    assert cancelled.refund_id.startswith("re_test_")
    assert stock(mug) == [10]


def test_cancel_twice_is_invalid_and_restocks_once(order, buyer, mug):
    services.order_cancel(order_id=order.pk, actor=buyer)
    with pytest.raises(InvalidTransition):
        services.order_cancel(order_id=order.pk, actor=buyer)
    assert stock(mug) == [10]


def test_shipped_orders_cannot_be_cancelled_by_anyone(order, buyer, staff):
    services.order_status_set(order_id=order.pk, status=S.PAID, actor=staff)
    services.order_status_set(
        order_id=order.pk, status=S.SHIPPED, tracking_number="T", actor=staff
    )
    for actor in (buyer, staff):
        with pytest.raises(InvalidTransition):
            services.order_cancel(order_id=order.pk, actor=actor)


# --- Expiry -------------------------------------------------------------------


def backdate(order: Order, minutes: float) -> None:
    Order.objects.filter(pk=order.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes)
    )


def test_unpaid_orders_expire_and_restock(buyer, mug, lamp, settings):
    settings.ORDER_PAYMENT_MINUTES = 30
    make = services.order_create
    old = make(user=buyer, lines=[Line(mug.pk, 3)], shipping_address=ADDRESS)
    young = make(user=buyer, lines=[Line(mug.pk, 1)], shipping_address=ADDRESS)
    paid = make(user=buyer, lines=[Line(lamp.pk, 2)], shipping_address=ADDRESS)
    services.order_pay(order_id=paid.pk, card_token="tok_ok")
    backdate(old, 31)
    backdate(young, 29)
    backdate(paid, 60)
    assert stock(mug, lamp) == [6, 3]

    assert services.orders_expire_unpaid() == {"expired": 1, "skipped": 0}

    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {old.pk: S.CANCELLED, young.pk: S.PENDING, paid.pk: S.PAID}
    assert stock(mug, lamp) == [9, 3]
    # and a second run finds nothing more to do
    assert services.orders_expire_unpaid() == {"expired": 0, "skipped": 0}
    assert stock(mug, lamp) == [9, 3]


def test_expiry_uses_the_given_clock(order):
    later = timezone.now() + timedelta(minutes=31)
    assert services.orders_expire_unpaid(now=later)["expired"] == 1
    assert Order.objects.get(pk=order.pk).status == S.CANCELLED


def test_expiry_command_and_job_take_the_same_path(order, buyer, mug):
    backdate(order, 45)
    out = StringIO()
    call_command("expire_unpaid_orders", stdout=out)
    assert out.getvalue().startswith("expired 1 order(s) unpaid after 30 minutes")

    second = services.order_create(
        user=buyer, lines=[Line(mug.pk, 1)], shipping_address=ADDRESS
    )
    backdate(second, 45)
    handler = get_job_type("orders.expire_unpaid").handler
    assert handler(None) == {"expired": 1, "skipped": 0}
    assert stock(mug) == [10]


def test_a_paid_order_is_no_longer_expirable_and_payment_after_expiry_fails(order):
    backdate(order, 45)
    services.orders_expire_unpaid()
    with pytest.raises(InvalidTransition):
        services.order_pay(order_id=order.pk, card_token="tok_ok")
