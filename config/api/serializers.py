"""Serializer base classes shared by the apps' API layers."""

from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers


class StrictFieldsMixin:
    """Reject unknown fields in write bodies with a 400 field error (API.md)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            known = set(self.fields)  # type: ignore[attr-defined]
            unknown = sorted(set(data) - known)
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown field."] for name in unknown}
                )
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    """Input serializer that refuses fields it does not declare."""


@extend_schema_serializer(component_name="Error")
class ErrorOutput(serializers.Serializer):
    """Any error but a validation error (API.md); some add fields such as
    ``request_id`` or ``product_id``."""

    detail = serializers.CharField(help_text="Human-readable text.")
    code = serializers.CharField(help_text="Machine-readable code.")
