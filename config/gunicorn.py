"""gunicorn settings for the web process (Procfile ``web``)."""

import os
import shutil
from pathlib import Path
from typing import Any

from config import web_server


def _env(name: str, default: str) -> str:
    # An empty variable (as .env.example leaves some) means "use the default".
    return os.environ.get(name) or default


# Every worker writes its metrics to files here and /metrics adds them up.
# Set before any worker imports prometheus_client (it reads it at import).
BASE_DIR = Path(__file__).resolve().parent.parent
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _env(
    "PROMETHEUS_MULTIPROC_DIR", str(BASE_DIR / "var" / "prometheus" / "web")
)


# WEB_PORT, not PORT: honcho hands every process its own PORT.
bind = f"{_env('WEB_HOST', '127.0.0.1')}:{_env('WEB_PORT', '8000')}"
# gthread, cores + 1 processes x 4 threads unless set: see config/web_server.py.
workers = web_server.workers()
worker_class = web_server.worker_class()
threads = web_server.threads()
timeout = int(_env("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then: a safety net against slow leaks.
max_requests = int(_env("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(_env("GUNICORN_MAX_REQUESTS_JITTER", "200"))
# preload_app stays off: each worker imports the app itself. Measured (issue
# 9, 2 workers, 2,000 mixed requests): preloading cuts a worker's PSS from
# ~91 to ~72 MiB but barely its RSS (~110 -> ~99 MiB; refcounts and the GC
# dirty the shared pages), adds a ~105 MiB master, and would fork whatever
# the app opens at import (pools, sockets, threads) into every worker and
# stop HUP from reloading code. RSS is kept down by not importing what only
# the Celery workers use (matplotlib, reportlab, Pillow: see the lazy
# imports in monitoring/reports/charts.py, orders/invoices.py,
# catalog/images.py; tests/config/test_web_imports.py guards them).
# Our RequestLogMiddleware writes one structured line per request.
accesslog = None
errorlog = "-"


def on_starting(server: Any) -> None:
    """Start from an empty metrics directory: files of an earlier run's
    workers would otherwise add up with this run's (counters never reset)."""
    path = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)


def post_worker_init(worker: Any) -> None:
    """Each worker returns big blocks (Argon2's 19 MiB) to the OS on free
    (config/web_server.py says why), and samples its own RSS once its app (and
    Django) is loaded; a thread of its own, as threads do not survive the fork."""
    from monitoring.memory import memory_sampler_start

    web_server.large_allocations_unmapped_on_free()

    memory_sampler_start(role="web")


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges; its counters stay in the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server: Any, worker: Any) -> None:
    """Write the worker's buffered request statistics before it goes (a
    max_requests restart or a shutdown)."""
    from monitoring.stats import stats_flush

    stats_flush()
