from django.apps import AppConfig


class JobsConfig(AppConfig):
    """The background-job platform on Celery."""

    name = "jobs"
