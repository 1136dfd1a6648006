"""OpenAPI generation: every operation documents the errors API.md says any
endpoint of its kind can answer, in the exception handler's shapes.

The conventions (400 on bad input, 401/403 on auth, 404 on a path id, 413/415
on bodies) are derived here from what the view is, so no view repeats them and
none forgets one; a view adds the statuses of its own rules, either in its
``extend_schema`` responses (with ``error_response``) or in ``error_statuses``
(all its methods, or a dict per method; e.g. 429 where rate limited). ``BaseApi``
uses this class, so every API view does.
"""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny

from config.api.serializers import ErrorOutput

FIELD_ERRORS_COMPONENT = "FieldErrors"
_FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "description": "Validation errors: messages per field (nested for nested "
    "fields, per item for lists), `non_field_errors` for the whole body.",
    "additionalProperties": {"oneOf": [{"type": "array"}, {"type": "object"}]},
}

DESCRIPTIONS = {
    400: "Invalid input: a field map, or `{detail, code}` (malformed body, "
    "missing or bad header).",
    401: "Missing, invalid, expired or revoked credentials.",
    402: "Payment declined.",
    403: "Authenticated but not allowed.",
    404: "No such object, or not the caller's.",
    409: "Conflicts with the object's current state.",
    413: "Request body too large.",
    415: "Unsupported media type.",
    422: "Idempotency key reused with another request.",
    429: "Too many requests; `Retry-After` says when to retry.",
    502: "An upstream provider failed; safe to retry.",
    503: "A dependency is unavailable; `Retry-After` says when to retry.",
}


def error_response(description: str) -> OpenApiResponse:
    """A view's own error answer in the ``{detail, code}`` shape."""
    return OpenApiResponse(response=ErrorOutput, description=description)


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema plus the API's conventional error answers."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for status in self._error_statuses(operation):
            responses.setdefault(str(status), self._error_response(status))
        return operation

    def get_request_serializer(self) -> Any:
        # A DELETE has a body only when the view declares one (extend_schema
        # answers before this); no guessing, which would warn.
        if self.method == "DELETE":
            return None
        return super().get_request_serializer()

    def _get_request_body(self, direction: str = "request") -> Any:
        # drf-spectacular documents bodies for POST, PUT and PATCH only; a
        # DELETE that declares one (DELETE me takes the password) keeps it.
        if self.method != "DELETE" or self.get_request_serializer() is None:
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"

    def _error_statuses(self, operation: dict[str, Any]) -> list[int]:
        locations = {p["in"] for p in operation.get("parameters", [])}
        has_body = "requestBody" in operation
        declared = getattr(self.view, "error_statuses", ())
        if isinstance(declared, dict):
            declared = declared.get(self.method.lower(), ())
        statuses = set(declared)
        if has_body or locations & {"query", "header"}:
            statuses.add(400)
        if self.view.authentication_classes:
            statuses.add(401)
        if any(not isinstance(p, AllowAny) for p in self.view.get_permissions()):
            statuses |= {401, 403}
        if "path" in locations:
            statuses.add(404)
        if has_body:
            statuses |= {413, 415}
        return sorted(statuses)

    def _error_response(self, status: int) -> dict[str, Any]:
        error = self.resolve_serializer(ErrorOutput, "response").ref
        schema: dict[str, Any] = error
        if status == 400:
            field_errors = ResolvedComponent(
                name=FIELD_ERRORS_COMPONENT,
                type=ResolvedComponent.SCHEMA,
                schema=_FIELD_ERRORS_SCHEMA,
                object=FIELD_ERRORS_COMPONENT,
            )
            self.registry.register_on_missing(field_errors)
            schema = {"anyOf": [field_errors.ref, error]}
        response: dict[str, Any] = {
            "description": DESCRIPTIONS.get(status, "Error."),
            "content": {"application/json": {"schema": schema}},
        }
        if status in (429, 503):
            response["headers"] = {
                "Retry-After": {
                    "schema": {"type": "integer"},
                    "description": "Seconds to wait before retrying.",
                }
            }
        return response
