"""The orders API: who may do what, status codes, shapes, caching headers."""

from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIClient

from orders import services
from orders.api.serializers import OrderItemOutput, OrderOutput
from orders.models import Order
from orders.selectors import order_items_attach
from orders.services import Line
from tests.factories import ProductFactory, SellerFactory, UserFactory
from tests.orders.conftest import ADDRESS, client_for, order_body, place

pytestmark = pytest.mark.django_db

NO_STORE = "private, no-store"


@pytest.fixture
def order(buyer, mug) -> Order:
    return services.order_create(
        user=buyer, lines=[Line(mug.pk, 2)], shipping_address=ADDRESS
    )


def url(order: Order, action: str = "") -> str:
    return f"/api/orders/{order.pk}" + (f"/{action}" if action else "")


def test_anonymous_callers_get_401_everywhere(order):
    anonymous = APIClient()
    calls = [
        anonymous.get("/api/orders"),
        anonymous.post("/api/orders", {}, format="json"),
        anonymous.get(url(order)),
        anonymous.post(url(order, "pay"), {}, format="json"),
        anonymous.post(url(order, "cancel")),
        anonymous.post(url(order, "status"), {}, format="json"),
        anonymous.get("/api/seller/orders"),
    ]
    assert [response.status_code for response in calls] == [401] * 7
    assert all(r["WWW-Authenticate"].startswith("Bearer") for r in calls)


def test_a_real_bearer_token_works(buyer, order):
    client = APIClient()
    login = client.post(
        "/api/auth/login",
        {"email": buyer.email, "password": "correct-horse-battery"},
        format="json",
    )
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")
    assert client.get(url(order)).status_code == 200


def test_the_owner_and_staff_see_an_order_others_get_404(
    order, buyer_client, staff_client
):
    stranger = client_for(UserFactory())
    mine = buyer_client.get(url(order))
    assert (mine.status_code, mine["Cache-Control"]) == (200, NO_STORE)
    assert mine.json()["number"] == order.number
    assert staff_client.get(url(order)).json() == mine.json()
    assert stranger.get(url(order)).status_code == 404
    assert buyer_client.get("/api/orders/999999999").status_code == 404
    assert buyer_client.get("/api/orders/99999999999999999999999").status_code == 404


def test_the_list_has_own_orders_newest_first_with_cursor_pagination(
    buyer, buyer_client, mug
):
    mine = [
        services.order_create(
            user=buyer, lines=[Line(mug.pk, 1)], shipping_address=ADDRESS
        )
        for _ in range(3)
    ]
    services.order_create(
        user=UserFactory(), lines=[Line(mug.pk, 1)], shipping_address=ADDRESS
    )

    first = buyer_client.get("/api/orders?page_size=2")
    second = buyer_client.get(first.json()["next"])

    assert first["Cache-Control"] == NO_STORE
    assert set(first.json()) == {"next", "previous", "results"}
    ids = [row["id"] for row in first.json()["results"] + second.json()["results"]]
    assert ids == [order.pk for order in reversed(mine)]
    assert second.json()["next"] is None
    assert first.json()["results"][0]["items"][0]["product_id"] == mug.pk


def test_only_the_owner_pays(order, buyer_client, staff_client):
    body = {"payment_method": "card", "card_token": "tok_ok"}
    stranger = client_for(UserFactory())
    assert stranger.post(url(order, "pay"), body, format="json").status_code == 404
    assert staff_client.post(url(order, "pay"), body, format="json").status_code == 403

    paid = buyer_client.post(url(order, "pay"), body, format="json")

    assert (paid.status_code, paid["Cache-Control"]) == (200, NO_STORE)
    assert paid.json()["status"] == "paid"
    assert paid.json()["paid_at"] is not None
    # the answer is the order as stored, lines included
    assert paid.json() == buyer_client.get(url(order)).json()
    again = buyer_client.post(url(order, "pay"), body, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")


def test_a_declined_card_is_402(order, buyer_client):
    body = {"payment_method": "card", "card_token": "tok_declined"}
    response = buyer_client.post(url(order, "pay"), body, format="json")
    assert response.status_code == 402
    assert response.json() == {
        "detail": "The payment was declined.",
        "code": "payment_declined",
    }
    assert Order.objects.get(pk=order.pk).status == "pending"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"payment_method": "cash", "card_token": "tok_ok"},
        {"payment_method": "card"},
        {"payment_method": "card", "card_token": "tok_ok", "amount": "1.00"},
    ],
)
def test_bad_payment_bodies_are_400(order, buyer_client, body):
    assert buyer_client.post(url(order, "pay"), body, format="json").status_code == 400


def test_owner_and_staff_cancel_others_get_404(order, buyer, mug, staff_client):
    stranger = client_for(UserFactory())
    assert stranger.post(url(order, "cancel")).status_code == 404

    response = client_for(buyer).post(url(order, "cancel"))

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json() == client_for(buyer).get(url(order)).json()
    again = staff_client.post(url(order, "cancel"))
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")
    second = services.order_create(
        user=buyer, lines=[Line(mug.pk, 1)], shipping_address=ADDRESS
    )
    assert staff_client.post(url(second, "cancel")).json()["status"] == "cancelled"


def test_status_is_staff_only_and_follows_the_table(order, buyer_client, staff_client):
    step = {"status": "paid"}
    assert buyer_client.post(url(order, "status"), step, format="json").status_code == (
        403
    )

    paid = staff_client.post(url(order, "status"), step, format="json")
    no_tracking = staff_client.post(
        url(order, "status"), {"status": "shipped"}, format="json"
    )
    shipped = staff_client.post(
        url(order, "status"),
        {"status": "shipped", "tracking_number": "1Z42"},
        format="json",
    )
    backwards = staff_client.post(url(order, "status"), step, format="json")

    assert paid.json()["status"] == "paid"
    assert no_tracking.status_code == 400
    assert list(no_tracking.json()) == ["tracking_number"]
    assert (shipped.json()["status"], shipped.json()["tracking_number"]) == (
        "shipped",
        "1Z42",
    )
    assert (backwards.status_code, backwards.json()["code"]) == (
        409,
        "invalid_transition",
    )
    bogus = staff_client.post(url(order, "status"), {"status": "lost"}, format="json")
    assert list(bogus.json()) == ["status"]
    assert (
        staff_client.post(
            "/api/orders/999999999/status", step, format="json"
        ).status_code
        == 404
    )


def test_sellers_see_the_lines_of_their_own_products(order, seller, mug, buyer):
    other_seller_product = ProductFactory()
    services.order_create(
        user=buyer,
        lines=[Line(other_seller_product.pk, 1), Line(mug.pk, 3)],
        shipping_address={**ADDRESS, "name": "Second"},
    )

    response = client_for(seller).get("/api/seller/orders")

    assert (response.status_code, response["Cache-Control"]) == (200, NO_STORE)
    rows = response.json()["results"]
    assert [(row["quantity"], row["shipping_address"]["name"]) for row in rows] == [
        (3, "Second"),
        (2, "Ada Lovelace"),
    ]
    assert rows[1] == {
        "id": rows[1]["id"],
        "order_id": order.pk,
        "order_number": order.number,
        "status": "pending",
        "product_id": mug.pk,
        "name": "Mug",
        "unit_price": "12.50",
        "quantity": 2,
        "line_total": "25.00",
        "currency": "USD",
        "shipping_address": ADDRESS,
        "created_at": rows[1]["created_at"],
    }
    assert client_for(SellerFactory()).get("/api/seller/orders").json()["results"] == []


def test_non_sellers_get_403_on_seller_orders(buyer_client, staff_client):
    assert buyer_client.get("/api/seller/orders").status_code == 403
    assert staff_client.get("/api/seller/orders").status_code == 403


def test_trailing_slashes_are_optional(buyer_client, mug):
    response = buyer_client.post(
        "/api/orders/",
        order_body((mug, 1)),
        format="json",
        HTTP_IDEMPOTENCY_KEY="slash",
    )
    assert response.status_code == 201
    assert buyer_client.get(f"/api/orders/{response.json()['id']}/").status_code == 200


def test_non_json_bodies_are_refused_without_a_500(buyer_client):
    response = buyer_client.post(
        "/api/orders",
        "items=1",
        content_type="application/x-www-form-urlencoded",
        HTTP_IDEMPOTENCY_KEY="form",
    )
    assert response.status_code == 415
    broken = buyer_client.post(
        "/api/orders",
        "{not json",
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="broken",
    )
    assert broken.status_code == 400
    assert place(buyer_client, [1, 2], key="list").status_code == 400


def test_hand_written_order_rendering_matches_drfs_generic_one(buyer, mug, seller):
    """OrderOutput writes its fields out by hand for speed; DRF's own
    ModelSerializer rendering of the same declared fields must agree, for a
    fresh order, one read back, and a paid, shipped one with two lines."""
    other = ProductFactory(seller=seller, price=Decimal("0.10"), stock=9)
    fresh = services.order_create(
        user=buyer, lines=[Line(mug.pk, 2), Line(other.pk, 3)], shipping_address=ADDRESS
    )
    shipped = Order.objects.get(pk=fresh.pk)
    shipped.paid_at = timezone.now()
    shipped.cancelled_at = timezone.now()
    shipped.tracking_number = "1Z999"
    shipped.save()

    def generic(order: Order) -> dict:
        class Lines(OrderItemOutput):
            to_representation = serializers.ModelSerializer.to_representation

        class Generic(OrderOutput):
            items = Lines(many=True, read_only=True)
            to_representation = serializers.ModelSerializer.to_representation

        return Generic(order).data

    for order in (fresh, order_items_attach(Order.objects.get(pk=fresh.pk)), shipped):
        fast = OrderOutput(order).data
        assert fast == generic(order)
        assert list(fast) == list(generic(order))
        assert len(fast["items"]) == 2
    assert OrderOutput(shipped).data["paid_at"].endswith("Z")
