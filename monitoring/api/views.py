"""``/api/admin/performance/``: what operators can do without a shell (staff only)."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.views import PrivateApi
from monitoring import services
from monitoring.api.serializers import (
    CacheInvalidateInput,
    CacheInvalidateOutput,
    JobAcceptedOutput,
)


class StaffApi(PrivateApi):
    """Anonymous → 401, authenticated non-staff → 403; answers are never cached."""

    permission_classes = [IsAdminUser]


class CacheWarmApi(StaffApi):
    """Warm the catalog cache in the background; the job's result reports
    the keys warmed and the time taken (``GET /api/jobs/{job_id}``)."""

    @extend_schema(request=None, responses={202: JobAcceptedOutput})
    def post(self, request: Request) -> Response:
        job = services.cache_warm_request(user=request.user)
        return Response({"job_id": str(job.pk)}, status=status.HTTP_202_ACCEPTED)


class CacheInvalidateApi(StaffApi):
    """Make every cached entry of a namespace (or ``all``) miss on its next read."""

    @extend_schema(request=CacheInvalidateInput, responses=CacheInvalidateOutput)
    def post(self, request: Request) -> Response:
        serializer = CacheInvalidateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        names = services.cache_namespace_invalidate(
            namespace=serializer.validated_data["namespace"]
        )
        return Response({"invalidated": names})
