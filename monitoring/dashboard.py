"""``/admin/performance/``: the live performance dashboard in the admin.

The page is a plain admin template; ``monitoring/static/monitoring/dashboard.js``
draws its charts and tables from ``GET /api/admin/performance/dashboard``
every few seconds (session cookie auth) and retries failed jobs through
``POST /api/admin/performance/jobs/retry``.
"""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.csrf import ensure_csrf_cookie

# Seconds between refreshes; the page passes it to the script.
REFRESH_SECONDS = 5

# (element id, title, unit) of each chart, in page order.
CHARTS = [
    ("chart-request-rate", "Request rate", "req/s"),
    ("chart-p95-latency", "p95 latency", "ms"),
    ("chart-error-rate", "Error rate", "%"),
    ("chart-cache-hit-rate", "Cache hit rate", "%"),
    ("chart-queue-depth", "Queue depth by priority", "jobs"),
    ("chart-job-failures", "Job failures", "per min"),
]


@ensure_csrf_cookie
def performance_dashboard(request: HttpRequest) -> HttpResponse:
    """The dashboard page; everything on it is filled in by the script."""
    context = {
        **admin.site.each_context(request),
        "title": "Performance",
        "charts": CHARTS,
        "refresh_seconds": REFRESH_SECONDS,
        "data_url": "/api/admin/performance/dashboard",
        "retry_url": "/api/admin/performance/jobs/retry",
    }
    return TemplateResponse(request, "admin/performance/dashboard.html", context)


# Staff only: anonymous users and non-staff are sent to the admin login;
# admin_view also adds never-cache headers and CSRF protection.
dashboard_view = admin.site.admin_view(performance_dashboard)
