"""Error reporting to Sentry, turned on by ``SENTRY_DSN`` (settings call it).

Events carry the request id as a tag, so an error in Sentry leads straight to
the request's log lines (and the jobs it caused); no personal data is sent.
"""

from typing import Any

from monitoring.request_id import get_request_id


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """Tag the event with the current request's id, when there is one."""
    request_id = get_request_id()
    if request_id:
        event.setdefault("tags", {})["request_id"] = request_id
    return event


def sentry_init(
    *,
    dsn: str,
    traces_sample_rate: float,
    environment: str,
    **options: Any,
) -> None:
    """Django and Celery integrations, no personal data; ``options`` pass
    through (tests give a ``transport``)."""
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # No personal data: send_default_pii=False, as the SDK's default (2.x
        # warns when it is passed at all; data_collection would opt into more).
        traces_sample_rate=traces_sample_rate,
        environment=environment,
        before_send=before_send,
        **options,
    )
