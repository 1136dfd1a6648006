"""Refuse oversized bodies with 413 before anything reads them."""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve

from config.api.exceptions import error_body


@dataclass(frozen=True)
class BodyLimit:
    """A view's own body limit, with the 413 it answers above it."""

    max_bytes: int
    detail: str
    code: str


def _view_body_limit(request: HttpRequest) -> BodyLimit | None:
    """The ``body_limit(request)`` of the view class the path resolves to, if any."""
    path = request.path_info
    try:
        match = resolve(path if path.endswith("/") else f"{path}/")
    except Resolver404:
        return None
    view_class = getattr(match.func, "cls", None) or getattr(
        match.func, "view_class", None
    )
    hook = getattr(view_class, "body_limit", None)
    return hook(request) if hook is not None else None


class BodySizeLimitMiddleware:
    """Answer 413 when a request to /api/ declares a body over ``API_MAX_BODY_BYTES``,
    or over the limit its view declares (a classmethod ``body_limit(request)``
    returning a ``BodyLimit``; image uploads are bigger than JSON).

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
                # Resolving costs a little, so only bodies over the general
                # limit pay it.
                limit = _view_body_limit(request)
                if limit is not None:
                    if length <= limit.max_bytes:
                        return self.get_response(request)
                    return JsonResponse(
                        error_body(limit.detail, limit.code), status=413
                    )
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
