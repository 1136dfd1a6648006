"""Customer insights for reports: per currency, from paid orders only."""

import json
import uuid
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import ActivityEvent
from orders import services
from orders.models import Order
from orders.selectors import customer_insights
from orders.services import Line
from tests.factories import ProductFactory, UserFactory
from tests.orders.conftest import ADDRESS

pytestmark = pytest.mark.django_db


def buy(user, product, quantity: int = 1, *, days_ago: int = 0, paid: bool = True):
    order = services.order_create(
        user=user, lines=[Line(product.pk, quantity)], shipping_address=ADDRESS
    )
    if paid:
        services.order_pay(order_id=order.pk, card_token="tok_ok")
        Order.objects.filter(pk=order.pk).update(
            paid_at=timezone.now() - timedelta(days=days_ago)
        )
    return order


def test_insights_count_customers_repeats_and_order_value_per_currency():
    # given: ann buys twice in the window, bob once now and once long ago,
    # cid once; an unpaid and a cancelled order; one EUR customer
    ann, bob, cid, dee = (UserFactory(email=f"{n}@example.com") for n in "abcd")
    cup = ProductFactory(price=Decimal("10.00"), stock=100)  # + 5.00 shipping
    lamp = ProductFactory(price=Decimal("60.00"), stock=100)  # free shipping
    mug = ProductFactory(price=Decimal("8.00"), currency="EUR", stock=100)
    buy(ann, cup)
    buy(ann, lamp, days_ago=3)
    buy(bob, cup, 2)
    buy(bob, cup, days_ago=90)
    buy(cid, lamp)
    buy(cid, cup, paid=False)
    cancelled = buy(cid, lamp)
    services.order_cancel(order_id=cancelled.pk, actor=None)
    buy(dee, mug)
    today = timezone.localdate()
    # ann and bob were active in the window (twice for ann), cid long before
    for user, days_ago in ((ann, 1), (ann, 2), (bob, 0), (cid, 60)):
        ActivityEvent.objects.create(
            event_id=uuid.uuid4(),
            user=user,
            kind="login",
            occurred_at=timezone.now() - timedelta(days=days_ago),
        )

    # when
    insights = customer_insights(first=today - timedelta(days=29), last=today)

    # then ann and bob are repeat customers (bob's first order predates the
    # window), cid is not: the cancelled and unpaid orders do not count
    eur, usd = insights["currencies"]  # by code
    assert {key: usd[key] for key in usd if key != "top_customers"} == {
        "currency": "USD",
        "orders": 4,
        "revenue": Decimal("160.00"),  # 15 + 60 + 25 + 60
        "average_order_value": Decimal("40.00"),
        "customers": 3,
        "repeat_customers": 2,
        "repeat_purchase_rate": 0.6667,
    }
    assert [(c["email"], c["orders"], c["spent"]) for c in usd["top_customers"]] == [
        ("a@example.com", 2, Decimal("75.00")),
        ("c@example.com", 1, Decimal("60.00")),
        ("b@example.com", 1, Decimal("25.00")),
    ]
    assert (eur["currency"], eur["orders"], eur["repeat_purchase_rate"]) == (
        "EUR",
        1,
        0.0,
    )
    assert insights["active_users"] == 2


def test_the_command_prints_json():
    buy(UserFactory(), ProductFactory(price=Decimal("50.00"), stock=5))
    out = StringIO()
    call_command("customer_insights", "--days", "7", stdout=out)
    body = json.loads(out.getvalue())
    assert body["currencies"][0]["average_order_value"] == "50.00"
    assert body["to"] == timezone.localdate().isoformat()
