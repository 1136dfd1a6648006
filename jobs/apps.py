import importlib

from django.apps import AppConfig
from django.conf import settings


class JobsConfig(AppConfig):
    """The background-job platform on Celery."""

    name = "jobs"

    def ready(self) -> None:
        # Registering job types needs the task modules imported in every
        # process: web (to enqueue by name) and workers (to run them).
        importlib.import_module("jobs.tasks")
        for module in settings.JOB_EXTRA_MODULES:
            importlib.import_module(module)
