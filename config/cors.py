"""Cross-origin access to /api/ for the browser origins in CORS_ALLOWED_ORIGINS.

The API authenticates with bearer tokens, never cookies, so credentials are
not allowed cross-origin. With the list empty (the default) no CORS header is
ever sent and browsers keep their same-origin rule.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

ALLOW_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOW_HEADERS = (
    "accept, authorization, content-type, idempotency-key, if-none-match, x-request-id"
)
EXPOSE_HEADERS = "etag, retry-after, x-cache, x-request-id"
# Seconds a browser may reuse a preflight answer.
PREFLIGHT_MAX_AGE = "600"


class CorsMiddleware:
    """Answer preflights and mark responses for allowed origins only."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        allowed = settings.CORS_ALLOWED_ORIGINS
        if not allowed or not request.path.startswith("/api/"):
            return self.get_response(request)
        origin = request.headers.get("Origin")
        permitted = origin is not None and origin in allowed
        preflight = request.method == "OPTIONS" and (
            "Access-Control-Request-Method" in request.headers
        )
        if preflight and permitted:
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = ALLOW_METHODS
            response["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            response["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        else:
            response = self.get_response(request)
            if permitted:
                response["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        if permitted:
            response["Access-Control-Allow-Origin"] = origin
        # Shared caches must keep one answer per origin.
        patch_vary_headers(response, ["Origin"])
        return response
