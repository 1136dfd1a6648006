"""Request id and structured request logging, outermost in the middleware stack."""

import logging
import time
from collections.abc import Callable

import structlog
from django.http import HttpRequest, HttpResponse

from monitoring.request_id import (
    request_id_from_header,
    reset_request_id,
    set_request_id,
)

logger = structlog.get_logger("bazaar.request")
HEADER = "X-Request-ID"


class RequestIdMiddleware:
    """Give every request an id, echo it in ``X-Request-ID`` and bind it to logs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from_header(request.headers.get(HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = set_request_id(request_id)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            response = self.get_response(request)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
            reset_request_id(token)
        response[HEADER] = request_id
        return response


class RequestLogMiddleware:
    """One log line per request: route template, status, duration and user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = (time.perf_counter() - started) * 1000
        match = getattr(request, "resolver_match", None)
        user = getattr(request, "user", None)
        level = logging.WARNING if response.status_code >= 500 else logging.INFO
        logger.log(
            level,
            "request",
            method=request.method,
            route=match.route if match else None,
            status=response.status_code,
            duration_ms=round(duration_ms, 2),
            user_id=user.pk if user is not None and user.is_authenticated else None,
        )
        return response
