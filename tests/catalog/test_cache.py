"""The response cache against real Redis: hits, 304s, gzip, invalidation,
stampedes, expiry and Redis going away."""

import gzip
import json
import threading
import time

import pytest
from django.test import RequestFactory
from django_redis import get_redis_connection

from catalog import cache
from tests.subprocess_env import closed_port

rf = RequestFactory()


class Counter:
    """A compute function that counts its calls and can be slowed down."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.calls = 0
        self.status = status
        self.delay = delay
        self.lock = threading.Lock()

    def __call__(self) -> tuple[int, bytes]:
        with self.lock:
            self.calls += 1
            n = self.calls
        time.sleep(self.delay)
        return self.status, json.dumps({"results": ["x" * 600], "build": n}).encode()


@pytest.fixture(autouse=True)
def _closed_breaker():
    cache.breaker.reset()
    yield
    cache.breaker.reset()


def get(
    path="/api/products/", compute=None, *, tags=(), params=("category",), **headers
):
    request = rf.get(path, **headers)
    return cache.serve(
        request, namespace="products", compute=compute, tags=tags, params=params
    )


def test_miss_then_hit_with_strong_etag_and_public_no_cache():
    compute = Counter()
    first = get(compute=compute)
    second = get(compute=compute)
    assert (first["X-Cache"], second["X-Cache"]) == ("MISS", "HIT")
    assert compute.calls == 1
    assert second.content == first.content
    assert second["ETag"] == first["ETag"]
    assert second["ETag"].startswith('"') and not second["ETag"].startswith("W/")
    assert second["Cache-Control"] == "public, no-cache"
    assert second["Vary"] == "Accept-Encoding"
    assert second["Content-Type"] == "application/json"


def test_if_none_match_answers_304_without_building():
    compute = Counter()
    etag = get(compute=compute)["ETag"]
    response = get(compute=compute, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag
    assert compute.calls == 1
    other = get(compute=compute, HTTP_IF_NONE_MATCH='"something-else"')
    assert other.status_code == 200


def test_revalidation_after_a_write_gets_the_new_body():
    compute = Counter()
    old = get(compute=compute, tags=["product:1"])
    cache_bump("tag:product:1")

    response = get(compute=compute, tags=["product:1"], HTTP_IF_NONE_MATCH=old["ETag"])

    assert response.status_code == 200
    assert json.loads(response.content)["build"] == 2
    assert response["ETag"] != old["ETag"]


def cache_bump(name: str) -> None:
    get_redis_connection("default").set(cache._token_key(name), "bumped")


def test_gzip_variant_has_its_own_strong_etag():
    compute = Counter()
    plain = get(compute=compute)
    zipped = get(compute=compute, HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == plain.content
    assert zipped["ETag"] != plain["ETag"]
    assert zipped["X-Cache"] == "HIT"  # both variants were stored by the first build
    assert (
        get(
            compute=compute,
            HTTP_ACCEPT_ENCODING="gzip",
            HTTP_IF_NONE_MATCH=zipped["ETag"],
        ).status_code
        == 304
    )


def test_query_params_are_normalized_and_whitelisted():
    compute = Counter()
    get("/api/products/?category=3&utm_source=x", compute)
    assert get("/api/products?utm_source=y&category=3", compute)["X-Cache"] == "HIT"
    assert get("/api/products/?category=4", compute)["X-Cache"] == "MISS"
    assert compute.calls == 2


@pytest.mark.django_db
def test_invalidation_after_commit_makes_the_next_read_miss(
    django_capture_on_commit_callbacks,
):
    compute = Counter()
    get(compute=compute, tags=["product:1"])
    other = Counter()
    get("/api/products/2/", other, tags=["product:2"])
    with django_capture_on_commit_callbacks(execute=True):
        cache.catalog_invalidate(tags=["product:1"])
    assert get(compute=compute, tags=["product:1"])["X-Cache"] == "MISS"
    assert get("/api/products/2/", other, tags=["product:2"])["X-Cache"] == "HIT"
    with django_capture_on_commit_callbacks(execute=True):
        cache.catalog_invalidate(namespaces=["products"])
    assert get("/api/products/2/", other, tags=["product:2"])["X-Cache"] == "MISS"


@pytest.mark.django_db
def test_invalidation_waits_for_commit(django_capture_on_commit_callbacks):
    compute = Counter()
    get(compute=compute)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        cache.catalog_invalidate(namespaces=["products"])
        # inside the transaction readers still get the committed state's entry
        assert get(compute=compute)["X-Cache"] == "HIT"
    assert len(callbacks) == 1


def test_errors_are_not_stored():
    compute = Counter(status=404)
    assert get(compute=compute).status_code == 404
    assert get(compute=compute).status_code == 404
    assert compute.calls == 2


def test_evicted_token_never_revives_an_old_entry():
    compute = Counter()
    get(compute=compute)
    get_redis_connection("default").delete(cache._token_key("ns:products"))
    assert get(compute=compute)["X-Cache"] == "MISS"
    assert get(compute=compute)["X-Cache"] == "HIT"


def test_fifty_concurrent_requests_on_a_cold_key_build_it_once():
    compute = Counter(delay=0.2)
    results: list[str] = []
    barrier = threading.Barrier(50)

    def hit() -> None:
        barrier.wait()
        results.append(get(compute=compute)["X-Cache"])

    threads = [threading.Thread(target=hit) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert compute.calls == 1
    assert sorted(set(results)) == ["HIT", "MISS"]
    assert results.count("MISS") == 1


def test_expired_entry_is_served_while_another_process_rebuilds(settings):
    compute = Counter()
    request = rf.get("/api/products/")
    cache.serve(request, namespace="products", compute=compute, ttl=1)
    lookup = cache._Lookup(
        request, namespace="products", compute=compute, tags=(), params=(), ttl=1
    )
    # age the stored entries past their freshness instead of waiting for it
    redis = get_redis_connection("default")
    for variant in cache.VARIANTS:
        entry = cache.Entry.unpack(redis.get(lookup.key(variant)))
        aged = cache.Entry(
            entry.status, entry.etag, entry.created - 5, entry.tokens, entry.body
        )
        redis.set(lookup.key(variant), aged.pack())
    get_redis_connection("default").set(
        lookup.lock, b"1", px=2000
    )  # a rebuild is under way
    response = cache.serve(request, namespace="products", compute=compute, ttl=1)
    assert response["X-Cache"] == "HIT"
    assert compute.calls == 1
    get_redis_connection("default").delete(lookup.lock)
    assert (
        cache.serve(request, namespace="products", compute=compute, ttl=1)["X-Cache"]
        == "MISS"
    )
    assert compute.calls == 2


def test_a_dropped_hit_connection_is_replaced_without_a_bypass():
    compute = Counter()
    get(compute=compute)
    assert get(compute=compute)["X-Cache"] == "HIT"
    conn = cache._hot.conn
    conn.send_command("CLIENT", "ID")
    get_redis_connection("default").execute_command(
        "CLIENT", "KILL", "ID", conn.read_response()
    )

    assert get(compute=compute)["X-Cache"] == "HIT"
    assert not cache.breaker.is_open()
    assert compute.calls == 1


def test_redis_down_bypasses_without_errors_and_stops_trying(settings):
    caches = {alias: dict(conf) for alias, conf in settings.CACHES.items()}
    caches["default"]["LOCATION"] = f"redis://127.0.0.1:{closed_port()}/1"
    settings.CACHES = caches
    compute = Counter()
    first = get(compute=compute)
    assert (first.status_code, first["X-Cache"]) == (200, "BYPASS")
    assert cache.breaker.is_open()
    started = time.perf_counter()
    for _ in range(20):
        assert get(compute=compute)["X-Cache"] == "BYPASS"
    assert time.perf_counter() - started < 0.5  # no connect attempt per request
    assert compute.calls == 21


@pytest.mark.django_db
def test_invalidation_lost_to_an_outage_resets_everything_once_redis_answers(
    settings, django_capture_on_commit_callbacks
):
    compute = Counter()
    get(compute=compute)
    live = settings.CACHES
    dead = {alias: dict(conf) for alias, conf in live.items()}
    dead["default"]["LOCATION"] = f"redis://127.0.0.1:{closed_port()}/1"
    settings.CACHES = dead
    with django_capture_on_commit_callbacks(execute=True):
        cache.catalog_invalidate(tags=["product:9"])
    assert cache.breaker.lost_invalidation
    settings.CACHES = live
    cache.breaker.open_until = 0.0
    assert get(compute=compute)["X-Cache"] == "MISS"  # the global epoch moved
    assert not cache.breaker.lost_invalidation


def test_bypass_still_serves_each_encoding(settings):
    caches = {alias: dict(conf) for alias, conf in settings.CACHES.items()}
    caches["default"]["LOCATION"] = f"redis://127.0.0.1:{closed_port()}/1"
    settings.CACHES = caches
    plain = get(compute=Counter())
    zipped = get(compute=Counter(), HTTP_ACCEPT_ENCODING="gzip")
    assert (plain["X-Cache"], zipped["X-Cache"]) == ("BYPASS", "BYPASS")
    assert "Content-Encoding" not in plain
    assert zipped["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(zipped.content)) == json.loads(plain.content)
    assert zipped["ETag"] == cache.etag_for(plain.content, "gzip")
