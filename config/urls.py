"""Root URL configuration: API under /api/, probes and admin outside it."""

import re

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts.views import unlock_page
from config.api.exceptions import json_not_found
from config.api.views import ApiRootApi
from monitoring import dashboard as monitoring_dashboard
from monitoring import views as monitoring_views

api_patterns = [
    path("", ApiRootApi.as_view(), name="api-root"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("jobs.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("orders.api.urls")),
    path("auth/", include("accounts.api.urls")),
    path("notifications/", include("accounts.api.notification_urls")),
    path("admin/performance/", include("monitoring.api.urls")),
]

urlpatterns = [
    path("health", monitoring_views.health, name="health"),
    path("ready", monitoring_views.ready, name="ready"),
    path("metrics", monitoring_views.metrics, name="metrics"),
    # Before the admin's own URLs, which would otherwise claim the path.
    path(
        "admin/performance/",
        monitoring_dashboard.dashboard_view,
        name="admin-performance-dashboard",
    ),
    path("admin/", admin.site.urls),
    path("unlock", unlock_page, name="account-unlock"),
    path("api/", include(api_patterns)),
    path("api-auth/", include("rest_framework.urls")),
    # Anything else under /api/ is a JSON 404, even with DEBUG on.
    re_path(r"^api/", json_not_found),
]


# Uploaded and generated media (product images) for local use, DEBUG or not
# (`make run` runs without DEBUG); production serves MEDIA_ROOT elsewhere.
def media_file(request: HttpRequest, path: str) -> HttpResponse:
    return serve(request, path, document_root=settings.MEDIA_ROOT)


if settings.SERVE_MEDIA:
    urlpatterns.append(
        re_path(
            rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<path>.+)$", media_file
        )
    )

handler400 = "config.api.exceptions.json_bad_request"
handler403 = "config.api.exceptions.json_permission_denied"
handler404 = "config.api.exceptions.json_not_found"
handler500 = "config.api.exceptions.json_server_error"

admin.site.site_header = "Bazaar administration"
admin.site.site_title = "Bazaar admin"
