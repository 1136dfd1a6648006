"""The notification switches: which (channel, category) pairs exist, and where.

API.md's preferences shape, the model's fields and ``notify``'s decisions all
come from the one mapping below; a pair not in it is always off.
"""

from accounts.enums import NotificationCategory, NotificationChannel
from accounts.models import NotificationPreferences

PREFERENCE_FIELDS: dict[str, dict[str, str]] = {
    NotificationChannel.EMAIL: {
        NotificationCategory.ORDER_UPDATES: "email_order_updates",
        NotificationCategory.MARKETING: "email_marketing",
    },
    NotificationChannel.SMS: {
        NotificationCategory.ORDER_UPDATES: "sms_order_updates",
    },
    NotificationChannel.PUSH: {
        NotificationCategory.ORDER_UPDATES: "push_order_updates",
        NotificationCategory.MARKETING: "push_marketing",
    },
    NotificationChannel.IN_APP: {
        NotificationCategory.ORDER_UPDATES: "in_app_order_updates",
    },
}


def preference_on(
    prefs: NotificationPreferences, *, channel: str, category: str
) -> bool:
    field = PREFERENCE_FIELDS.get(channel, {}).get(category)
    return bool(field and getattr(prefs, field))


def preferences_as_dict(prefs: NotificationPreferences) -> dict[str, dict[str, bool]]:
    """API.md's nested shape ``{channel: {category: bool}}``."""
    return {
        str(channel): {
            str(category): bool(getattr(prefs, field))
            for category, field in fields.items()
        }
        for channel, fields in PREFERENCE_FIELDS.items()
    }
