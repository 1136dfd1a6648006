"""Many buyers at once: stock is never oversold and never goes negative."""

import threading

import pytest
from django.db import connection

from catalog.models import Product
from jobs.models import JobRecord
from orders.models import IdempotencyKey, Order, OrderItem
from tests.factories import ProductFactory, UserFactory
from tests.orders.conftest import client_for, order_body, place

BUYERS = 60
STOCK = 20


@pytest.mark.django_db(transaction=True)
def test_sixty_buyers_for_twenty_units_make_exactly_twenty_orders(patient_pool):
    # given a product with 20 units and 60 buyers, each on their own thread
    # (and so their own database connection), released at the same instant
    product = ProductFactory(stock=STOCK)
    buyers = UserFactory.create_batch(BUYERS)
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(BUYERS)

    def buy(user) -> None:
        client = client_for(user)
        try:
            barrier.wait()
            response = place(client, order_body((product, 1)))
            with lock:
                answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(user,)) for user in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then 20 orders and 40 clean "insufficient stock" answers, nothing else
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] * STOCK + [409] * (BUYERS - STOCK)
    refused = [body for status, body in answers if status == 409]
    assert all(
        (body["code"], body["product_id"]) == ("insufficient_stock", product.pk)
        for body in refused
    )
    assert Product.objects.get(pk=product.pk).stock == 0
    assert Order.objects.count() == STOCK
    assert OrderItem.objects.filter(product=product).count() == STOCK
    assert len(set(Order.objects.values_list("number", flat=True))) == STOCK
    created = {body["id"] for status, body in answers if status == 201}
    assert created == set(Order.objects.values_list("pk", flat=True))
    assert Order.objects.values("user").distinct().count() == STOCK
    # one confirmation per order, and every key answered (none left running)
    assert JobRecord.objects.filter(type="email.send").count() == STOCK
    assert IdempotencyKey.objects.filter(state="in_progress").count() == 0
    assert IdempotencyKey.objects.count() == BUYERS
