"""The Celery application; configuration comes from Django settings (CELERY_*)."""

import os
from pathlib import Path
from typing import Any

from celery import Celery, signals

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


@signals.celeryd_init.connect
def _metrics_dir(**_: Any) -> None:
    """Worker processes count into files a separate exporter serves
    (``python -m monitoring.exporter``).

    prometheus_client chooses its value class from the environment at import,
    and Django's setup has imported it by this first signal of ``celery
    worker``; choosing again makes every labelled series created from now on
    (all of the jobs' metrics) file-backed, in the pool's processes too.
    """
    from django.conf import settings
    from prometheus_client import values

    path = settings.CELERY_PROMETHEUS_MULTIPROC_DIR
    # Always the Celery directory: gunicorn empties the web one when it starts.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    Path(path).mkdir(parents=True, exist_ok=True)
    values.ValueClass = values.get_value_class()


@signals.worker_process_init.connect
def _memory_sampler(**_: Any) -> None:
    """Each pool process samples its own RSS (monitoring.memory)."""
    from monitoring.memory import memory_sampler_start

    memory_sampler_start(role="celery")


@signals.worker_process_shutdown.connect
def _metrics_process_dead(pid: int | None = None, **_: Any) -> None:
    """Drop an exiting pool process's live gauges from the shared files."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())
