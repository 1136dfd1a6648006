"""gunicorn settings for the web process (Procfile ``web``)."""

import multiprocessing
import os


def _env(name: str, default: str) -> str:
    # An empty variable (as .env.example leaves some) means "use the default".
    return os.environ.get(name) or default


# WEB_PORT, not PORT: honcho hands every process its own PORT.
bind = f"{_env('WEB_HOST', '127.0.0.1')}:{_env('WEB_PORT', '8000')}"
workers = int(_env("WEB_CONCURRENCY", str(multiprocessing.cpu_count() * 2 + 1)))
worker_class = _env("GUNICORN_WORKER_CLASS", "sync")
threads = int(_env("GUNICORN_THREADS", "1"))
timeout = int(_env("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then: a safety net against slow leaks.
max_requests = int(_env("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(_env("GUNICORN_MAX_REQUESTS_JITTER", "200"))
# Our RequestLogMiddleware writes one structured line per request.
accesslog = None
errorlog = "-"
