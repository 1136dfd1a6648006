"""Hardening: `check --deploy` clean, security headers, CORS only for the
configured origins, /metrics and Flower never open by default, JSON-only
Celery messages and bounded uploads."""

import base64
import io
import os
import pickle
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from kombu.exceptions import ContentDisallowed
from kombu.serialization import dumps, loads
from PIL import Image
from rest_framework.test import APIClient

from jobs.models import JobRecord
from tests.factories import ProductFactory, UserFactory
from tests.subprocess_env import (
    ROOT,
    child_environment,
    closed_port,
    manage,
    run_python,
)

# Production's required secrets and nothing else: every other value is the
# default an operator gets by not setting it.
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_READ_DOT_ENV_FILE": "false",
    "SECRET_KEY": "Hq3v-9xLr2pK7sT4wY6uB1cE5gH0jN3vM8aD2fQ7hR6kS9tW4yX1zC5bG0nLm",
    "ALLOWED_HOSTS": "shop.example",
    "JWT_SIGNING_KEY": "w8Kp2Lq9Rt4Vx7Zb3Nc6Md1Fg5Hj0Ks8Pl2Qr4Tu6Wy9",
    "METRICS_TOKEN": None,
    "CORS_ALLOWED_ORIGINS": None,
    "SECURE_SSL_REDIRECT": None,
    "SECURE_HSTS_SECONDS": None,
    "SECURE_HSTS_PRELOAD": None,
    "REQUEST_STATS_ENABLED": "false",
    "MEMORY_SAMPLE_SECONDS": "0",
    "LOG_LEVEL": "ERROR",
}


# --- check --deploy and headers -----------------------------------------------


@pytest.mark.slow
def test_check_deploy_is_clean_and_nothing_is_silenced():
    silenced = run_python(
        "import json, django; from django.conf import settings; django.setup();"
        "print(json.dumps(settings.SILENCED_SYSTEM_CHECKS))",
        PRODUCTION,
    )
    done = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)

    assert silenced == []
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout


PRODUCTION_RESPONSES = """
import json, django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="shop.example")
secure = client.get("/health", secure=True)
plain = client.get("/api/categories")
probe = client.get("/health")
metrics = client.get("/metrics", REMOTE_ADDR="203.0.113.9", secure=True)
print(json.dumps({
    "secure": dict(secure.headers),
    "plain": [plain.status_code, plain.get("Location")],
    "probe": [probe.status_code, probe.get("Strict-Transport-Security")],
    "metrics": metrics.status_code,
}))
"""


@pytest.mark.slow
def test_production_answers_with_hsts_and_redirects_plain_http():
    # given production settings with their defaults (no METRICS_TOKEN)
    values = run_python(PRODUCTION_RESPONSES, PRODUCTION)
    headers = values["secure"]
    # then HTTPS answers carry HSTS and the base headers
    assert headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    # plain HTTP is sent to HTTPS, except the probes (no HSTS over HTTP)
    assert values["plain"] == [301, "https://shop.example/api/categories"]
    assert values["probe"] == [200, None]
    # and /metrics is shut to a remote scraper without the token
    assert values["metrics"] == 403


def test_every_response_says_nosniff_deny_and_referrer_policy(client):
    for path in ("/health", "/api/", "/api/no/such/thing", "/admin/login/"):
        response = client.get(path)

        assert response["X-Content-Type-Options"] == "nosniff", path
        assert response["X-Frame-Options"] == "DENY", path
        assert response["Referrer-Policy"] == "same-origin", path


# --- CORS -----------------------------------------------------------------------

SHOP = "https://shop.example"


@pytest.mark.django_db
def test_no_cors_headers_at_all_by_default(client, settings):
    assert settings.CORS_ALLOWED_ORIGINS == []

    simple = client.get("/api/categories", HTTP_ORIGIN=SHOP)
    preflight = client.options(
        "/api/orders",
        HTTP_ORIGIN=SHOP,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )

    for response in (simple, preflight):
        cors = [h for h in response.headers if h.lower().startswith("access-control")]
        assert cors == []
        assert "Origin" not in response.get("Vary", "")


@pytest.mark.django_db
def test_an_allowed_origin_gets_preflights_and_readable_answers(client, settings):
    settings.CORS_ALLOWED_ORIGINS = [SHOP]

    preflight = client.options(
        "/api/orders",
        HTTP_ORIGIN=SHOP,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, idempotency-key",
    )
    miss = client.get("/api/categories", HTTP_ORIGIN=SHOP)
    hit = client.get("/api/categories", HTTP_ORIGIN=SHOP)

    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == SHOP
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    allowed = preflight["Access-Control-Allow-Headers"].split(", ")
    assert {"authorization", "content-type", "idempotency-key"} <= set(allowed)
    # Tokens travel in a header, never cookies: no credentials cross-origin.
    assert "Access-Control-Allow-Credentials" not in preflight
    assert (miss["X-Cache"], hit["X-Cache"]) == ("MISS", "HIT")
    for response in (miss, hit):
        assert response["Access-Control-Allow-Origin"] == SHOP
        assert "x-request-id" in response["Access-Control-Expose-Headers"]
        assert "Origin" in response["Vary"]


def test_other_origins_and_other_paths_get_no_cors_headers(client, settings):
    settings.CORS_ALLOWED_ORIGINS = [SHOP]

    stranger = client.options(
        "/api/orders",
        HTTP_ORIGIN="https://evil.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="DELETE",
    )
    outside = client.get("/health", HTTP_ORIGIN=SHOP)
    lookalike = client.get("/api/", HTTP_ORIGIN=SHOP + ".evil.example")

    assert "Access-Control-Allow-Origin" not in stranger
    assert "Access-Control-Allow-Methods" not in stranger
    assert "Origin" in stranger["Vary"]
    assert "Access-Control-Allow-Origin" not in outside
    assert "Access-Control-Allow-Origin" not in lookalike


def test_errors_answered_early_are_readable_by_an_allowed_origin(client, settings):
    # A 413 comes from a middleware before the view: the browser must still
    # be allowed to read it, or the front end sees only a network error.
    settings.CORS_ALLOWED_ORIGINS = [SHOP]
    settings.API_MAX_BODY_BYTES = 100

    response = client.post(
        "/api/auth/login",
        '{"email": "' + "a" * 200 + '"}',
        content_type="application/json",
        HTTP_ORIGIN=SHOP,
    )

    assert response.status_code == 413
    assert response["Access-Control-Allow-Origin"] == SHOP


def test_allowed_origins_come_from_the_environment():
    origins = run_python(
        "import json, django; from django.conf import settings; django.setup();"
        "print(json.dumps(settings.CORS_ALLOWED_ORIGINS))",
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DJANGO_READ_DOT_ENV_FILE": "false",
            "CORS_ALLOWED_ORIGINS": "https://shop.example,https://admin.shop.example/",
        },
    )

    assert origins == ["https://shop.example", "https://admin.shop.example"]


# --- /metrics ---------------------------------------------------------------------


def test_metrics_is_loopback_only_without_a_token(client, settings):
    assert settings.METRICS_TOKEN == ""

    remote = client.get("/metrics", REMOTE_ADDR="198.51.100.7")
    local = client.get("/metrics", REMOTE_ADDR="127.0.0.1")

    assert (remote.status_code, remote.content) == (403, b"forbidden\n")
    assert local.status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        {"HTTP_X_FORWARDED_FOR": "198.51.100.7"},
        {"HTTP_FORWARDED": "for=198.51.100.7"},
        {"HTTP_X_REAL_IP": "198.51.100.7"},
    ],
)
def test_metrics_through_a_local_reverse_proxy_is_remote(client, header):
    """A proxy on this host connects from loopback; the header it adds says
    the caller is elsewhere, so /metrics stays shut without the token."""
    proxied = client.get("/metrics", REMOTE_ADDR="127.0.0.1", **header)
    assert proxied.status_code == 403


def test_metrics_with_a_token_wants_exactly_that_token(client, settings):
    settings.METRICS_TOKEN = "scrape-me-9f2c"

    missing = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-9f2")
    right = client.get(
        "/metrics",
        HTTP_AUTHORIZATION="Bearer scrape-me-9f2c",
        REMOTE_ADDR="198.51.100.7",
    )

    # With a token even loopback must show it.
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert right.status_code == 200


# --- Flower -----------------------------------------------------------------------


def procfile_line(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name} in Procfile")


def procfile_run(
    name: str, celery: str, env: dict[str, str | None]
) -> subprocess.CompletedProcess:
    """The Procfile line ``name`` as honcho runs it (through sh), without the
    respawn wrapper and with ``celery`` replaced by the command ``celery``."""
    command = procfile_line(name).split(" -- ", 1)[-1]
    return subprocess.run(
        ["sh", "-c", command.replace("celery ", f"{celery} ", 1)],
        env=child_environment(env),
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )


def flower_command(env: dict[str, str | None]) -> subprocess.CompletedProcess:
    """The flower line with ``celery`` replaced by a printer of its arguments."""
    return procfile_run("flower", "printf '%s\\n'", env)


def test_flower_binds_loopback_and_requires_basic_auth_by_default():
    unset = {"FLOWER_BASIC_AUTH": None, "FLOWER_ADDRESS": None, "FLOWER_PORT": None}

    refused = flower_command(unset)
    started = flower_command({**unset, "FLOWER_BASIC_AUTH": "ops:Zq8-long-pass"})

    assert refused.returncode != 0
    assert "FLOWER_BASIC_AUTH (user:password) is required" in refused.stderr
    assert refused.stdout == ""
    args = started.stdout.splitlines()
    assert args[:3] == ["-A", "config", "flower"]
    assert "--address=127.0.0.1" in args
    assert "--basic-auth=ops:Zq8-long-pass" in args


def worker_policy(name: str, env: dict[str, str | None]) -> tuple[int, int]:
    """The CPU scheduling policy and niceness the Procfile line ``name`` gives
    its celery, reported by a program in celery's place."""
    report = "import os; print(os.sched_getscheduler(0), os.nice(0))"
    done = procfile_run(name, f"{sys.executable} -c '{report}'", env)
    assert done.returncode == 0, done.stderr
    policy, nice = done.stdout.split()
    return int(policy), int(nice)


def test_the_general_worker_runs_only_on_cpu_time_requests_leave():
    # given the Procfile's workers started with no configuration
    unset: dict[str, str | None] = {"WORKER_SCHED": None, "WORKER_NICE": None}
    ours = os.nice(0)

    # then the general one is idle-scheduled (bench/drain.py), the critical one
    # is not, and WORKER_SCHED=other gives back the normal policy at its niceness
    assert worker_policy("worker", unset) == (os.SCHED_IDLE, ours + 10)
    assert worker_policy("worker_critical", unset) == (os.SCHED_OTHER, ours)
    normal = worker_policy("worker", {**unset, "WORKER_SCHED": "other"})
    assert normal == (os.SCHED_OTHER, ours + 10)


@pytest.mark.slow
def test_a_running_flower_asks_for_its_password(settings):
    # given Flower started from the Procfile line on a free loopback port
    port = closed_port()
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DJANGO_READ_DOT_ENV_FILE": "false",
        # The suite's own broker database: Flower only listens there.
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "FLOWER_BASIC_AUTH": "ops:Zq8-long-pass",
        "FLOWER_PORT": str(port),
        "FLOWER_ADDRESS": None,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    process = subprocess.Popen(
        ["sh", "-c", f"exec {procfile_line('flower')}"],
        cwd=ROOT,
        env=child_environment(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        anonymous = _wait_for_http(url, process)
        secret = base64.b64encode(b"ops:Zq8-long-pass").decode()
        request = urllib.request.Request(
            url, headers={"Authorization": f"Basic {secret}"}
        )
        with DIRECT.open(request, timeout=5) as allowed:
            status = allowed.status
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    # then without the password it is 401, with it 200
    assert anonymous == 401
    assert status == 200


# No proxy from the environment between the test and a loopback port.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _wait_for_http(url: str, process: subprocess.Popen, deadline: float = 30.0) -> int:
    """The status of the first answer from ``url`` (Flower takes a moment)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        assert process.poll() is None, "flower exited"
        try:
            with DIRECT.open(url, timeout=2) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


# --- Celery -----------------------------------------------------------------------


def test_celery_speaks_json_only():
    from config.celery import app

    conf = app.conf
    assert (conf.task_serializer, conf.result_serializer) == ("json", "json")
    assert list(conf.accept_content) == ["json"]
    assert conf.event_serializer == "json"
    assert conf.result_accept_content in (None, ["json"])


def test_a_pickled_message_is_refused_not_unpickled():
    from config.celery import app

    # given a pickled message (pickle runs code while it loads)
    content_type, encoding, body = dumps({"job_id": 1}, serializer="pickle")
    assert content_type == "application/x-python-serialize"
    assert pickle.loads(body) == {"job_id": 1}  # noqa: S301 (our own bytes)
    # then the app's accept list refuses it before unpickling; JSON passes
    accept = {"application/json"}
    assert app.conf.accept_content == ["json"]
    with pytest.raises(ContentDisallowed):
        loads(body, content_type, encoding, accept=accept)
    json_type, json_encoding, json_body = dumps({"job_id": 1}, serializer="json")
    assert loads(json_body, json_type, json_encoding, accept=accept) == {"job_id": 1}


# --- Upload size ------------------------------------------------------------------


def _jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


@pytest.mark.django_db
def test_an_image_one_byte_over_the_limit_is_refused(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    assert settings.PRODUCT_IMAGE_MAX_BYTES == 10 * 1024 * 1024
    data = _jpeg(64, 48)
    product = ProductFactory()
    client = APIClient()
    client.force_authenticate(product.seller)

    def upload() -> object:
        file = SimpleUploadedFile("p.jpg", data, content_type="image/jpeg")
        return client.post(
            f"/api/products/{product.pk}/images", {"image": file}, format="multipart"
        )

    settings.PRODUCT_IMAGE_MAX_BYTES = len(data) - 1
    over = upload()
    settings.PRODUCT_IMAGE_MAX_BYTES = len(data)
    exact = upload()

    assert over.status_code == 413
    assert over.json()["code"] == "payload_too_large"
    assert str(len(data) - 1) in over.json()["detail"]
    assert exact.status_code == 202
    assert JobRecord.objects.count() == 1


@pytest.mark.django_db
def test_a_multipart_body_to_a_json_endpoint_is_bounded_and_refused(client):
    # The image limit is the image endpoint's own: elsewhere a multipart body
    # keeps the general limit, and JSON-only endpoints refuse the type.
    user = UserFactory()
    api = APIClient()
    api.force_authenticate(user)
    big = SimpleUploadedFile("a.bin", b"x" * (2 * 1024 * 1024))

    too_big = api.post("/api/orders", {"file": big}, format="multipart")
    small = api.post(
        "/api/orders",
        {"file": SimpleUploadedFile("a.bin", b"x")},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )

    assert (too_big.status_code, too_big.json()["code"]) == (413, "request_too_large")
    assert (small.status_code, small.json()["code"]) == (415, "unsupported_media_type")


def test_production_refuses_to_start_without_its_token_key():
    # Without its secrets production does not start at all (never a default).
    done = manage("check", env={**PRODUCTION, "JWT_SIGNING_KEY": None})

    assert done.returncode != 0
    assert "JWT_SIGNING_KEY" in done.stderr
    assert "ImproperlyConfigured" in done.stderr
