"""Stock taken and returned by orders: all or nothing, never below zero, and
the catalog invalidated only when a product sells out or comes back."""

import threading

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from catalog import cache, services
from catalog.exceptions import InsufficientStock
from catalog.models import Product
from tests.factories import ProductFactory


@pytest.fixture(autouse=True)
def _closed_breaker():
    cache.breaker.reset()
    yield
    cache.breaker.reset()


def detail(product: Product):
    return APIClient().get(f"/api/products/{product.pk}")


@pytest.mark.django_db
def test_take_is_all_or_nothing_and_names_the_short_product():
    plenty = ProductFactory(stock=10)
    short = ProductFactory(stock=1)

    with pytest.raises(InsufficientStock) as raised:
        services.stock_take(quantities={plenty.pk: 3, short.pk: 2})

    assert raised.value.extra == {"product_id": short.pk, "available": 1}
    assert Product.objects.get(pk=plenty.pk).stock == 10
    assert Product.objects.get(pk=short.pk).stock == 1
    assert services.stock_take(quantities={plenty.pk: 3, short.pk: 1}) == {
        plenty.pk: 7,
        short.pk: 0,
    }


@pytest.mark.django_db
def test_inactive_or_missing_products_cannot_be_taken_but_can_be_returned():
    gone = ProductFactory(stock=5, is_active=False)
    with pytest.raises(InsufficientStock):
        services.stock_take(quantities={gone.pk: 1})
    with pytest.raises(InsufficientStock):
        services.stock_take(quantities={gone.pk + 1000: 1})
    assert services.stock_return(quantities={gone.pk: 2}) == {gone.pk: 7}
    with pytest.raises(ValueError):
        services.stock_take(quantities={gone.pk: 0})


@pytest.mark.django_db
def test_a_sale_leaves_the_cached_page_but_selling_out_and_restocking_show_at_once(
    django_capture_on_commit_callbacks,
):
    product = ProductFactory(stock=2)
    assert detail(product)["X-Cache"] == "MISS"

    with django_capture_on_commit_callbacks(execute=True):
        services.stock_take(quantities={product.pk: 1})
    cached = detail(product)
    # An ordinary sale: the page may show the old figure for up to CATALOG_TTL.
    assert (cached["X-Cache"], cached.json()["stock"]) == ("HIT", 2)

    with django_capture_on_commit_callbacks(execute=True):
        services.stock_take(quantities={product.pk: 1})
    sold_out = detail(product)
    assert sold_out["X-Cache"] == "MISS"
    assert (sold_out.json()["stock"], sold_out.json()["in_stock"]) == (0, False)
    listed = APIClient().get("/api/products/?in_stock=true")
    assert product.pk not in [row["id"] for row in listed.json()["results"]]

    with django_capture_on_commit_callbacks(execute=True):
        services.stock_return(quantities={product.pk: 3})
    back = detail(product)
    assert back["X-Cache"] == "MISS"
    assert back.json()["in_stock"] is True


@pytest.mark.django_db(transaction=True)
def test_concurrent_takes_never_oversell():
    product = ProductFactory(stock=5)
    outcomes: list[str] = []
    barrier = threading.Barrier(12)

    def buy() -> None:
        barrier.wait()
        try:
            with transaction.atomic():
                services.stock_take(quantities={product.pk: 1})
            outcomes.append("sold")
        except InsufficientStock:
            outcomes.append("short")
        finally:
            connection.close()

    threads = [threading.Thread(target=buy) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["short"] * 7 + ["sold"] * 5
    assert Product.objects.get(pk=product.pk).stock == 0
