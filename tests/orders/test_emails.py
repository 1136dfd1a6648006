"""Order emails through the real job platform: relay, Celery worker, SMTP."""

import pytest

from jobs.enums import EmailStatus
from jobs.models import EmailLog, JobRecord
from orders.models import Order
from tests.factories import ProductFactory, UserFactory
from tests.jobs.conftest import wait_until
from tests.orders.conftest import client_for, order_body, place


def subjects(sink) -> list[str]:
    return sorted(str(m["message"]["Subject"]) for m in sink.messages)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_one_confirmation_per_order_reaches_the_inbox(smtp_sink, thread_worker, relay):
    # given a running worker and relay, and a buyer who retries a request
    thread_worker()
    relay()
    buyer = UserFactory(email="inbox@example.com")
    # well above LOW_STOCK_THRESHOLD, so no low-stock email joins the count
    product = ProductFactory(name="Desk Lamp", stock=50)
    client = client_for(buyer)
    body = order_body((product, 2))

    # when the order is placed, replayed, and a second order placed
    first = place(client, body, key="once")
    replay = place(client, body, key="once")
    second = place(client, order_body((product, 1)))
    assert (first.status_code, replay.status_code, second.status_code) == (
        201,
        201,
        201,
    )

    # then exactly one confirmation per order arrives
    messages = smtp_sink.wait_for(2)
    numbers = sorted(Order.objects.values_list("number", flat=True))
    # every email job there is has been sent, so nothing else is on its way
    wait_until(lambda: EmailLog.objects.filter(status=EmailStatus.SENT).count() == 2)
    assert JobRecord.objects.filter(type="email.send").count() == 2
    assert len(smtp_sink.messages) == 2
    assert subjects(smtp_sink) == [f"Order {number} confirmed" for number in numbers]
    assert all(m["to"] == ["inbox@example.com"] for m in messages)
    text = next(
        m["message"]
        for m in messages
        if first.json()["number"] in str(m["message"]["Subject"])
    )
    plain = next(
        part.get_payload(decode=True).decode()
        for part in text.walk()
        if part.get_content_type() == "text/plain"
    )
    assert "2 x Desk Lamp" in plain
    assert "Total:    44.98 USD" in plain


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_status_change_emails_the_buyer(smtp_sink, thread_worker, relay):
    thread_worker()
    relay()
    buyer = UserFactory(email="status@example.com")
    client = client_for(buyer)
    order = place(client, order_body((ProductFactory(stock=3), 1))).json()

    paid = client.post(
        f"/api/orders/{order['id']}/pay",
        {"payment_method": "card", "card_token": "tok_ok"},
        format="json",
    )

    assert paid.status_code == 200
    smtp_sink.wait_for(2)
    assert subjects(smtp_sink) == sorted(
        [f"Order {order['number']} confirmed", f"Order {order['number']}: paid"]
    )
