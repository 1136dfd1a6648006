"""Liveness and readiness probes (API.md: no /api/ prefix, anyone may call),
and the Prometheus exposition at /metrics."""

import hmac
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from monitoring.health import OK, run_checks
from monitoring.metrics import StateCollector

LOOPBACK = frozenset({"127.0.0.1", "::1"})


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """200 while the process serves; touches no dependency."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    """200 ok/degraded while the database answers; 503 when it does not.

    A dead cache or broker only degrades: the API still serves and jobs wait
    in the database until the broker returns.
    """
    results = run_checks()
    checks = {name: result["status"] for name, result in results.items()}
    if checks["database"] != OK:
        return JsonResponse({"status": "unavailable", "checks": checks}, status=503)
    overall = "ok" if all(state == OK for state in checks.values()) else "degraded"
    return JsonResponse({"status": overall, "checks": checks})


def _metrics_denied(request: HttpRequest) -> HttpResponse | None:
    """API.md: a bearer token when METRICS_TOKEN is set, else loopback only."""
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode(), token.encode()
        ):
            return None
        response = HttpResponse("unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if request.META.get("REMOTE_ADDR") in LOOPBACK and not _forwarded(request):
        return None
    return HttpResponse("forbidden\n", status=403, content_type="text/plain")


# Headers a reverse proxy on this host adds: their request only looks local.
FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def _forwarded(request: HttpRequest) -> bool:
    return any(header in request.META for header in FORWARDED_HEADERS)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text exposition of every process of this deployment.

    With PROMETHEUS_MULTIPROC_DIR set (gunicorn sets it), the figures of all
    workers are read from their files; otherwise this process's registry.
    The database gauges are collected here only, once per scrape.
    """
    denied = _metrics_denied(request)
    if denied is not None:
        return denied
    # prometheus_client decided at import from the environment, not settings.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(StateCollector())
        body = generate_latest(registry)
    else:
        state = CollectorRegistry()
        state.register(StateCollector())
        body = generate_latest(REGISTRY) + generate_latest(state)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
