"""Base views of the API, and its root (what a person sees first at /api/)."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from config.api.schema import ApiAutoSchema


class BaseApi(APIView):
    """Every API view: a 401 (never DRF's 403) for missing credentials, and
    input validated by one serializer."""

    schema = ApiAutoSchema()
    # Statuses of the view's own rules (e.g. 429 where rate limited), for the
    # schema; per method as a dict. ApiAutoSchema adds the conventional ones.
    error_statuses: tuple[int, ...] | dict[str, tuple[int, ...]] = ()

    def get_authenticate_header(self, request: Request) -> str:
        # Session authentication has no challenge, so DRF would answer 403;
        # bearer tokens are the API's.
        return super().get_authenticate_header(request) or 'Bearer realm="api"'

    def input(self, serializer_class: type, request: Request) -> dict[str, Any]:
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def paginated(
        self, rows: Any, serializer_class: type, **serializer_options: Any
    ) -> Response:
        """One page of ``rows`` (per ``pagination_class`` and the query
        string), serialized, with its ``next``/``previous`` links."""
        paginator = self.pagination_class()
        try:
            page = paginator.paginate_queryset(rows, self.request, view=self)
        except NotFound:
            # DRF's answer to a cursor it cannot decode; bad input is a 400.
            raise ValidationError({"cursor": ["Invalid cursor."]}) from None
        data = serializer_class(page, many=True, **serializer_options).data
        return paginator.get_paginated_response(data)


class PrivateApi(BaseApi):
    """User data: never stored by a browser or a shared cache (API.md)."""

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        return response


class ApiRootApi(APIView):
    """Links to the documentation and the main resources."""

    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response(
            {
                "docs": reverse("docs", request=request),
                "schema": reverse("schema", request=request),
                "health": request.build_absolute_uri("/health"),
                "ready": request.build_absolute_uri("/ready"),
            }
        )
