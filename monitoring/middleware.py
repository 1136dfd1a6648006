"""Request id and structured request logging, outermost in the middleware stack."""

import logging
import time
from collections.abc import Callable

import structlog
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty

from monitoring import metrics, stats
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


def _user_id(request: HttpRequest) -> int | None:
    """The signed-in user's id, if the request already looked the user up.

    ``AuthenticationMiddleware`` sets a lazy ``request.user``; resolving it
    here would cost a session (and user) query on requests that never needed
    one (probes, /metrics), just for the log line.
    """
    user = getattr(request, "user", None)
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return user.pk if user.is_authenticated else None


class RequestLogMiddleware:
    """One log line per request: route template, status, duration and user.

    Also feeds ``monitoring.stats`` (one Redis pipeline after the response,
    plus one call per slow statement) and warns about requests slower than
    ``SLOW_REQUEST_MS``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        queries = stats.SlowQueries() if settings.REQUEST_STATS_ENABLED else None
        if queries is None:
            response = self.get_response(request)
        else:
            with connection.execute_wrapper(queries):
                response = self.get_response(request)
        duration_ms = (time.perf_counter() - started) * 1000
        match = getattr(request, "resolver_match", None)
        route = match.route if match else None
        fields = {
            "method": request.method,
            "route": route,
            "status": response.status_code,
            "duration_ms": round(duration_ms, 2),
            "user_id": _user_id(request),
        }
        metrics.request_observe(route, request.method, fields["status"], duration_ms)
        level = logging.WARNING if response.status_code >= 500 else logging.INFO
        logger.log(level, "request", **fields)
        if duration_ms >= settings.SLOW_REQUEST_MS:
            logger.warning(
                "slow_request",
                request_id=getattr(request, "request_id", None),
                **fields,
            )
        if queries is not None:
            self.record(request, route, response.status_code, duration_ms, queries)
        return response

    def record(
        self,
        request: HttpRequest,
        route: str | None,
        status: int,
        duration_ms: float,
        queries: stats.SlowQueries,
    ) -> None:
        """Statistics must never fail a request that already has its answer."""
        method = request.method or "GET"
        try:
            stats.request_record(
                route=route,
                method=method,
                status=status,
                duration_ms=duration_ms,
                cache=getattr(request, "_stats_cache", None),
            )
            for sql, elapsed in queries.found:
                stats.slow_query_record(
                    sql=sql,
                    duration_ms=elapsed,
                    route=stats.route_name(method, route),
                )
        except Exception:
            logger.exception("stats_failed")
