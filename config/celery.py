"""The Celery application; configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("bazaar")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Celery's Django fixup otherwise closes every database connection (and, with
# psycopg's pool under prefork, the whole pool) before and after each task: a
# new PostgreSQL connection per job. The job runner returns its connection to
# the pool itself (close_old_connections), so the fixup only recycles rarely.
app.conf["CELERY_DB_REUSE_MAX"] = 10_000
# Handlers live in the jobs app's ``tasks`` package.
app.autodiscover_tasks(lambda: ["jobs"], related_name="tasks")
