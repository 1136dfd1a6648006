"""Refresh-ahead against real Redis and a real Celery worker: a hit past the
refresh point schedules one background rebuild, the worker rebuilds the entry
through the cached view, and nothing of it can fail or slow a request."""

import gzip
import json
import time

import pytest
from django.db import transaction
from django_redis import get_redis_connection
from redis import Redis
from rest_framework.test import APIClient

from catalog import cache, services
from catalog.cache.store import PREFIX, Entry, refresher
from catalog.popularity import VIEWS_KEY
from catalog.warming import cache_refresh
from tests.factories import ProductFactory
from tests.jobs.conftest import purge_broker, thread_worker, wait_until  # noqa: F401
from tests.subprocess_env import closed_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_state(settings, purge_broker):  # noqa: F811
    settings.CATALOG_TTL = 30
    settings.CATALOG_REFRESH_AHEAD = 0.5
    cache.breaker.reset()
    refresher.reset()
    yield
    cache.breaker.reset()
    refresher.reset()


def broker() -> Redis:
    from django.conf import settings

    return Redis.from_url(settings.CELERY_BROKER_URL)


def refresh_messages() -> list[dict]:
    """The messages waiting in the MEDIUM queue (kombu's Redis list): ahead of
    LOW and BATCH backlogs, so a busy worker still keeps the cache warm."""
    return [json.loads(raw) for raw in broker().lrange("medium", 0, -1)]


def entries() -> dict[bytes, Entry]:
    client = get_redis_connection("default")
    return {
        key: Entry.unpack(client.get(key)) for key in client.scan_iter(f"{PREFIX}:r:*")
    }


def age_entries(seconds: float) -> None:
    """Make every stored entry ``seconds`` older (as if built that long ago)."""
    client = get_redis_connection("default")
    for key, entry in entries().items():
        older = Entry(
            entry.status, entry.etag, entry.created - seconds, entry.tokens, entry.body
        )
        client.set(key, older.pack(), keepttl=True)


def test_a_hit_past_the_refresh_point_schedules_exactly_one_refresh():
    product = ProductFactory(stock=100)
    client = APIClient()
    assert client.get(f"/api/products/{product.id}/")["X-Cache"] == "MISS"
    age_entries(20)  # 20 s of CATALOG_TTL's 30: past the refresh point (15 s)
    for _ in range(10):
        refresher.claims.clear()  # as if each hit came from another process
        response = client.get(f"/api/products/{product.id}/")
        assert response["X-Cache"] == "HIT"
    gz = client.get(f"/api/products/{product.id}/", HTTP_ACCEPT_ENCODING="gzip")
    assert gz["X-Cache"] == "HIT"
    messages = refresh_messages()
    assert len(messages) == 1
    assert messages[0]["headers"]["task"] == "cache.refresh"
    assert messages[0]["headers"]["argsrepr"] == repr([f"/api/products/{product.id}/"])
    assert messages[0]["headers"]["expires"]  # dropped if picked up after expiry


def test_a_hit_before_the_refresh_point_schedules_nothing():
    product = ProductFactory()
    client = APIClient()
    assert client.get("/api/products/?ordering=price")["X-Cache"] == "MISS"
    assert client.get(f"/api/products/{product.id}/")["X-Cache"] == "MISS"
    age_entries(10)  # 10 s of 30: before the refresh point
    for _ in range(5):
        assert client.get("/api/products/?ordering=price")["X-Cache"] == "HIT"
        assert client.get(f"/api/products/{product.id}/")["X-Cache"] == "HIT"
    assert refresh_messages() == []
    assert not list(get_redis_connection("default").scan_iter(f"{PREFIX}:ra:*"))


def test_zero_disables_refresh_ahead(settings):
    settings.CATALOG_REFRESH_AHEAD = 0
    ProductFactory()
    client = APIClient()
    assert client.get("/api/products/")["X-Cache"] == "MISS"
    age_entries(29)
    for _ in range(3):
        assert client.get("/api/products/")["X-Cache"] == "HIT"
    assert refresh_messages() == []


def test_a_conditional_hit_past_the_refresh_point_schedules_too():
    ProductFactory()
    client = APIClient()
    first = client.get("/api/products/")
    age_entries(20)
    again = client.get("/api/products/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert len(refresh_messages()) == 1


@pytest.mark.django_db(transaction=True)
def test_the_worker_rebuilds_the_entry_through_the_cached_view(thread_worker):  # noqa: F811
    thread_worker(queues=["medium"])
    product = ProductFactory(stock=100)
    client = APIClient()
    path = f"/api/products/{product.id}/"
    assert client.get(path)["X-Cache"] == "MISS"
    # A sale: deliberately no flush (stock may lag by CATALOG_TTL).
    with transaction.atomic():
        services.stock_take(quantities={product.id: 3})
    cached = client.get(path)
    assert (cached["X-Cache"], cached.json()["stock"]) == ("HIT", 100)
    age_entries(20)
    before = {key: entry.created for key, entry in entries().items()}
    assert client.get(path)["X-Cache"] == "HIT"  # schedules the refresh

    def rebuilt() -> bool:
        now = entries()
        return set(now) == set(before) and all(
            now[key].created > before[key] + 15 for key in before
        )

    wait_until(rebuilt, timeout=20)
    plain = client.get(path)
    assert (plain["X-Cache"], plain.json()["stock"]) == ("HIT", 97)
    zipped = client.get(path, HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["X-Cache"] == "HIT"
    assert json.loads(gzip.decompress(zipped.content))["stock"] == 97
    # The rebuild was not a visit: only the four client GETs counted.
    views = get_redis_connection("default").hget(VIEWS_KEY, str(product.id))
    assert views is None or int(views) <= 5
    assert refresh_messages() == []  # consumed


def test_the_refresh_service_rebuilds_only_what_needs_it():
    product = ProductFactory(stock=10)
    client = APIClient()
    path = f"/api/products/{product.id}/"
    client.get(path)
    assert cache_refresh(path) == "skipped"  # fresh: nothing to do
    age_entries(20)
    assert cache_refresh(path) == "done"
    assert cache_refresh(path) == "skipped"  # done already (a duplicate)
    product.delete()
    age_entries(20)
    assert cache_refresh(path) == "failed"  # a 404 is never stored
    assert cache_refresh("/api/nowhere/") == "failed"


def test_a_dead_broker_neither_fails_nor_slows_a_hit(settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    ProductFactory()
    client = APIClient()
    assert client.get("/api/products/")["X-Cache"] == "MISS"
    age_entries(20)
    started = time.monotonic()
    response = client.get("/api/products/")
    assert (response.status_code, response["X-Cache"]) == (200, "HIT")
    assert time.monotonic() - started < 1.0
    assert refresher.is_open()  # the next hits do not try again for a while
    refresher.claims.clear()
    get_redis_connection("default").delete(
        *get_redis_connection("default").keys(f"{PREFIX}:ra:*")
    )
    started = time.monotonic()
    assert client.get("/api/products/")["X-Cache"] == "HIT"
    assert time.monotonic() - started < 0.2


def test_a_dead_cache_redis_still_answers(settings):
    ProductFactory.create_batch(2)
    client = APIClient()
    assert client.get("/api/products/")["X-Cache"] == "MISS"
    age_entries(20)
    caches = {alias: dict(conf) for alias, conf in settings.CACHES.items()}
    caches["default"]["LOCATION"] = f"redis://127.0.0.1:{closed_port()}/1"
    settings.CACHES = caches
    response = client.get("/api/products/")
    assert (response.status_code, response["X-Cache"]) == (200, "BYPASS")
    assert len(response.json()["results"]) == 2
    assert refresh_messages() == []
