"""The one exception handler: every error leaves in API.md's shapes.

Validation errors keep DRF's field map; everything else becomes
``{"detail": ..., "code": ...}``. Unexpected exceptions become a JSON 500 and
an unreachable database a JSON 503, never an HTML page.
"""

from typing import Any

import structlog
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from config.api.errors import DomainError
from monitoring.request_id import get_request_id

logger = structlog.get_logger("bazaar.api")


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def error_body(detail: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"detail": detail, "code": code, **extra}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF ``EXCEPTION_HANDLER``: map any exception to a JSON response."""
    headers: dict[str, str] = {}
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, DomainError):
        set_rollback()
        body = error_body(exc.detail, exc.code, **exc.extra)
        return Response(body, status=exc.status_code)

    if isinstance(exc, exceptions.APIException):
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        set_rollback()
        if isinstance(exc, exceptions.ValidationError):
            data = (
                exc.detail
                if isinstance(exc.detail, dict)
                else {"non_field_errors": exc.detail}
            )
            return Response(data, status=exc.status_code, headers=headers)
        return Response(
            error_body(str(exc.detail), _code_of(exc)),
            status=exc.status_code,
            headers=headers,
        )

    set_rollback()
    if isinstance(exc, OperationalError | InterfaceError):
        logger.error("database_unavailable", exc_info=exc)
        return Response(
            error_body(
                "The service is temporarily unavailable.",
                "service_unavailable",
                request_id=get_request_id(),
            ),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    logger.error(
        "unhandled_exception", exc_info=exc, database=isinstance(exc, DatabaseError)
    )
    return Response(
        error_body(
            "Internal server error.", "server_error", request_id=get_request_id()
        ),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


@csrf_exempt
def json_not_found(
    request: HttpRequest, exception: Exception | None = None
) -> JsonResponse:
    """404 for URLs that match no route (``handler404`` and the /api/ catch-all).

    CSRF-exempt: a POST to no route must meet this JSON 404, not Django's
    HTML CSRF page (the API authenticates with tokens, never cookies)."""
    return JsonResponse(
        error_body("Not found.", "not_found", request_id=get_request_id()), status=404
    )


def json_server_error(request: HttpRequest) -> JsonResponse:
    """``handler500``: errors raised outside DRF views still answer JSON."""
    return JsonResponse(
        error_body(
            "Internal server error.", "server_error", request_id=get_request_id()
        ),
        status=500,
    )


def json_bad_request(
    request: HttpRequest, exception: Exception | None = None
) -> JsonResponse:
    """``handler400``: e.g. a disallowed Host header or an oversized upload."""
    return JsonResponse(error_body("Bad request.", "bad_request"), status=400)


def json_permission_denied(
    request: HttpRequest, exception: Exception | None = None
) -> JsonResponse:
    """``handler403`` for errors raised outside DRF views (e.g. CSRF)."""
    return JsonResponse(
        error_body("Permission denied.", "permission_denied"), status=403
    )
