"""Request statistics against real Redis and PostgreSQL: routes, errors, cache
results, slow queries, time windows and Redis going away."""

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django_redis import get_redis_connection

from config.redis_breaker import breaker
from monitoring import stats
from tests.factories import ProductFactory, StaffFactory
from tests.subprocess_env import closed_port

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stats_urls")]

SLEEP_ROUTE = "GET test/sleep/<str:seconds>"


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


def recent() -> dict[str, datetime]:
    """A window around now: the last few minutes and the current one."""
    now = datetime.now(UTC)
    return {"start": now - timedelta(minutes=5), "end": now + timedelta(minutes=1)}


def by_route() -> dict[str, dict[str, Any]]:
    return {row["route"]: row for row in stats.route_figures(**recent())}


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def test_fifty_requests_make_one_row_with_ordered_percentiles(client):
    # given 50 requests to the liveness probe
    for _ in range(50):
        assert client.get("/health").status_code == 200

    # when the figures are read
    rows = by_route()

    # then one row counts them all under its route template
    health = rows["GET health"]
    assert health["count"] == 50
    assert (health["errors"], health["client_errors"], health["error_rate"]) == (
        0,
        0,
        0.0,
    )
    assert 0 < health["p50_ms"] <= health["p95_ms"] <= health["p99_ms"]
    assert stats.totals(**recent())["requests"] == 50


def test_two_products_land_on_one_route_template_row(client):
    # given two products
    first, second = ProductFactory(), ProductFactory()

    # when each is fetched by id
    for product in (first, second):
        assert client.get(f"/api/products/{product.pk}/").status_code == 200

    # then they share the template's row and no raw path is a route
    rows = by_route()
    assert rows["GET api/products/<str:lookup>/"]["count"] == 2
    assert not [name for name in rows if str(first.pk) in name or "None" in name]


def test_server_and_client_errors_are_counted_per_route(client):
    # given a view that raises, one that answers 418 and an unknown API path
    assert client.get("/test/boom").status_code == 500
    assert client.get("/test/status/418").status_code == 418
    assert client.get("/api/no-such-thing").status_code == 404
    assert client.get("/test/status/200").status_code == 200

    # when the figures are read
    rows = by_route()

    # then the 500 is an error, the 4xx are client errors, each on its route
    assert (rows["GET test/boom"]["errors"], rows["GET test/boom"]["error_rate"]) == (
        1,
        1.0,
    )
    status = rows["GET test/status/<int:code>"]
    assert (status["count"], status["errors"], status["client_errors"]) == (2, 0, 1)
    assert status["error_rate"] == 0.0
    assert rows["GET ^api/"]["client_errors"] == 1
    assert stats.totals(**recent()) == {
        "requests": 4,
        "errors": 1,
        "error_rate": 0.25,
    }


def test_unknown_methods_and_unmatched_requests_stay_bounded():
    # given requests with an invented method and with no route
    now = time.time()
    stats.request_record(route=None, method="BREW", status=404, duration_ms=3, now=now)
    stats.request_record(route=None, method="get", status=404, duration_ms=3, now=now)

    # then they count under fixed names
    assert set(by_route()) == {"OTHER unmatched", "GET unmatched"}


def test_cache_hits_misses_and_revalidations_are_counted_per_namespace(client):
    # given a product in the catalog
    ProductFactory()

    # when the list is read twice and then revalidated with its ETag
    first = client.get("/api/products/")
    second = client.get("/api/products/")
    again = client.get("/api/products/", HTTP_IF_NONE_MATCH=second["ETag"])

    # then the cache's answers are counted under the namespace
    assert (first["X-Cache"], second["X-Cache"], again.status_code) == (
        "MISS",
        "HIT",
        304,
    )
    assert stats.cache_figures(**recent()) == [
        {
            "namespace": "products",
            "hits": 2,
            "misses": 1,
            "bypasses": 0,
            "stale": 0,
            "hit_rate": 0.6667,
        }
    ]
    assert by_route()["GET api/products/"]["count"] == 3
    # and one read gives the totals, routes and cache figures alike
    assert stats.request_figures(**recent()) == {
        "requests": stats.totals(**recent()),
        "routes": stats.route_figures(**recent()),
        "cache": stats.cache_figures(**recent()),
    }


def test_sql_is_normalized_without_literals():
    sql = """SELECT "t1"."id" FROM "catalog_product" "t1"
             WHERE "t1"."id" IN (1, 2, 3) AND name = 'O''Brien' AND price > 9.5
             AND seller_id = %s AND x = $1 LIMIT 21"""
    assert stats.normalize_sql(sql) == (
        'SELECT "t1"."id" FROM "catalog_product" "t1" WHERE "t1"."id" IN (...)'
        " AND name = ? AND price > ? AND seller_id = ? AND x = ? LIMIT ?"
    )
    rows = "INSERT INTO t (a, b) VALUES (%s, %s), (%s, %s), (%s, %s)"
    assert stats.normalize_sql(rows) == "INSERT INTO t (a, b) VALUES (...)"


def test_slow_queries_with_different_literals_share_a_fingerprint(client, settings):
    # given statements slower than the threshold, with different literals
    settings.SLOW_QUERY_MS = 100
    assert client.get("/test/sleep/0.15").status_code == 200
    assert client.get("/test/sleep/0.16").status_code == 200

    # when the slow queries are read
    figures = stats.slow_query_figures(**recent())

    # then both are one fingerprint, without literals, naming the route
    assert len(figures) == 1
    slow = figures[0]
    assert slow["example"] == "SELECT pg_sleep(?)"
    assert slow["fingerprint"] == stats.fingerprint("SELECT pg_sleep(?)")
    assert (slow["count"], slow["route"]) == (2, SLEEP_ROUTE)
    assert slow["total_ms"] >= slow["max_ms"] >= slow["avg_ms"] > 0


def test_fast_queries_are_not_recorded(client, settings):
    # given a threshold no statement reaches
    settings.SLOW_QUERY_MS = 60_000

    # when a request runs a query
    assert client.get("/test/sleep/0").status_code == 200

    # then no slow query is kept, but the request is
    assert stats.slow_query_figures(**recent()) == []
    assert by_route()[SLEEP_ROUTE]["count"] == 1


def test_a_slow_request_logs_a_warning_with_route_and_request_id(
    client, settings, caplog
):
    # given a threshold below a request that sleeps in the database
    settings.SLOW_REQUEST_MS = 100
    caplog.set_level(logging.WARNING, logger="bazaar.request")

    # when it runs
    response = client.get("/test/sleep/0.15")

    # then one warning names its route, status, user and request id
    slow = [r.msg for r in caplog.records if r.msg.get("event") == "slow_request"]
    assert len(slow) == 1
    assert slow[0]["route"] == "test/sleep/<str:seconds>"
    assert (slow[0]["status"], slow[0]["user_id"]) == (200, None)
    assert slow[0]["request_id"] == response["X-Request-ID"]
    assert slow[0]["duration_ms"] > 0


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [r.msg for r in caplog.records if r.msg.get("event") == "request"]


def test_the_request_log_looks_up_no_user_the_view_never_needed(
    client, caplog, django_assert_num_queries
):
    # given a signed-in browser session
    client.force_login(StaffFactory())
    caplog.set_level(logging.INFO, logger="bazaar.request")

    # when it calls the liveness probe, which never reads the user
    with django_assert_num_queries(0):
        assert client.get("/health").status_code == 200

    # then the log line cost no session or user query, and names no user
    (line,) = request_lines(caplog)
    assert (line["route"], line["user_id"]) == ("health", None)


def test_the_request_log_names_the_user_a_view_authenticated(client, caplog):
    # given a signed-in staff session
    staff = StaffFactory()
    client.force_login(staff)
    caplog.set_level(logging.INFO, logger="bazaar.request")

    # when it calls an API view (which authenticates the session)
    assert client.get("/api/admin/performance/summary").status_code == 200

    # then the log line names that user
    (line,) = request_lines(caplog)
    assert line["user_id"] == staff.pk


def test_a_fast_request_logs_no_slow_warning(client, settings, caplog):
    settings.SLOW_REQUEST_MS = 60_000
    caplog.set_level(logging.INFO, logger="bazaar.request")

    assert client.get("/health").status_code == 200

    events = [r.msg.get("event") for r in caplog.records if isinstance(r.msg, dict)]
    assert "request" in events
    assert "slow_request" not in events


def test_slow_routes_rank_after_busy_ones_and_measure_slower(client):
    # given many quick requests and a few slow ones
    for _ in range(5):
        client.get("/health")
    client.get("/test/sleep/0.15")

    # when the figures are read
    figures = stats.route_figures(**recent())

    # then rows are busiest first, and the sleeping route measures slower
    assert [row["route"] for row in figures] == ["GET health", SLEEP_ROUTE]
    assert figures[1]["p50_ms"] >= figures[0]["p50_ms"]


def test_figures_outside_the_window_are_left_out():
    # given requests just before, inside and just after one whole minute
    minute = (int(time.time()) // 60 - 30) * 60
    for moment, status in (
        (minute - 1, 500),
        (minute, 200),
        (minute + 59, 500),
        (minute + 60, 200),
    ):
        stats.request_record(
            route="health",
            method="GET",
            status=status,
            duration_ms=4,
            cache=("products", "HIT"),
            now=moment,
        )

    # when that minute is read
    window = {"start": at(minute), "end": at(minute + 60)}

    # then only the two inside it count
    assert stats.totals(**window) == {"requests": 2, "errors": 1, "error_rate": 0.5}
    assert stats.route_figures(**window)[0]["count"] == 2
    assert stats.cache_figures(**window)[0]["hits"] == 2


def test_slow_queries_outside_the_hours_are_left_out():
    # given one slow statement in each of two hours
    hour = (int(time.time()) // 3600 - 1) * 3600
    for moment in (hour - 1, hour + 5):
        stats.slow_query_record(
            sql="SELECT 1", duration_ms=120, route="GET health", now=moment
        )

    # then reading the later hour finds one
    figures = stats.slow_query_figures(start=at(hour), end=at(hour + 3600))
    assert [(row["count"], row["example"]) for row in figures] == [(1, "SELECT ?")]


def test_stats_can_be_switched_off(client, settings):
    settings.REQUEST_STATS_ENABLED = False

    assert client.get("/health").status_code == 200

    assert stats.route_figures(**recent()) == []


def test_reset_deletes_only_statistics(client):
    # given figures and a catalog cache entry
    ProductFactory()
    client.get("/api/products/")
    redis = get_redis_connection("default")
    catalog_keys = len(redis.keys("bz:catalog:*"))

    # when the statistics are reset
    deleted = stats.stats_reset()

    # then they are gone and the cache is not
    assert deleted >= 1
    assert stats.route_figures(**recent()) == []
    assert redis.keys("bz:stats:*") == []
    assert len(redis.keys("bz:catalog:*")) == catalog_keys > 0


def test_redis_down_keeps_requests_answering_and_readers_empty(client, settings):
    # given the default Redis on a port nothing listens on
    caches = {alias: dict(conf) for alias, conf in settings.CACHES.items()}
    caches["default"]["LOCATION"] = f"redis://127.0.0.1:{closed_port()}/1"
    settings.CACHES = caches

    # when requests come in
    health = client.get("/health")
    categories = client.get("/api/categories/")

    # then they are answered and the breaker is open
    assert health.status_code == 200
    assert (categories.status_code, categories["X-Cache"]) == (200, "BYPASS")
    assert breaker.is_open()

    # and readers answer empty, whether the breaker is open or not yet
    def read_all() -> list[Any]:
        return [
            stats.route_figures(**recent()),
            stats.cache_figures(**recent()),
            stats.slow_query_figures(**recent()),
            stats.totals(**recent())["requests"],
        ]

    assert read_all() == [[], [], [], 0]
    breaker.reset()
    assert read_all() == [[], [], [], 0]
    assert breaker.is_open()


def test_a_window_wider_than_retention_reads_only_what_can_exist():
    # given one request now
    stats.request_record(route="health", method="GET", status=200, duration_ms=2)

    # when a century is asked for
    century = {"start": datetime(1970, 1, 1, tzinfo=UTC), "end": datetime(2100, 1, 1)}

    # then the request is found, reading no more minutes than retention keeps
    assert stats.totals(**century)["requests"] == 1
    assert len(stats._buckets(century["start"], century["end"], 60)) <= 48 * 60 + 3
    assert stats.slow_query_figures(**century) == []
