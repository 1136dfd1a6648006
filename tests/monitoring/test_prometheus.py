"""Prometheus: the alert rules and /metrics pass promtool, /metrics is guarded
as API.md says, adds up every process's files, and carries the route-template
latency and business series; errors reach Sentry tagged with the request id."""

import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from prometheus_client.parser import text_string_to_metric_families

from orders import services
from orders.services import Line
from tests.factories import ProductFactory, UserFactory
from tests.orders.conftest import ADDRESS
from tests.subprocess_env import run_python

ROOT = Path(__file__).resolve().parent.parent.parent
ALERTS = ROOT / "monitoring" / "prometheus" / "alerts.yml"


def promtool() -> str:
    """promtool's path; `make test` installs it, so CI never skips."""
    found = shutil.which("promtool")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("promtool is missing (make test installs the prometheus package)")
    pytest.skip("promtool is not installed (apt-get install prometheus)")


def scrape(client: Client, **extra: Any) -> str:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample called ``name``: sorted label pairs -> value."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_alert_rules_pass_promtool() -> None:
    # given the shipped rule file; when promtool checks it
    done = subprocess.run(
        [promtool(), "check", "rules", str(ALERTS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # then it is valid and holds the five rules
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 5 rules found" in done.stdout


@pytest.mark.django_db
def test_the_exposition_passes_promtool_check_metrics(client: Client) -> None:
    # given some traffic, so labelled series exist
    client.get("/health")
    # when /metrics is fetched from loopback and linted
    text = scrape(client)
    done = subprocess.run(
        [promtool(), "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # then promtool finds nothing wrong
    assert done.returncode == 0, done.stdout + done.stderr
    assert "bazaar_request_seconds_bucket" in text
    assert "django_cache_get_total" in text


@pytest.mark.django_db
def test_with_a_token_only_the_right_bearer_is_answered(client: Client, settings):
    # given a configured token
    settings.METRICS_TOKEN = "s3cret-token"
    # when scraping without, with a wrong and with the right bearer
    missing = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    basic = client.get("/metrics", HTTP_AUTHORIZATION="Basic s3cret-token")
    right = client.get(
        "/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token", REMOTE_ADDR="10.1.2.3"
    )
    # then only the right one gets the exposition, from any address
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert wrong.status_code == 401
    assert basic.status_code == 401
    assert right.status_code == 200
    assert b"# TYPE bazaar_request_seconds histogram" in right.content


@pytest.mark.django_db
def test_without_a_token_only_loopback_is_answered(client: Client, settings):
    # given no token
    settings.METRICS_TOKEN = ""
    # when scraping from IPv4 and IPv6 loopback and from elsewhere
    v4 = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    v6 = client.get("/metrics", REMOTE_ADDR="::1")
    remote = client.get("/metrics", REMOTE_ADDR="192.0.2.10")
    # then
    assert v4.status_code == 200
    assert v6.status_code == 200
    assert remote.status_code == 403


@pytest.mark.django_db(transaction=True)
def test_route_latency_is_labelled_by_template_and_business_counters_count(
    client: Client,
) -> None:
    # given a product looked at by its slug, and an order placed and paid
    product = ProductFactory(price=Decimal("12.50"), currency="EUR")
    buyer = UserFactory()
    before = scrape(client)
    route = "api/products/<str:lookup>/"
    seen_before = samples(before, "bazaar_request_seconds_count").get(
        (("method", "GET"), ("route", route), ("status_class", "2xx")), 0
    )
    placed_before = samples(before, "bazaar_orders_placed_total").get(
        (("currency", "EUR"),), 0
    )
    revenue_before = samples(before, "bazaar_revenue_total").get(
        (("currency", "EUR"),), 0
    )
    assert client.get(f"/api/products/{product.slug}/").status_code == 200
    order = services.order_create(
        user=buyer, lines=[Line(product.pk, 2)], shipping_address=ADDRESS
    )
    services.order_pay(order_id=order.pk, card_token="tok_ok")
    # when
    text = scrape(client)
    # then the series is the route template, never the raw path
    latency = samples(text, "bazaar_request_seconds_count")
    key = (("method", "GET"), ("route", route), ("status_class", "2xx"))
    assert latency[key] == seen_before + 1
    assert product.slug not in text
    # and the order and its payment were counted once each
    placed = samples(text, "bazaar_orders_placed_total")
    assert placed[(("currency", "EUR"),)] == placed_before + 1
    revenue = samples(text, "bazaar_revenue_total")
    assert revenue[(("currency", "EUR"),)] == pytest.approx(
        revenue_before + float(order.total)
    )
    # and the scrape-time gauges are there
    assert samples(text, "bazaar_live_sessions") == {(): 0.0}
    depth = samples(text, "bazaar_job_queue_depth")
    assert depth[(("priority", "high"), ("status", "queued"))] >= 1  # confirmation
    assert (("priority", "critical"),) in samples(text, "bazaar_job_outbox_backlog")


@pytest.mark.django_db
def test_login_failures_and_registrations_are_counted(
    client: Client, django_capture_on_commit_callbacks
) -> None:
    # given the counters now
    before = scrape(client)
    failed_before = samples(before, "bazaar_login_failures_total").get(
        (("reason", "unknown_email"),), 0
    )
    registered_before = samples(before, "bazaar_registrations_total").get((), 0)
    # when someone signs up and someone else signs in with an unknown email
    with django_capture_on_commit_callbacks(execute=True):
        signup = client.post(
            "/api/auth/register",
            {"email": "new-metrics@example.com", "password": "A-long-pass-phrase-42"},
            content_type="application/json",
        )
    login = client.post(
        "/api/auth/login",
        {"email": "nobody-metrics@example.com", "password": "whatever-it-is-1"},
        content_type="application/json",
    )
    text = scrape(client)
    # then
    assert signup.status_code == 201, signup.content
    assert login.status_code == 401, login.content
    assert samples(text, "bazaar_registrations_total")[()] == registered_before + 1
    failures = samples(text, "bazaar_login_failures_total")
    assert failures[(("reason", "unknown_email"),)] == failed_before + 1


WRITER = """
from prometheus_client import Counter
Counter("bazaar_test_cross_process", "written by a child", ("who",)).labels(
    "child"
).inc(3)
"""


@pytest.mark.django_db
def test_multiprocess_files_of_other_processes_add_up(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a multiprocess directory and two other processes writing into it
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for _ in range(2):
        subprocess.run(
            [sys.executable, "-c", WRITER],
            env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)},
            check=True,
            timeout=60,
        )
    # when /metrics is scraped
    text = scrape(client)
    # then both processes' increments are summed, next to the database gauges
    assert samples(text, "bazaar_test_cross_process_total") == {
        (("who", "child"),): 6.0
    }
    assert "bazaar_job_queue_depth" in text
    assert "bazaar_state_gauges_up 1.0" in text
    assert re.search(r"^bazaar_migrations_unapplied 0\.0$", text, re.M)


SCRAPE_WITHOUT_DATABASE = """
import json, django
django.setup()
from django.test import Client
response = Client().get("/metrics", HTTP_HOST="localhost")
print(json.dumps({"status": response.status_code, "body": response.content.decode()}))
"""


def test_a_database_outage_costs_only_the_database_gauges() -> None:
    # given a process whose PostgreSQL port is closed
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DJANGO_READ_DOT_ENV_FILE": "false",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/bazaar",
        "DB_POOL": "false",
        "DB_CONNECT_TIMEOUT": "1",
        "PROMETHEUS_MULTIPROC_DIR": None,
    }
    # when /metrics is scraped
    result = run_python(SCRAPE_WITHOUT_DATABASE, env)
    # then the scrape succeeds, says so, and the other series are there
    assert result["status"] == 200
    assert "bazaar_state_gauges_up 0.0" in result["body"]
    assert "bazaar_job_queue_depth" not in result["body"]
    assert "# TYPE bazaar_request_seconds histogram" in result["body"]


# --- Sentry ----------------------------------------------------------------


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("metrics test boom")


urlpatterns = [path("boom", boom)]


@pytest.mark.urls("tests.monitoring.test_prometheus")
def test_a_view_error_reaches_sentry_with_the_request_id_tag() -> None:
    import sentry_sdk
    from sentry_sdk.transport import Transport

    from monitoring.sentry import sentry_init

    events: list[dict[str, Any]] = []

    class MemoryTransport(Transport):
        """Sentry is off the machine: keep the envelopes instead of sending."""

        def capture_envelope(self, envelope: Any) -> None:
            for item in envelope.items:
                if item.type == "event":
                    events.append(item.payload.json)

    # given Sentry set up as settings do when SENTRY_DSN is set
    sentry_init(
        dsn="http://public@127.0.0.1:9/1",
        traces_sample_rate=0.0,
        environment="test",
        transport=MemoryTransport,
    )
    try:
        # when a view raises during a request with a known id
        client = Client(raise_request_exception=False)
        response = client.get("/boom", HTTP_X_REQUEST_ID="rid-sentry-42")
        sentry_sdk.flush()
        options = sentry_sdk.get_client().options
    finally:
        sentry_sdk.init()  # no DSN: the SDK is off again for other tests
    # then one event carries the request id and no personal data
    assert response.status_code == 500
    assert len(events) == 1
    event = events[0]
    assert event["tags"]["request_id"] == "rid-sentry-42"
    assert event["exception"]["values"][-1]["value"] == "metrics test boom"
    assert "cookies" not in event.get("request", {})
    assert "ip_address" not in event.get("user", {})
    assert not options["send_default_pii"]
