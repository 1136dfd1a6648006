"""The Celery application; configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("bazaar")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Handlers live in the jobs app's ``tasks`` package.
app.autodiscover_tasks(lambda: ["jobs"], related_name="tasks")
