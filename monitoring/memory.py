"""Per-process memory (RSS) samples in Redis, to spot slow leaks early.

Every gunicorn worker and Celery worker process samples its own RSS every
``MEMORY_SAMPLE_SECONDS`` into a capped Redis list; ``memory_figures`` (the
performance API's ``realtime`` view) fits a least-squares slope per process.
gunicorn's ``max_requests`` recycling stays the safety net; this says which
role grows and how fast, before a recycle hides it.

Redis trouble goes through the shared breaker: a sample is skipped, never an
error in the sampled process.
"""

import contextlib
import itertools
import os
import socket
import threading
import time
from typing import Any

import structlog
from django.conf import settings
from django_redis import get_redis_connection

from config.redis_breaker import breaker

logger = structlog.get_logger("bazaar.monitoring")

KEY_PREFIX = "bz:mem:"
INDEX_KEY = "bz:mem:processes"  # zset: process key -> last sample epoch
LEAK_FLAG_PREFIX = "bz:mem:leak:"  # set while a process is flagged (log once)
SAMPLES_KEPT = 120  # 1 h at 30 s
TTL_SECONDS = 2 * 3600
MIN_SAMPLES_FOR_LEAK = 20
MONOTONIC_SHARE = 0.8

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_sampler_lock = threading.Lock()
_sampler_pid: int | None = None


def rss_bytes() -> int:
    """This process's resident set size: /proc/self/statm's second field."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE_SIZE


def process_key(*, role: str, host: str | None = None, pid: int | None = None) -> str:
    host = host or socket.gethostname()
    pid = pid if pid is not None else os.getpid()
    return f"{KEY_PREFIX}{role}:{host}:{pid}"


def _client() -> Any:
    return get_redis_connection("default")


def memory_sample_record(*, role: str) -> None:
    """Store one ``"<epoch>,<rss_bytes>"`` sample for this process; never raises."""
    if breaker.is_open():
        return
    try:
        now = time.time()
        key = process_key(role=role)
        pipe = _client().pipeline(transaction=False)
        pipe.rpush(key, f"{now:.0f},{rss_bytes()}")
        pipe.ltrim(key, -SAMPLES_KEPT, -1)
        pipe.expire(key, TTL_SECONDS)
        pipe.zadd(INDEX_KEY, {key: now})
        pipe.zremrangebyscore(INDEX_KEY, "-inf", now - TTL_SECONDS)
        pipe.expire(INDEX_KEY, TTL_SECONDS)
        pipe.execute()
    except Exception as exc:  # Redis down, /proc missing: skip this sample
        breaker.trip(exc)


def slope_per_hour(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope of RSS over time, in bytes per hour."""
    n = len(samples)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    if var == 0:
        return 0.0
    cov = sum((t - mean_t) * (v - mean_v) for t, v in samples)
    return cov / var * 3600


def _mostly_rising(values: list[int]) -> bool:
    steps = len(values) - 1
    if steps <= 0:
        return False
    rising = sum(1 for a, b in itertools.pairwise(values) if b >= a)
    return rising >= MONOTONIC_SHARE * steps


def _parse(raw: list[bytes]) -> list[tuple[float, int]]:
    samples = []
    for item in raw:
        stamp, _, value = item.decode().partition(",")
        try:
            samples.append((float(stamp), int(value)))
        except ValueError:
            continue
    return samples


def _live_after() -> float:
    """Processes whose last sample is older than three intervals are gone."""
    interval = settings.MEMORY_SAMPLE_SECONDS
    return time.time() - max(3 * interval, 90)


def memory_figures() -> list[dict[str, Any]]:
    """One row per live process: RSS now, its trend and whether it looks like
    a leak. An empty list when Redis is unavailable."""
    if breaker.is_open():
        return []
    threshold = settings.MEMORY_LEAK_MB_PER_HOUR * 1024 * 1024
    try:
        client = _client()
        keys = [
            k.decode() for k in client.zrangebyscore(INDEX_KEY, _live_after(), "+inf")
        ]
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.lrange(key, 0, -1)
        lists = pipe.execute() if keys else []
        rows: dict[str, dict[str, Any]] = {}
        for key, raw in zip(keys, lists, strict=True):
            samples = _parse(raw)
            if not samples:
                continue
            role, host, pid = key.removeprefix(KEY_PREFIX).rsplit(":", 2)
            trend = slope_per_hour(samples)
            values = [v for _, v in samples]
            leak = (
                len(samples) >= MIN_SAMPLES_FOR_LEAK
                and trend > threshold
                and _mostly_rising(values)
            )
            rows[key] = {
                "process": f"{role}@{host}:{pid}",
                "role": role,
                "pid": int(pid),
                "rss_bytes": values[-1],
                "trend_bytes_per_hour": round(trend),
                "samples": len(samples),
                "leak_suspected": leak,
            }
        _leak_flags(client, rows)
        return sorted(rows.values(), key=lambda row: (row["role"], row["process"]))
    except Exception as exc:
        breaker.trip(exc)
        return []


def _leak_flags(client: Any, rows: dict[str, dict[str, Any]]) -> None:
    """Warn once when a process first looks leaky (across every reader); one
    pipelined round trip for all the processes read."""
    if not rows:
        return
    pipe = client.pipeline(transaction=False)
    for key, row in rows.items():
        flag = LEAK_FLAG_PREFIX + key.removeprefix(KEY_PREFIX)
        if row["leak_suspected"]:
            pipe.set(flag, "1", nx=True, ex=TTL_SECONDS)
        else:
            pipe.delete(flag)
    for row, first in zip(rows.values(), pipe.execute(), strict=True):
        if row["leak_suspected"] and first:
            logger.warning(
                "memory_leak_suspected",
                process=row["process"],
                rss_bytes=row["rss_bytes"],
                trend_bytes_per_hour=row["trend_bytes_per_hour"],
                samples=row["samples"],
            )


def _sample_forever(role: str, interval: float) -> None:
    while True:
        # memory_sample_record never raises; the thread must outlive anything.
        with contextlib.suppress(Exception):
            memory_sample_record(role=role)
        time.sleep(interval)


def memory_sampler_start(*, role: str) -> None:
    """Start this process's sampling thread (once per process; after a fork,
    the child starts its own: threads do not survive fork)."""
    global _sampler_pid
    with _sampler_lock:
        if _sampler_pid == os.getpid():
            return
        _sampler_pid = os.getpid()
    interval = float(settings.MEMORY_SAMPLE_SECONDS)
    if interval <= 0:
        return
    thread = threading.Thread(
        target=_sample_forever,
        args=(role, interval),
        name=f"memory-sampler-{role}",
        daemon=True,
    )
    thread.start()
