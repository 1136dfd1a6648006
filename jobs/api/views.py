"""GET /api/jobs/{id}: progress of a background job for whom it was made."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.views import PrivateApi
from jobs.api.serializers import JobSerializer
from jobs.selectors import job_get_for_user


class JobDetailApi(PrivateApi):
    """A job's status; another user's job answers 404, never 403."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=JobSerializer)
    def get(self, request: Request, job_id: str) -> Response:
        job = job_get_for_user(job_id=job_id, user=request.user)
        if job is None:
            raise Http404
        return Response(JobSerializer(job).data)
