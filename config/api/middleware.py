"""Refuse oversized bodies with 413 before anything reads them."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from config.api.exceptions import error_body


class BodySizeLimitMiddleware:
    """Answer 413 when a request to /api/ declares a body over ``API_MAX_BODY_BYTES``.

    Bodies without a Content-Length (chunked) are bounded later by Django's
    ``DATA_UPLOAD_MAX_MEMORY_SIZE``, set to the same figure.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return JsonResponse(
                    error_body("Invalid Content-Length header.", "bad_request"),
                    status=400,
                )
            if length > settings.API_MAX_BODY_BYTES:
                return JsonResponse(
                    error_body(
                        f"Request body exceeds {settings.API_MAX_BODY_BYTES} bytes.",
                        "request_too_large",
                    ),
                    status=413,
                )
        return self.get_response(request)


class OptionalTrailingSlashMiddleware:
    """Let every /api/ path answer with or without its trailing slash (API.md).

    API routes are declared with a trailing slash; a request without one is
    resolved as if it had it. Nothing redirects, so a POST keeps its body.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith("/api/") and not path.endswith("/"):
            request.path_info = path + "/"
        return self.get_response(request)
