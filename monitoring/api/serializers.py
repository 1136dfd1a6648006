from rest_framework import serializers

from catalog.cache import NAMESPACES
from config.api.serializers import StrictSerializer


class CacheInvalidateInput(StrictSerializer):
    namespace = serializers.ChoiceField(choices=[*NAMESPACES, "all"])


class JobAcceptedOutput(serializers.Serializer):
    job_id = serializers.UUIDField()


class CacheInvalidateOutput(serializers.Serializer):
    invalidated = serializers.ListField(child=serializers.CharField())
