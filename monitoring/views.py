"""Liveness and readiness probes (API.md: no /api/ prefix, anyone may call)."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from monitoring.health import OK, run_checks


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
