"""The Celery workers' /metrics: ``python -m monitoring.exporter`` (Procfile
``metrics``).

Worker pool processes write their prometheus_client files into
``CELERY_PROMETHEUS_MULTIPROC_DIR`` (config/celery.py); this small process adds
them up and serves them on ``CELERY_METRICS_PORT``. One port per host however
many workers and pool processes run, and no port clash between pool processes.
"""

import os
import signal
import time
from pathlib import Path

import environ
from prometheus_client import CollectorRegistry, multiprocess, start_http_server

BASE_DIR = Path(__file__).resolve().parent.parent


def exporter_registry(path: str) -> CollectorRegistry:
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)
    return registry


def main() -> None:
    """Serve until SIGTERM; reads the same variables as the settings."""
    env = environ.Env()
    if env.bool("DJANGO_READ_DOT_ENV_FILE", default=True):
        environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
    path = env.str(
        "CELERY_PROMETHEUS_MULTIPROC_DIR",
        default=str(BASE_DIR / "var" / "prometheus" / "celery"),
    ) or str(BASE_DIR / "var" / "prometheus" / "celery")
    Path(path).mkdir(parents=True, exist_ok=True)
    port = env.int("CELERY_METRICS_PORT", default=9808)
    address = env.str("CELERY_METRICS_ADDRESS", default="127.0.0.1")
    start_http_server(port, addr=address, registry=exporter_registry(path))
    print(f"celery metrics on http://{address}:{port}/metrics from {path}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
