"""Operator actions under /api/admin/performance/: staff only, slow work queued."""

import itertools
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from catalog import cache
from jobs.enums import JobStatus, Priority
from jobs.models import JobRecord
from jobs.runner import run_job_inline
from monitoring import memory
from tests.factories import CategoryFactory, ProductFactory, StaffFactory, UserFactory
from tests.monitoring.test_operations_access import _routes
from tests.subprocess_env import closed_port

pytestmark = pytest.mark.django_db

WARM = "/api/admin/performance/cache/warm"
INVALIDATE = "/api/admin/performance/cache/invalidate"


@pytest.fixture
def staff_client() -> APIClient:
    client = APIClient()
    client.force_authenticate(StaffFactory())
    return client


def test_anonymous_gets_401_and_other_users_403():
    assert APIClient().post(WARM).status_code == 401
    client = APIClient()
    client.force_authenticate(UserFactory())
    assert client.post(WARM).status_code == 403
    assert (
        client.post(INVALIDATE, {"namespace": "all"}, format="json").status_code == 403
    )


@pytest.mark.django_db(transaction=True)
def test_warm_is_queued_and_its_job_reports_keys_and_time(staff_client):
    category = CategoryFactory()
    ProductFactory.create_batch(2, category=category)

    response = staff_client.post(WARM)
    again = staff_client.post(WARM)

    assert response.status_code == 202
    assert response["Cache-Control"] == "private, no-store"
    job_id = response.json()["job_id"]
    # a second click while the first is waiting does not queue another
    assert again.json()["job_id"] == job_id
    assert JobRecord.objects.get(pk=job_id).type == "cache.warm"

    assert run_job_inline(job_id) == JobStatus.SUCCEEDED
    status = staff_client.get(f"/api/jobs/{job_id}").json()
    assert status["status"] == "succeeded"
    # tree, popular, all products, the category's first page
    assert status["result"]["keys"] >= 4
    assert status["result"]["failed"] == 0
    assert status["result"]["seconds"] >= 0
    assert APIClient().get("/api/categories/")["X-Cache"] == "HIT"


def test_invalidate_a_namespace_makes_its_next_read_miss(
    staff_client, django_capture_on_commit_callbacks
):
    product = ProductFactory()
    anonymous = APIClient()
    anonymous.get("/api/products/")
    anonymous.get(f"/api/products/{product.pk}")
    anonymous.get("/api/categories/")

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            INVALIDATE, {"namespace": "products"}, format="json"
        )

    assert response.status_code == 200
    assert response.json() == {"invalidated": ["products"]}
    assert anonymous.get("/api/products/")["X-Cache"] == "MISS"
    assert anonymous.get(f"/api/products/{product.pk}")["X-Cache"] == "HIT"
    assert anonymous.get("/api/categories/")["X-Cache"] == "HIT"

    with django_capture_on_commit_callbacks(execute=True):
        everything = staff_client.post(INVALIDATE, {"namespace": "all"}, format="json")
    assert set(everything.json()["invalidated"]) == set(cache.NAMESPACES)
    assert anonymous.get(f"/api/products/{product.pk}")["X-Cache"] == "MISS"


def test_invalidate_refuses_unknown_namespaces_and_fields(staff_client):
    bad = staff_client.post(INVALIDATE, {"namespace": "orders"}, format="json")
    extra = staff_client.post(
        INVALIDATE, {"namespace": "products", "force": True}, format="json"
    )
    missing = staff_client.post(INVALIDATE, {}, format="json")

    assert (bad.status_code, extra.status_code, missing.status_code) == (400, 400, 400)
    assert "namespace" in bad.json()
    assert extra.json() == {"force": ["Unknown field."]}
    assert "namespace" in missing.json()


# --- The Operations API: reads -------------------------------------------------

API = "/api/admin/performance/"
HEALTH_ROUTE = "GET health"
SLEEP_ROUTE = "GET test/sleep/<str:seconds>"


def failed_job(**fields: Any) -> JobRecord:
    now = timezone.now()
    values = {
        "type": "cache.warm",
        "priority": Priority.LOW,
        "status": JobStatus.FAILED,
        "attempts": 1,
        "max_attempts": 1,
        "run_at": now - timedelta(seconds=3),
        "started_at": now - timedelta(seconds=2),
        "finished_at": now,
        "error": "RuntimeError: the cache said no",
        "traceback": "Traceback (most recent call last):\n" + "x" * 3000,
    }
    return JobRecord.objects.create(**{**values, **fields})


def traffic(requests: int = 50) -> None:
    client = Client()
    for _ in range(requests):
        assert client.get("/health").status_code == 200


def test_summary_has_the_route_with_ordered_percentiles(staff_client):
    # given 50 requests to the liveness probe
    traffic()

    # when the summary is read
    response = staff_client.get(API + "summary")

    # then both windows count them, overall and on the route's row
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    body = response.json()
    assert set(body) == {"generated_at", "windows"}
    assert set(body["windows"]) == {"5m", "60m"}
    for window in body["windows"].values():
        assert window["requests"] >= 50
        assert window["rate_per_s"] > 0
        assert (window["errors"], window["error_rate"]) == (0, 0.0)
        assert 0 < window["p50_ms"] <= window["p95_ms"] <= window["p99_ms"]
        health = {row["route"]: row for row in window["routes"]}[HEALTH_ROUTE]
        assert health["count"] >= 50
        assert 0 < health["p50_ms"] <= health["p95_ms"] <= health["p99_ms"]
        assert health["rate_per_s"] > 0
        assert set(health) == {
            "route", "count", "errors", "client_errors", "error_rate",
            "p50_ms", "p95_ms", "p99_ms", "rate_per_s",
        }  # fmt: skip


def test_trends_has_one_point_per_minute_with_the_traffic_at_the_end(staff_client):
    # given 50 requests just now
    traffic()

    # when the last 10 minutes are read
    points = staff_client.get(API + "trends", {"minutes": 10}).json()["minutes"]

    # then ten points, oldest first, the last being the current minute
    assert len(points) == 10
    moments = [
        datetime.fromisoformat(p["minute"].replace("Z", "+00:00")) for p in points
    ]
    assert moments == sorted(moments)
    assert all(b - a == timedelta(minutes=1) for a, b in itertools.pairwise(moments))
    now = datetime.now(UTC)
    assert timedelta(0) <= now - moments[-1] < timedelta(minutes=1)
    # the traffic lands in the last minute (or two, if a minute turned over)
    assert sum(p["requests"] for p in points[-2:]) >= 50
    assert all(p["requests"] == 0 and p["p95_ms"] == 0.0 for p in points[:-2])
    assert set(points[-1]) == {
        "minute", "requests", "errors", "error_rate", "p95_ms", "cache_hit_rate",
    }  # fmt: skip


def test_trends_refuses_a_window_out_of_range(staff_client):
    for minutes in (0, 1441, "x"):
        response = staff_client.get(API + "trends", {"minutes": minutes})
        assert response.status_code == 400
        assert "minutes" in response.json()
    assert len(staff_client.get(API + "trends").json()["minutes"]) == 60


def test_a_slow_statement_shows_up_in_queries(staff_client, stats_urls):
    # given a request whose statement sleeps past SLOW_QUERY_MS
    assert Client().get("/test/sleep/0.15").status_code == 200

    # when the slow queries are read
    body = staff_client.get(API + "queries", {"minutes": 60}).json()

    # then the statement is there, literal removed, with the route that ran it
    assert body["threshold_ms"] == settings.SLOW_QUERY_MS
    (row,) = [r for r in body["slow_queries"] if "pg_sleep" in r["example"]]
    assert row["example"] == "SELECT pg_sleep(?)"
    assert row["count"] == 1
    assert row["max_ms"] >= 150
    assert row["route"] == SLEEP_ROUTE
    # the extension is not installed in the test database
    assert body["pg_stat_statements"] is None


def test_failed_jobs_list_newest_first_with_a_truncated_traceback(staff_client):
    # given two failed jobs, a succeeded one and another type's failure
    older = failed_job(finished_at=timezone.now() - timedelta(hours=1))
    newer = failed_job(error="ValueError: bad payload")
    failed_job(status=JobStatus.SUCCEEDED, error="")
    failed_job(type="report.daily")

    # when the failures of one type are listed, one per page
    first = staff_client.get(
        API + "jobs/failed", {"type": "cache.warm", "page_size": 1}
    ).json()
    second = staff_client.get(first["next"]).json()

    # then the newest failure comes first, with its error and traceback's end
    (row,) = first["results"]
    assert row["id"] == str(newer.pk)
    assert row["error"] == "ValueError: bad payload"
    assert len(row["traceback"]) == 2000
    assert set(row) == {
        "id", "type", "priority", "attempts", "max_attempts", "error",
        "traceback", "created_at", "finished_at", "user_id",
    }  # fmt: skip
    assert [r["id"] for r in second["results"]] == [str(older.pk)]
    assert second["next"] is None
    every = staff_client.get(API + "jobs/failed").json()["results"]
    assert len(every) == 3


def test_health_detailed_times_every_dependency(staff_client):
    body = staff_client.get(API + "health/detailed").json()

    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "security_cache", "broker"}
    for check in body["checks"].values():
        assert check["status"] == "ok"
        assert check["latency_ms"] >= 0
        assert check["error"] is None


def test_realtime_counts_database_connections_and_reads_redis(staff_client):
    # given one memory sample of this process
    memory.memory_sample_record(role="web")

    body = staff_client.get(API + "realtime").json()

    assert body["uptime_seconds"] >= 0
    db = body["db"]
    # this very request holds one active connection
    assert db["connections"] >= db["active"] >= 1
    assert db["idle"] >= 0
    assert db["max_connections"] >= db["connections"]
    redis = body["redis"]
    assert redis["status"] == "ok"
    assert redis["used_memory_bytes"] > 0
    assert redis["connected_clients"] >= 1
    assert redis["keys"] >= 0
    (process,) = body["processes"]
    assert (process["role"], process["pid"]) == ("web", os.getpid())
    assert process["rss_bytes"] > 0
    assert (process["samples"], process["leak_suspected"]) == (1, False)


def test_cache_reports_namespaces_and_the_overall_hit_rate(staff_client):
    # given a product list read twice: a miss, then a hit
    ProductFactory()
    anonymous = APIClient()
    assert anonymous.get("/api/products/")["X-Cache"] == "MISS"
    assert anonymous.get("/api/products/")["X-Cache"] == "HIT"

    # when the cache figures are read
    body = staff_client.get(API + "cache").json()

    # then the namespace counts both and the overall rate follows
    products = {row["namespace"]: row for row in body["namespaces"]}["products"]
    assert (products["hits"], products["misses"]) == (1, 1)
    assert body["hit_rate"] == 0.5
    assert body["redis"]["status"] == "ok"


def test_jobs_report_has_counts_and_wait_and_run_percentiles(staff_client):
    # given a LOW job that waited 120 s and ran 60 s, ten minutes ago
    now = timezone.now()
    failed_job(
        status=JobStatus.SUCCEEDED,
        run_at=now - timedelta(minutes=12),
        started_at=now - timedelta(minutes=10),
        finished_at=now - timedelta(minutes=9),
    )
    failed_job(started_at=now - timedelta(hours=2), run_at=now - timedelta(hours=3))

    # when the jobs report is read
    body = staff_client.get(API + "jobs").json()

    # then the counts and the LOW queue's percentiles show it (the old one aside)
    assert body["counts"]["status"]["succeeded"] == 1
    assert body["counts"]["status"]["failed"] == 1
    queues = {row["queue"]: row for row in body["queues"]}
    assert set(queues) == {priority.label for priority in Priority}
    low = queues["low"]
    assert low["wait_p50_s"] == low["wait_p95_s"] == pytest.approx(120, abs=0.01)
    assert low["run_p50_s"] == low["run_p95_s"] == pytest.approx(60, abs=0.01)
    assert queues["high"]["wait_p50_s"] is None
    assert {"queued", "running", "broker_depth", "oldest_queued_seconds"} <= set(low)


def test_dashboard_has_everything_the_page_draws(staff_client, stats_urls):
    # given traffic, a slow statement and a job failure just now
    traffic(5)
    assert Client().get("/test/sleep/0.15").status_code == 200
    job = failed_job()

    # when the dashboard is read
    response = staff_client.get(API + "dashboard")

    # then every block is there, in its shape
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "generated_at", "summary", "series", "queues", "job_failures",
        "slow_queries", "failed_jobs",
    }  # fmt: skip
    assert set(body["summary"]) == {
        "requests", "rate_per_s", "errors", "error_rate", "p50_ms", "p95_ms",
        "p99_ms",
    }  # fmt: skip
    assert body["summary"]["requests"] >= 6
    assert len(body["series"]) == 60
    assert sum(point["requests"] for point in body["series"]) >= 6
    assert len(body["queues"]) == len(Priority)
    assert set(body["queues"][0]) == {
        "queue", "priority", "queued", "running", "broker_depth",
        "oldest_queued_seconds",
    }  # fmt: skip
    assert len(body["job_failures"]) == 60
    assert sum(point["failed"] for point in body["job_failures"][-2:]) == 1
    assert {"minute", "failed", "succeeded"} == set(body["job_failures"][0])
    assert any("pg_sleep" in row["example"] for row in body["slow_queries"])
    (failure,) = body["failed_jobs"]
    assert failure["id"] == str(job.pk)
    assert set(failure) == {
        "id", "type", "priority", "attempts", "max_attempts", "error",
        "finished_at",
    }  # fmt: skip


def test_the_dashboard_costs_a_handful_of_queries(
    staff_client, django_assert_max_num_queries
):
    failed_job()
    with django_assert_max_num_queries(8):
        assert staff_client.get(API + "dashboard").status_code == 200


def test_every_read_answers_200_with_redis_down(staff_client, settings):
    # given the cache Redis on a port where nothing listens
    caches = {alias: dict(conf) for alias, conf in settings.CACHES.items()}
    caches["default"]["LOCATION"] = f"redis://127.0.0.1:{closed_port()}/1"
    settings.CACHES = caches
    reads = [path for method, path in _routes() if method == "get"]
    assert len(reads) >= 9

    # when every read is called, then none fails
    for path in reads:
        response = staff_client.get(path)
        assert response.status_code == 200, (path, response.content[:300])
    realtime = staff_client.get(API + "realtime").json()
    assert realtime["redis"]["status"] == "down"
    assert realtime["redis"]["keys"] is None
    health = staff_client.get(API + "health/detailed").json()
    assert health["status"] == "degraded"
    assert health["checks"]["cache"]["status"] == "down"
    assert health["checks"]["database"]["status"] == "ok"


# --- The Operations API: writes ------------------------------------------------


def test_retry_by_id_queues_the_job_again(staff_client):
    # given a failed job
    job = failed_job()

    # when it is retried by id
    response = staff_client.post(
        API + "jobs/retry", {"job_id": str(job.pk)}, format="json"
    )

    # then it is queued with fresh attempts
    assert response.status_code == 200
    assert response.json() == {"retried": 1}
    job.refresh_from_db()
    assert (job.status, job.attempts, job.finished_at) == (JobStatus.QUEUED, 0, None)


def test_retry_by_type_queues_every_failure_of_that_type(staff_client):
    # given two failures of one type, one of another and a succeeded job
    same = [failed_job(), failed_job()]
    other = failed_job(type="report.daily")
    done = failed_job(status=JobStatus.SUCCEEDED)

    # when the type is retried
    response = staff_client.post(
        API + "jobs/retry", {"type": "cache.warm"}, format="json"
    )

    # then only that type's failures are queued again
    assert response.json() == {"retried": 2}
    statuses = dict(JobRecord.objects.values_list("pk", "status"))
    assert [statuses[job.pk] for job in same] == [JobStatus.QUEUED] * 2
    assert statuses[other.pk] == JobStatus.FAILED
    assert statuses[done.pk] == JobStatus.SUCCEEDED


def test_retry_refuses_unknown_unfailed_and_ambiguous_requests(staff_client):
    job = failed_job(status=JobStatus.SUCCEEDED)
    retry = API + "jobs/retry"

    unknown = staff_client.post(retry, {"job_id": str(uuid.uuid4())}, format="json")
    not_failed = staff_client.post(retry, {"job_id": str(job.pk)}, format="json")
    both = staff_client.post(
        retry, {"job_id": str(job.pk), "type": "cache.warm"}, format="json"
    )
    neither = staff_client.post(retry, {}, format="json")
    bad_id = staff_client.post(retry, {"job_id": "nope"}, format="json")

    assert unknown.status_code == 404
    assert unknown.json()["code"] == "not_found"
    assert not_failed.status_code == 409
    assert not_failed.json()["code"] == "job_not_failed"
    assert "detail" in not_failed.json()
    assert (both.status_code, neither.status_code, bad_id.status_code) == (400,) * 3
    assert set(both.json()) == set(neither.json()) == {"job_id", "type"}
    assert "job_id" in bad_id.json()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED


def test_clear_deletes_only_old_finished_jobs(staff_client):
    # given finished jobs of every kind 10 days old, a recent one and live ones
    old = timezone.now() - timedelta(days=10)
    gone = [
        failed_job(status=status, finished_at=old)
        for status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
    ]
    recent = failed_job(finished_at=timezone.now() - timedelta(days=1))
    live = [
        failed_job(status=JobStatus.QUEUED, finished_at=old, attempts=0),
        failed_job(status=JobStatus.RUNNING, finished_at=old),
    ]

    # when jobs older than a week are cleared
    response = staff_client.post(
        API + "jobs/clear", {"older_than_days": 7}, format="json"
    )

    # then only the old finished ones are gone
    assert response.status_code == 200
    assert response.json() == {"deleted": 3}
    left = set(JobRecord.objects.values_list("pk", flat=True))
    assert left == {recent.pk, *(job.pk for job in live)}
    assert not left & {job.pk for job in gone}
    for days in (0, "x"):
        bad = staff_client.post(
            API + "jobs/clear", {"older_than_days": days}, format="json"
        )
        assert bad.status_code == 400
        assert "older_than_days" in bad.json()


def test_metrics_reset_empties_the_figures(staff_client):
    # given recorded traffic
    traffic(5)
    assert staff_client.get(API + "summary").json()["windows"]["5m"]["requests"] >= 5

    # when the figures are reset
    response = staff_client.post(API + "metrics/reset")

    # then the keys are gone and the traffic with them
    assert response.status_code == 200
    assert response.json()["deleted_keys"] >= 1
    routes = staff_client.get(API + "summary").json()["windows"]["5m"]["routes"]
    assert HEALTH_ROUTE not in {row["route"] for row in routes}


def test_metrics_reset_is_503_when_redis_is_down(staff_client, settings):
    caches = {alias: dict(conf) for alias, conf in settings.CACHES.items()}
    caches["default"]["LOCATION"] = f"redis://127.0.0.1:{closed_port()}/1"
    settings.CACHES = caches

    response = staff_client.post(API + "metrics/reset")

    assert response.status_code == 503
    assert response.json()["code"] == "stats_unavailable"
    assert response.json()["detail"]


def test_the_admin_session_with_its_csrf_token_works(settings):
    # given a staff member signed in to the admin (session cookie, CSRF enforced)
    client = Client(enforce_csrf_checks=True)
    client.force_login(StaffFactory())
    token = _get_new_csrf_string()
    client.cookies[settings.CSRF_COOKIE_NAME] = token

    # when the page reads and writes with the cookie (and the token for writes)
    read = client.get(API + "dashboard")
    write = client.post(
        API + "jobs/clear",
        {"older_than_days": 30},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    forged = client.post(
        API + "jobs/clear", {"older_than_days": 30}, content_type="application/json"
    )

    # then both answer, and a write without the token is refused
    assert read.status_code == 200
    assert write.status_code == 200
    assert forged.status_code == 403
