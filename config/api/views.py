"""The API root: what a person sees first in the browsable API at /api/."""

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView


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
