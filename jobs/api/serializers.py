from rest_framework import serializers

from jobs.models import JobRecord


class JobSerializer(serializers.ModelSerializer):
    """API.md's job shape: status, attempts, timing, result and last error."""

    priority = serializers.SerializerMethodField()

    class Meta:
        model = JobRecord
        fields = [
            "id",
            "type",
            "priority",
            "status",
            "attempts",
            "max_attempts",
            "created_at",
            "started_at",
            "finished_at",
            "result",
            "error",
        ]

    def get_priority(self, job: JobRecord) -> str:
        return job.get_priority_display()
