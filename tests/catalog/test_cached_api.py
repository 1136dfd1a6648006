"""Catalog GETs through the response cache, end to end over the API."""

import gzip
import threading

import pytest
from django_redis import get_redis_connection
from rest_framework.test import APIClient

from catalog import cache, selectors
from catalog.popularity import VIEWS_KEY
from tests.factories import CategoryFactory, ProductFactory, StaffFactory
from tests.subprocess_env import closed_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _closed_breaker():
    cache.breaker.reset()
    yield
    cache.breaker.reset()


def owner_client(product) -> APIClient:
    client = APIClient()
    client.force_login(product.seller)
    return client


def test_list_is_cached_with_etag_and_answers_304_without_queries(
    django_assert_num_queries,
):
    ProductFactory.create_batch(3)
    client = APIClient()
    first = client.get("/api/products/")
    second = client.get("/api/products/")
    assert (first["X-Cache"], second["X-Cache"]) == ("MISS", "HIT")
    assert second.json() == first.json()
    assert second["Cache-Control"] == "public, no-cache"
    with django_assert_num_queries(0):
        revalidated = client.get("/api/products/", HTTP_IF_NONE_MATCH=second["ETag"])
        hit = client.get("/api/products/")
    assert revalidated.status_code == 304
    assert hit["X-Cache"] == "HIT"


def test_gzip_for_clients_that_ask():
    ProductFactory.create_batch(5)
    client = APIClient()
    plain = client.get("/api/products/")
    zipped = client.get("/api/products/", HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == plain.content


def test_a_write_is_visible_on_the_next_read_everywhere(
    django_capture_on_commit_callbacks,
):
    # given cached list, detail (by id and slug), tree and popular pages
    product = ProductFactory(name="Desk lamp", slug="desk-lamp", popularity=10)
    client = APIClient()
    urls = [
        "/api/products/",
        f"/api/products/{product.id}/",
        "/api/products/desk-lamp/",
        "/api/categories/",
        "/api/catalog/popular/",
    ]
    for url in urls:
        client.get(url)
        assert client.get(url)["X-Cache"] == "HIT"
    # when its seller changes the price (invalidation runs on commit)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client(product).patch(
            f"/api/products/{product.id}/", {"price": "24.50"}, format="json"
        )
    assert response.status_code == 200
    # then every page shows the new price at once
    assert client.get("/api/products/").json()["results"][0]["price"] == "24.50"
    assert client.get(f"/api/products/{product.id}/").json()["price"] == "24.50"
    assert client.get("/api/products/desk-lamp/").json()["price"] == "24.50"
    assert client.get("/api/catalog/popular/").json()[0]["price"] == "24.50"
    # and a deactivated product leaves the tree's count and the detail
    with django_capture_on_commit_callbacks(execute=True):
        owner_client(product).delete(f"/api/products/{product.id}/")
    tree = client.get("/api/categories/").json()
    assert tree[0]["product_count"] == 0
    assert client.get(f"/api/products/{product.id}/").status_code == 404


def test_category_rename_reaches_cached_product_pages(
    django_capture_on_commit_callbacks,
):
    category = CategoryFactory(name="Lamps")
    product = ProductFactory(category=category)
    client = APIClient()
    client.get(f"/api/products/{product.id}/")
    staff = APIClient()
    staff.force_login(StaffFactory())
    with django_capture_on_commit_callbacks(execute=True):
        staff.patch(
            f"/api/categories/{category.id}/", {"name": "Lighting"}, format="json"
        )
    assert (
        client.get(f"/api/products/{product.id}/").json()["category"]["name"]
        == "Lighting"
    )


def test_browsable_api_bypasses_the_cache():
    ProductFactory()
    response = APIClient().get("/api/products/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "X-Cache" not in response


def test_redis_down_answers_from_the_database_without_errors(settings):
    ProductFactory.create_batch(2)
    caches = {alias: dict(conf) for alias, conf in settings.CACHES.items()}
    caches["default"]["LOCATION"] = f"redis://127.0.0.1:{closed_port()}/1"
    settings.CACHES = caches
    client = APIClient()
    for url in ("/api/products/", "/api/categories/", "/api/catalog/popular/"):
        response = client.get(url)
        assert response.status_code == 200
        assert response["X-Cache"] == "BYPASS"
    assert len(client.get("/api/products/").json()["results"]) == 2


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_requests_on_a_cold_list_compute_it_once(monkeypatch):
    ProductFactory.create_batch(3)
    calls = []
    original = selectors.product_list

    def counting(**kwargs):
        calls.append(1)
        return original(**kwargs)

    monkeypatch.setattr(selectors, "product_list", counting)
    barrier = threading.Barrier(50)
    statuses = []

    def fetch() -> None:
        from django.db import connection

        barrier.wait()
        statuses.append(APIClient().get("/api/products/?ordering=price").status_code)
        connection.close()

    threads = [threading.Thread(target=fetch) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 50
    assert len(calls) == 1


def test_a_current_etag_is_answered_304_before_the_rest_of_the_stack(
    django_assert_num_queries,
):
    product = ProductFactory()
    client = APIClient()
    etag = client.get("/api/products/")["ETag"]
    detail_etag = client.get(f"/api/products/{product.pk}")["ETag"]
    redis = get_redis_connection("default")
    views_before = int(redis.hget(VIEWS_KEY, str(product.pk)) or 0)

    with django_assert_num_queries(0):
        listed = client.get("/api/products", HTTP_IF_NONE_MATCH=etag)
        shown = client.get(
            f"/api/products/{product.pk}/", HTTP_IF_NONE_MATCH=detail_etag
        )

    for response, expected in ((listed, etag), (shown, detail_etag)):
        assert response.status_code == 304
        assert response["ETag"] == expected
        assert response["Cache-Control"] == "public, no-cache"
        assert response["Vary"] == "Accept-Encoding"
        assert response["X-Cache"] == "HIT"
        assert response.has_header("X-Request-ID")
        # answered before the middleware that adds body-only headers
        assert not response.has_header("X-Frame-Options")
    # a revalidated detail still counts as a view
    assert int(redis.hget(VIEWS_KEY, str(product.pk))) == views_before + 1


def test_a_stale_etag_or_a_browser_goes_through_the_whole_stack(
    django_capture_on_commit_callbacks,
):
    product = ProductFactory(name="Old name")
    client = APIClient()
    etag = client.get(f"/api/products/{product.pk}")["ETag"]
    staff = APIClient()
    staff.force_authenticate(StaffFactory())
    with django_capture_on_commit_callbacks(execute=True):
        staff.patch(f"/api/products/{product.pk}", {"name": "New name"}, format="json")

    changed = client.get(f"/api/products/{product.pk}", HTTP_IF_NONE_MATCH=etag)
    html = client.get(
        f"/api/products/{product.pk}", HTTP_IF_NONE_MATCH=etag, HTTP_ACCEPT="text/html"
    )
    wrong_host = client.get(
        "/api/products/", HTTP_IF_NONE_MATCH=etag, HTTP_HOST="evil.example"
    )

    assert changed.status_code == 200
    assert changed.json()["name"] == "New name"
    assert changed["X-Frame-Options"] == "DENY"
    assert html.status_code == 200
    assert html["Content-Type"].startswith("text/html")
    assert wrong_host.status_code == 400
