from typing import Any

from rest_framework import serializers

from catalog.cache import NAMESPACES
from config.api.serializers import StrictSerializer
from monitoring.selectors import TRACEBACK_CHARS


class CacheInvalidateInput(StrictSerializer):
    namespace = serializers.ChoiceField(choices=[*NAMESPACES, "all"])


class JobAcceptedOutput(serializers.Serializer):
    job_id = serializers.UUIDField()


class CacheInvalidateOutput(serializers.Serializer):
    invalidated = serializers.ListField(child=serializers.CharField())


# --- Inputs -------------------------------------------------------------------


class MinutesInput(serializers.Serializer):
    """A query string: other parameters (a cache buster) are ignored."""

    minutes = serializers.IntegerField(min_value=1, max_value=1440, default=60)


class FailedJobsInput(serializers.Serializer):
    type = serializers.CharField(max_length=100, required=False, allow_blank=True)


class JobRetryInput(StrictSerializer):
    job_id = serializers.UUIDField(required=False)
    type = serializers.CharField(max_length=100, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("job_id" in attrs) == ("type" in attrs):
            message = "Give exactly one of job_id and type."
            raise serializers.ValidationError({"job_id": [message], "type": [message]})
        return attrs


class JobClearInput(StrictSerializer):
    # Bounded: a horizon past year 1 overflows the date arithmetic (a 500).
    older_than_days = serializers.IntegerField(min_value=1, max_value=36500)


# --- Outputs (documentation of the answers; views return plain dicts) ---------


class RouteRowOutput(serializers.Serializer):
    route = serializers.CharField()
    count = serializers.IntegerField()
    errors = serializers.IntegerField()
    client_errors = serializers.IntegerField()
    error_rate = serializers.FloatField()
    p50_ms = serializers.FloatField()
    p95_ms = serializers.FloatField()
    p99_ms = serializers.FloatField()
    rate_per_s = serializers.FloatField()


class WindowTotalsOutput(serializers.Serializer):
    requests = serializers.IntegerField()
    rate_per_s = serializers.FloatField()
    errors = serializers.IntegerField()
    error_rate = serializers.FloatField()
    p50_ms = serializers.FloatField()
    p95_ms = serializers.FloatField()
    p99_ms = serializers.FloatField()


class WindowOutput(WindowTotalsOutput):
    routes = RouteRowOutput(many=True)


class SummaryWindowsOutput(serializers.Serializer):
    five = WindowOutput()
    sixty = WindowOutput()

    def get_fields(self) -> dict[str, Any]:
        # "5m" and "60m" are not identifiers: rename the declared fields.
        fields = super().get_fields()
        return {"5m": fields.pop("five"), "60m": fields.pop("sixty")}


class SummaryOutput(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    windows = SummaryWindowsOutput()


class MinuteOutput(serializers.Serializer):
    minute = serializers.DateTimeField()
    requests = serializers.IntegerField()
    errors = serializers.IntegerField()
    error_rate = serializers.FloatField()
    p95_ms = serializers.FloatField()
    cache_hit_rate = serializers.FloatField()


class TrendsOutput(serializers.Serializer):
    minutes = MinuteOutput(many=True)


class QueueOutput(serializers.Serializer):
    queue = serializers.CharField()
    priority = serializers.IntegerField()
    queued = serializers.IntegerField()
    running = serializers.IntegerField()
    broker_depth = serializers.IntegerField(allow_null=True)
    oldest_queued_seconds = serializers.FloatField(allow_null=True)


class QueueLatencyOutput(QueueOutput):
    wait_p50_s = serializers.FloatField(allow_null=True)
    wait_p95_s = serializers.FloatField(allow_null=True)
    run_p50_s = serializers.FloatField(allow_null=True)
    run_p95_s = serializers.FloatField(allow_null=True)


class JobOutcomeMinuteOutput(serializers.Serializer):
    minute = serializers.DateTimeField()
    failed = serializers.IntegerField()
    succeeded = serializers.IntegerField()


class SlowQueryOutput(serializers.Serializer):
    fingerprint = serializers.CharField()
    count = serializers.IntegerField()
    total_ms = serializers.FloatField()
    avg_ms = serializers.FloatField()
    max_ms = serializers.FloatField()
    example = serializers.CharField()
    route = serializers.CharField()


class FailedJobOutput(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField()
    priority = serializers.IntegerField()
    attempts = serializers.IntegerField()
    max_attempts = serializers.IntegerField()
    error = serializers.CharField()
    finished_at = serializers.DateTimeField(allow_null=True)


class FailedJobDetailOutput(FailedJobOutput):
    """A failed job for the list: the traceback's end (where it failed)."""

    traceback = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    user_id = serializers.IntegerField(allow_null=True)

    def get_traceback(self, job: Any) -> str:
        return job.traceback[-TRACEBACK_CHARS:]


class DashboardOutput(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    summary = WindowTotalsOutput()
    series = MinuteOutput(many=True)
    queues = QueueOutput(many=True)
    job_failures = JobOutcomeMinuteOutput(many=True)
    slow_queries = SlowQueryOutput(many=True)
    failed_jobs = FailedJobOutput(many=True)


class StatementOutput(serializers.Serializer):
    query = serializers.CharField()
    calls = serializers.IntegerField()
    total_ms = serializers.FloatField()
    mean_ms = serializers.FloatField()
    rows = serializers.IntegerField()


class QueriesOutput(serializers.Serializer):
    slow_queries = SlowQueryOutput(many=True)
    threshold_ms = serializers.FloatField()
    pg_stat_statements = StatementOutput(many=True, allow_null=True)


class DatabaseConnectionsOutput(serializers.Serializer):
    connections = serializers.IntegerField()
    active = serializers.IntegerField()
    idle = serializers.IntegerField()
    max_connections = serializers.IntegerField()


class RedisOutput(serializers.Serializer):
    status = serializers.CharField(help_text="ok or down")
    used_memory_bytes = serializers.IntegerField(allow_null=True)
    maxmemory_bytes = serializers.IntegerField(allow_null=True)
    connected_clients = serializers.IntegerField(allow_null=True)
    keys = serializers.IntegerField(allow_null=True)


class ProcessMemoryOutput(serializers.Serializer):
    process = serializers.CharField()
    role = serializers.CharField()
    pid = serializers.IntegerField()
    rss_bytes = serializers.IntegerField()
    trend_bytes_per_hour = serializers.FloatField(allow_null=True)
    samples = serializers.IntegerField()
    leak_suspected = serializers.BooleanField()


class RealtimeOutput(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    uptime_seconds = serializers.FloatField()
    db = DatabaseConnectionsOutput()
    redis = RedisOutput()
    processes = ProcessMemoryOutput(many=True)


class CacheNamespaceOutput(serializers.Serializer):
    namespace = serializers.CharField()
    hits = serializers.IntegerField()
    misses = serializers.IntegerField()
    bypasses = serializers.IntegerField()
    stale = serializers.IntegerField()
    hit_rate = serializers.FloatField()


class CacheReportOutput(serializers.Serializer):
    namespaces = CacheNamespaceOutput(many=True)
    hit_rate = serializers.FloatField()
    redis = RedisOutput()


class JobCountsOutput(serializers.Serializer):
    status = serializers.DictField(child=serializers.IntegerField())
    queued_by_priority = serializers.DictField(child=serializers.IntegerField())


class JobsReportOutput(serializers.Serializer):
    counts = JobCountsOutput()
    queues = QueueLatencyOutput(many=True)


class CheckOutput(serializers.Serializer):
    status = serializers.CharField(help_text="ok or down")
    latency_ms = serializers.FloatField()
    error = serializers.CharField(allow_null=True)


class ChecksOutput(serializers.Serializer):
    database = CheckOutput()
    cache = CheckOutput()
    security_cache = CheckOutput()
    broker = CheckOutput()


class DetailedHealthOutput(serializers.Serializer):
    status = serializers.CharField(help_text="ok, degraded or down")
    checks = ChecksOutput()


class RetriedOutput(serializers.Serializer):
    retried = serializers.IntegerField()


class DeletedOutput(serializers.Serializer):
    deleted = serializers.IntegerField()


class MetricsResetOutput(serializers.Serializer):
    deleted_keys = serializers.IntegerField()
