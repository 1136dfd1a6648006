"""Input and output shapes of /api/notifications/ (API.md's notifications rows)."""

from typing import Any

from rest_framework import serializers

from accounts.models import Notification
from accounts.preferences import PREFERENCE_FIELDS
from config.api.serializers import StrictSerializer


class NotificationOutput(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "data", "read_at", "created_at"]


class StrictBooleanField(serializers.BooleanField):
    """Only JSON ``true``/``false``: "yes", 1 or "true" are refused, not guessed."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


def _channel_serializer(channel: str, categories: dict[str, str]) -> type:
    fields = {str(category): StrictBooleanField() for category in categories}
    return type(f"{channel.title()}PreferencesInput", (StrictSerializer,), fields)


# Built from the one mapping, so the accepted shape is exactly the answered one.
PreferencesInput = type(
    "PreferencesInput",
    (StrictSerializer,),
    {
        str(channel): _channel_serializer(str(channel), categories)()
        for channel, categories in PREFERENCE_FIELDS.items()
    },
)


class PreferencesOutput(serializers.Serializer):
    """``{channel: {category: bool}}`` (documentation only; built by a mapping)."""

    email = serializers.DictField(child=serializers.BooleanField())
    sms = serializers.DictField(child=serializers.BooleanField())
    push = serializers.DictField(child=serializers.BooleanField())
    in_app = serializers.DictField(child=serializers.BooleanField())


class UnreadCountOutput(serializers.Serializer):
    unread = serializers.IntegerField()


class ReadAllOutput(serializers.Serializer):
    marked_read = serializers.IntegerField()


class UnsubscribeOutput(serializers.Serializer):
    unsubscribed = serializers.BooleanField()
    channel = serializers.CharField()
    category = serializers.CharField()
