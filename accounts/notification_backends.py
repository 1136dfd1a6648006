"""SMS and push providers behind one small interface, chosen by settings.

``SMS_BACKEND`` and ``PUSH_BACKEND`` are dotted paths to classes; a real
provider (Twilio, SNS, FCM, ...) is a class with the same ``send`` that returns
the provider's message id and raises on failure (the job retries).
"""

import uuid
from typing import Any, Protocol

import structlog
from django.conf import settings
from django.utils.module_loading import import_string

logger = structlog.get_logger("bazaar.notifications")


class SmsBackend(Protocol):
    def send(self, *, to: str, text: str) -> str:
        """Send ``text`` to the E.164 number ``to``; the provider's message id."""
        ...


class PushBackend(Protocol):
    def send(self, *, to: str, title: str, body: str, data: dict[str, Any]) -> str:
        """Push to every device of ``to`` (our user id, the provider's external
        user id); the provider's message id."""
        ...


class ConsoleSmsBackend:
    """Development default: logs the message instead of sending it."""

    def send(self, *, to: str, text: str) -> str:
        message_id = f"console-{uuid.uuid4()}"
        logger.info("sms_sent", to=to, text=text, message_id=message_id)
        return message_id


class ConsolePushBackend:
    """Development default: logs the push instead of sending it."""

    def send(self, *, to: str, title: str, body: str, data: dict[str, Any]) -> str:
        message_id = f"console-{uuid.uuid4()}"
        logger.info("push_sent", to=to, title=title, body=body, message_id=message_id)
        return message_id


def sms_backend() -> SmsBackend:
    # Resolved per call, so a settings change (or a test override) applies.
    return import_string(settings.SMS_BACKEND)()


def push_backend() -> PushBackend:
    return import_string(settings.PUSH_BACKEND)()
