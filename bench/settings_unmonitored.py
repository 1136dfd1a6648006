"""Benchmark settings with the monitoring taken out, for bench/monitoring.py's
"off" arm: no django-prometheus middleware or cache wrapper, no request log
middleware (statistics in Redis, the latency histogram, the log line), no
memory sampler. The request id middleware stays: it is plumbing, not
monitoring."""

from bench.settings import *  # noqa: F403
from bench.settings import CACHES, MIDDLEWARE

MIDDLEWARE = [
    name
    for name in MIDDLEWARE
    if not name.startswith("django_prometheus.")
    and name != "monitoring.middleware.RequestLogMiddleware"
]
CACHES = {
    alias: {**conf, "BACKEND": "django_redis.cache.RedisCache"}
    for alias, conf in CACHES.items()
}
REQUEST_STATS_ENABLED = False
MEMORY_SAMPLE_SECONDS = 0
