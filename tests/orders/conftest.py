"""Fixtures for orders: buyers, products, a shipping address, signed-in
clients, and the job platform's real worker, relay and SMTP sink."""

import uuid
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from catalog.models import Product
from tests.factories import (
    ProductFactory,
    SellerFactory,
    StaffFactory,
    UserFactory,
)
from tests.jobs.conftest import (  # noqa: F401  (fixtures)
    purge_broker,
    relay,
    smtp_sink,
    thread_worker,
)

ORDERS_URL = "/api/orders"
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 Main Street",
    "city": "Portland",
    "postal_code": "97201",
    "country": "US",
}


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def order_body(*lines: tuple[Product, int], **extra: Any) -> dict[str, Any]:
    return {
        "items": [
            {"product_id": product.pk, "quantity": quantity}
            for product, quantity in lines
        ],
        "shipping_address": ADDRESS,
        **extra,
    }


def place(client: APIClient, body: dict[str, Any], key: str | None = "fresh") -> Any:
    """POST /api/orders; ``key="fresh"`` sends a new random Idempotency-Key."""
    headers = {}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = uuid.uuid4().hex if key == "fresh" else key
    return client.post(ORDERS_URL, body, format="json", **headers)


@pytest.fixture
def buyer() -> User:
    return UserFactory(email="buyer@example.com")


@pytest.fixture
def seller() -> User:
    return SellerFactory(email="seller@example.com")


@pytest.fixture
def staff() -> User:
    return StaffFactory(email="staff@example.com")


@pytest.fixture
def buyer_client(buyer) -> APIClient:
    return client_for(buyer)


@pytest.fixture
def staff_client(staff) -> APIClient:
    return client_for(staff)


@pytest.fixture
def mug(seller) -> Product:
    return ProductFactory(seller=seller, name="Mug", price=Decimal("12.50"), stock=10)


@pytest.fixture
def lamp(seller) -> Product:
    return ProductFactory(seller=seller, name="Lamp", price=Decimal("30.00"), stock=5)


@pytest.fixture
def patient_pool():
    """Let many threads queue for the connection pool instead of timing out.

    Threads share the process's pool (DB_POOL_MAX, 20, well under the
    server's max_connections); with dozens of requests serialised on one
    product's row lock, the default 2 s wait for a pooled connection could
    expire in the queue. The pool is rebuilt with a longer wait, then back.
    """
    from django.db import connection

    options = connection.settings_dict["OPTIONS"]["pool"]
    saved = dict(options)
    connection.close()
    connection.close_pool()
    options["timeout"] = 60
    yield
    connection.close()
    connection.close_pool()
    options.clear()
    options.update(saved)
