from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Health probes, request ids, structured logs; metrics come later."""

    name = "monitoring"
