"""Placing an order: prices and totals from the database, stock all or none,
the confirmation queued, the body validated."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.exceptions import InsufficientStock
from catalog.models import Product
from jobs.models import EmailLog, JobRecord
from orders import services
from orders.exceptions import MixedCurrency, ProductUnavailable
from orders.models import Order, OrderItem
from orders.services import Line
from tests.db import direct_connection
from tests.factories import ProductFactory
from tests.orders.conftest import ADDRESS, order_body, place

pytestmark = pytest.mark.django_db


def create(buyer, *lines):
    return services.order_create(
        user=buyer,
        lines=[Line(product.pk, quantity) for product, quantity in lines],
        shipping_address=ADDRESS,
    )


def test_order_takes_prices_from_the_database_and_merges_duplicate_lines(
    buyer, mug, lamp
):
    order = create(buyer, (mug, 1), (lamp, 1), (mug, 2))

    items = list(
        order.items.order_by("pk").values_list("name", "unit_price", "quantity")
    )
    assert items == [("Mug", Decimal("12.50"), 3), ("Lamp", Decimal("30.00"), 1)]
    assert (order.subtotal, order.shipping, order.total) == (
        Decimal("67.50"),
        Decimal("0.00"),
        Decimal("67.50"),
    )
    assert (order.status, order.currency, order.shipping_address) == (
        "pending",
        "USD",
        ADDRESS,
    )
    assert re.fullmatch(r"BZ-\d{4}-\d{6}", order.number)
    assert Product.objects.get(pk=mug.pk).stock == 7
    assert Product.objects.get(pk=lamp.pk).stock == 4


def test_shipping_is_flat_below_the_threshold_and_free_from_it(buyer, settings):
    settings.SHIPPING_FEE = Decimal("4.99")
    settings.FREE_SHIPPING_OVER = Decimal("25.00")
    cheap = ProductFactory(price=Decimal("24.99"))
    exact = ProductFactory(price=Decimal("25.00"))

    below = create(buyer, (cheap, 1))
    at = create(buyer, (exact, 1))

    assert (below.subtotal, below.shipping, below.total) == (
        Decimal("24.99"),
        Decimal("4.99"),
        Decimal("29.98"),
    )
    assert (at.shipping, at.total) == (Decimal("0.00"), Decimal("25.00"))


def test_numbers_are_unique_and_increasing(buyer, mug):
    first, second = create(buyer, (mug, 1)), create(buyer, (mug, 1))
    assert first.number != second.number
    assert int(second.number.rsplit("-", 1)[1]) > int(first.number.rsplit("-", 1)[1])


def test_short_stock_reserves_nothing(buyer, mug, lamp):
    with pytest.raises(InsufficientStock) as raised:
        create(buyer, (mug, 2), (lamp, 6))

    assert raised.value.extra["product_id"] == lamp.pk
    assert Product.objects.get(pk=mug.pk).stock == 10
    assert Order.objects.count() == OrderItem.objects.count() == 0
    assert JobRecord.objects.count() == 0


def test_inactive_and_missing_products_cannot_be_ordered(buyer, mug):
    gone = ProductFactory(is_active=False, stock=5)
    with pytest.raises(ProductUnavailable) as inactive:
        create(buyer, (mug, 1), (gone, 1))
    assert inactive.value.extra == {"product_id": gone.pk}
    with pytest.raises(ProductUnavailable):
        services.order_create(
            user=buyer, lines=[Line(gone.pk + 999, 1)], shipping_address=ADDRESS
        )
    assert Product.objects.get(pk=mug.pk).stock == 10


def test_one_currency_per_order(buyer, mug):
    euro = ProductFactory(currency="EUR")
    with pytest.raises(MixedCurrency):
        create(buyer, (mug, 1), (euro, 1))
    assert Order.objects.count() == 0


def test_confirmation_email_and_in_app_notification_are_queued_with_the_order(
    buyer, mug
):
    order = create(buyer, (mug, 2))

    [job] = JobRecord.objects.filter(type="email.send")
    assert (job.priority, job.user_id, job.order_id) == (1, buyer.pk, order.pk)
    assert job.payload["template"] == "order_confirmation"
    assert job.payload["context"] == {
        "order_number": order.number,
        "items": [{"name": "Mug", "quantity": 2, "line_total": "25.00"}],
        "subtotal": "25.00",
        "shipping": "5.00",
        "total": "30.00",
        "currency": "USD",
    }
    assert EmailLog.objects.filter(job=job, recipient=buyer.email).count() == 1
    [note] = buyer.notifications.all()
    assert (note.kind, note.data) == (
        "order_placed",
        {"order_id": order.pk, "number": order.number, "status": "pending"},
    )


# --- The API ------------------------------------------------------------------


def test_post_answers_201_in_api_md_shape(buyer_client, mug):
    response = place(buyer_client, order_body((mug, 2)))

    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "private, no-store"
    body = response.json()
    order = Order.objects.get()
    assert body == {
        "id": order.pk,
        "number": order.number,
        "status": "pending",
        "items": [
            {
                "product_id": mug.pk,
                "name": "Mug",
                "unit_price": "12.50",
                "quantity": 2,
                "line_total": "25.00",
            }
        ],
        "subtotal": "25.00",
        "shipping": "5.00",
        "total": "30.00",
        "currency": "USD",
        "shipping_address": ADDRESS,
        "tracking_number": "",
        "paid_at": None,
        "cancelled_at": None,
        "created_at": body["created_at"],
    }
    assert body["created_at"].endswith("Z") or "+" in body["created_at"]


def test_the_201_body_is_rendered_without_reading_the_order_back(buyer_client, mug):
    # the lines placement wrote are the ones rendered: no SELECT of them
    with CaptureQueriesContext(connection) as queries:
        response = place(buyer_client, order_body((mug, 1)))

    assert response.status_code == 201, response.content
    assert response.json()["items"][0]["product_id"] == mug.pk
    statements = [query["sql"] for query in queries.captured_queries]
    assert any(sql.startswith('INSERT INTO "orders_orderitem"') for sql in statements)
    assert not [
        sql
        for sql in statements
        if sql.startswith("SELECT") and '"orders_orderitem"' in sql
    ]


def test_post_short_stock_is_409_naming_the_product(buyer_client, mug):
    response = place(buyer_client, order_body((mug, 11)))
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert response.json()["product_id"] == mug.pk
    assert Product.objects.get(pk=mug.pk).stock == 10


def test_post_mixed_currency_is_400(buyer_client, mug):
    euro = ProductFactory(currency="EUR")
    response = place(buyer_client, order_body((mug, 1), (euro, 1)))
    assert (response.status_code, response.json()["code"]) == (400, "mixed_currency")


def test_post_inactive_product_is_400(buyer_client):
    gone = ProductFactory(is_active=False)
    response = place(buyer_client, order_body((gone, 1)))
    assert response.status_code == 400
    assert response.json() == {
        "detail": "This product does not exist or is no longer sold.",
        "code": "product_unavailable",
        "product_id": gone.pk,
    }


@pytest.mark.parametrize(
    ("items", "field_error"),
    [
        ([], "items"),
        ([{"product_id": 1, "quantity": 0}], "items"),
        ([{"product_id": 1, "quantity": 101}], "items"),
        ([{"product_id": 1}], "items"),
        ([{"product_id": 1, "quantity": 1, "price": "0.01"}], "items"),
        (
            [{"product_id": 1, "quantity": 60}, {"product_id": 1, "quantity": 41}],
            "items",
        ),
        ([{"product_id": n, "quantity": 1} for n in range(1, 52)], "items"),
        ("nope", "items"),
    ],
)
def test_bad_items_are_400_field_errors(buyer_client, items, field_error):
    response = place(buyer_client, {"items": items, "shipping_address": ADDRESS})
    assert response.status_code == 400
    assert list(response.json()) == [field_error]


def test_fifty_lines_are_accepted(buyer_client):
    products = ProductFactory.create_batch(50, price=Decimal("1.00"))
    response = place(buyer_client, order_body(*[(p, 1) for p in products]))
    assert response.status_code == 201
    assert len(response.json()["items"]) == 50


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"country": "USA"}, ["country"]),
        ({"country": "XX"}, ["country"]),
        ({"country": None}, ["country"]),
        ({"name": ""}, ["name"]),
        ({"name": "x" * 101}, ["name"]),
        ({"line1": "x" * 201}, ["line1"]),
        ({"line2": "x" * 201}, ["line2"]),
        ({"city": ""}, ["city"]),
        ({"postal_code": "!!"}, ["postal_code"]),
        ({"postal_code": "1" * 17}, ["postal_code"]),
        ({"phone": "123"}, ["phone"]),
    ],
)
def test_shipping_address_is_validated_field_by_field(
    buyer_client, mug, change, errors
):
    address = {**ADDRESS, **change}
    response = place(
        buyer_client, {**order_body((mug, 1)), "shipping_address": address}
    )
    assert response.status_code == 400
    assert list(response.json()) == ["shipping_address"]
    assert sorted(response.json()["shipping_address"]) == errors


def test_shipping_address_missing_fields_and_normalised_country(buyer_client, mug):
    missing = place(
        buyer_client, {**order_body((mug, 1)), "shipping_address": {"name": "A"}}
    )
    assert sorted(missing.json()["shipping_address"]) == [
        "city",
        "country",
        "line1",
        "postal_code",
    ]
    address = {**ADDRESS, "country": "gb", "line2": "Flat 3"}
    ok = place(buyer_client, {**order_body((mug, 1)), "shipping_address": address})
    assert ok.status_code == 201
    assert ok.json()["shipping_address"] == {**address, "country": "GB"}


def test_unknown_top_level_fields_are_rejected(buyer_client, mug):
    response = place(buyer_client, order_body((mug, 1), total="0.01"))
    assert response.status_code == 400
    assert response.json() == {"total": ["Unknown field."]}
    assert Order.objects.count() == 0


def test_unverified_users_may_order(buyer, buyer_client, mug):
    assert buyer.is_verified is False
    assert place(buyer_client, order_body((mug, 1))).status_code == 201


@pytest.fixture
def seller_connection():
    """A second, autocommitting connection to the test database."""
    with direct_connection() as other:
        yield other


def _price_moves_after_each_read(monkeypatch, seller, product):
    """Raise the product's price, committed from another connection, right
    after each unlocked read: a seller editing between the order's read and
    its stock take."""
    from orders.services import placement

    read = placement._products
    calls = []

    def racing(quantities, *, lock=False):
        products = read(quantities, lock=lock)
        calls.append(lock)
        if not lock:
            seller.execute(
                "UPDATE catalog_product SET price = price + 1 WHERE id = %s",
                [product.pk],
            )
        return products

    monkeypatch.setattr(placement, "_products", racing)
    return calls


@pytest.mark.django_db(transaction=True)
def test_a_price_moving_before_the_take_builds_the_order_again(
    buyer, mug, monkeypatch, seller_connection
):
    calls = _price_moves_after_each_read(monkeypatch, seller_connection, mug)

    order = create(buyer, (mug, 2))

    # Two unlocked reads went stale; the third read locked the row.
    assert calls == [False, False, True]
    assert order.items.get().unit_price == Decimal("14.50")
    assert Order.objects.count() == OrderItem.objects.count() == 1
    assert JobRecord.objects.filter(order=order).count() == 1
    assert Product.objects.get(pk=mug.pk).stock == 8


@pytest.mark.django_db(transaction=True)
def test_a_placed_order_is_sold_at_the_price_its_take_locked(
    buyer_client, mug, monkeypatch, seller_connection
):
    calls = _price_moves_after_each_read(monkeypatch, seller_connection, mug)

    response = place(buyer_client, order_body((mug, 1)), key="moving-price")

    assert response.status_code == 201, response.json()
    assert calls == [False, False, True]
    assert response.json()["items"][0]["unit_price"] == "14.50"
    assert Order.objects.get().items.get().unit_price == Decimal("14.50")
    assert Product.objects.get(pk=mug.pk).stock == 9
