"""``/api/admin/performance/``: what operators can see and do without a shell
(staff only). The admin's performance page calls these with its session
cookie (and ``X-CSRFToken`` for writes): the project's default authentication
classes, session included, apply here unchanged.

Reads come from ``monitoring.selectors`` (a few SQL statements and pipelined
Redis reads each, so a page refreshing every 5 s costs little; a Redis outage
empties figures instead of failing); writes from ``monitoring.services``.
"""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.pagination import CursorPagination
from config.api.views import PrivateApi
from monitoring import selectors, services
from monitoring.api import serializers as s
from monitoring.api.serializers import (
    CacheInvalidateInput,
    CacheInvalidateOutput,
    JobAcceptedOutput,
)

MINUTES = OpenApiParameter(
    "minutes", int, description="Window in minutes, 1-1440 (default 60)."
)


class StaffApi(PrivateApi):
    """Anonymous → 401, authenticated non-staff → 403; answers are never cached."""

    permission_classes = [IsAdminUser]

    def minutes(self, request: Request) -> int:
        serializer = s.MinutesInput(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data["minutes"]


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
        data = self.input(CacheInvalidateInput, request)
        names = services.cache_namespace_invalidate(namespace=data["namespace"])
        return Response({"invalidated": names})


class SummaryApi(StaffApi):
    """Request volume, errors and latency over the last 5 and 60 minutes,
    overall (histograms merged across routes) and per route."""

    @extend_schema(responses=s.SummaryOutput)
    def get(self, request: Request) -> Response:
        return Response(selectors.performance_summary())


class TrendsApi(StaffApi):
    """One point per minute, oldest first, for the charts."""

    @extend_schema(parameters=[MINUTES], responses=s.TrendsOutput)
    def get(self, request: Request) -> Response:
        return Response(selectors.performance_trends(minutes=self.minutes(request)))


class DashboardApi(StaffApi):
    """Everything the performance page draws, in one call per refresh."""

    @extend_schema(responses=s.DashboardOutput)
    def get(self, request: Request) -> Response:
        return Response(selectors.dashboard())


class QueriesApi(StaffApi):
    """Slow statements the app saw, and PostgreSQL's own view when the
    pg_stat_statements extension is installed (else null)."""

    @extend_schema(parameters=[MINUTES], responses=s.QueriesOutput)
    def get(self, request: Request) -> Response:
        return Response(selectors.slow_queries_report(minutes=self.minutes(request)))


class RealtimeApi(StaffApi):
    """Live state: this process's uptime, database connections, Redis and
    the memory of the platform's processes."""

    @extend_schema(responses=s.RealtimeOutput)
    def get(self, request: Request) -> Response:
        return Response(selectors.realtime())


class CacheReportApi(StaffApi):
    """Response-cache results per namespace, and the cache Redis itself."""

    @extend_schema(parameters=[MINUTES], responses=s.CacheReportOutput)
    def get(self, request: Request) -> Response:
        return Response(selectors.cache_report(minutes=self.minutes(request)))


class JobsReportApi(StaffApi):
    """Job counts, and per queue its backlog and last hour's wait/run times."""

    @extend_schema(responses=s.JobsReportOutput)
    def get(self, request: Request) -> Response:
        return Response(selectors.jobs_report())


class FailedJobPagination(CursorPagination):
    ordering = ("-finished_at", "-id")


class FailedJobListApi(StaffApi):
    """Failed jobs, most recent failure first, with the end of the traceback."""

    pagination_class = FailedJobPagination

    @extend_schema(
        parameters=[OpenApiParameter("type", str, description="Only this job type.")],
        responses=s.FailedJobDetailOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        query = s.FailedJobsInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        jobs = selectors.failed_job_list(job_type=query.validated_data.get("type"))
        return self.paginated(jobs, s.FailedJobDetailOutput)


class DetailedHealthApi(StaffApi):
    """Each dependency's state and latency; always 200 (the body says)."""

    @extend_schema(responses=s.DetailedHealthOutput)
    def get(self, request: Request) -> Response:
        return Response(selectors.detailed_health())


class JobRetryApi(StaffApi):
    """Queue failed jobs again with fresh attempts: one by id, or a type's."""

    error_statuses = (404, 409)  # no such job; the job has not failed

    @extend_schema(request=s.JobRetryInput, responses=s.RetriedOutput)
    def post(self, request: Request) -> Response:
        data: dict[str, Any] = self.input(s.JobRetryInput, request)
        retried = services.failed_jobs_retry(
            job_id=data.get("job_id"), job_type=data.get("type")
        )
        return Response({"retried": retried})


class JobClearApi(StaffApi):
    """Delete finished jobs older than a number of days; live ones stay."""

    @extend_schema(request=s.JobClearInput, responses=s.DeletedOutput)
    def post(self, request: Request) -> Response:
        data = self.input(s.JobClearInput, request)
        deleted = services.jobs_clear(older_than_days=data["older_than_days"])
        return Response({"deleted": deleted})


class MetricsResetApi(StaffApi):
    """Start the request, cache and slow-query figures from zero (503 when
    Redis cannot be reached: the figures would not really be gone)."""

    error_statuses = (503,)

    @extend_schema(request=None, responses=s.MetricsResetOutput)
    def post(self, request: Request) -> Response:
        return Response({"deleted_keys": services.metrics_reset()})
