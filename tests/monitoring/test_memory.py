"""Memory samples per process in Redis, their trend, and leak suspicion."""

import logging
import os
import socket
import time

import pytest
from django_redis import get_redis_connection

from config.redis_breaker import breaker
from monitoring import memory


def write_series(*, role: str, pid: int, values: list[int], step: float = 30) -> str:
    """Store samples ending now, ``step`` seconds apart, as the sampler would."""
    key = memory.process_key(role=role, pid=pid)
    client = get_redis_connection("default")
    now = time.time()
    start = now - step * (len(values) - 1)
    client.rpush(key, *(f"{start + i * step:.0f},{v}" for i, v in enumerate(values)))
    client.zadd(memory.INDEX_KEY, {key: now})
    return key


def figure(process: str) -> dict:
    rows = {row["process"]: row for row in memory.memory_figures()}
    return rows[process]


def leak_warnings(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [
        r.msg
        for r in caplog.records
        if isinstance(r.msg, dict) and r.msg.get("event") == "memory_leak_suspected"
    ]


def test_samples_are_recorded_and_read_back() -> None:
    # given two samples of this process
    memory.memory_sample_record(role="web")
    memory.memory_sample_record(role="web")
    # when
    row = figure(f"web@{socket.gethostname()}:{os.getpid()}")
    # then they come back with this process's real RSS
    assert row["role"] == "web"
    assert row["pid"] == os.getpid()
    assert row["samples"] == 2
    assert row["rss_bytes"] == pytest.approx(memory.rss_bytes(), rel=0.5)
    assert row["rss_bytes"] > 1024 * 1024
    assert row["leak_suspected"] is False
    key = memory.process_key(role="web")
    ttl = get_redis_connection("default").ttl(key)
    assert 0 < ttl <= memory.TTL_SECONDS


def test_the_list_is_capped_at_an_hour_of_samples() -> None:
    # given more samples than kept
    for _ in range(memory.SAMPLES_KEPT + 5):
        memory.memory_sample_record(role="celery")
    # then only the last SAMPLES_KEPT remain
    key = memory.process_key(role="celery")
    assert get_redis_connection("default").llen(key) == memory.SAMPLES_KEPT


def test_steady_growth_is_a_suspected_leak_warned_once(
    caplog: pytest.LogCaptureFixture, settings
) -> None:
    # given 40 samples growing 1 MiB every 30 s (120 MiB/h) against 50 MiB/h
    settings.MEMORY_LEAK_MB_PER_HOUR = 50
    mib = 1024 * 1024
    write_series(role="web", pid=101, values=[200 * mib + i * mib for i in range(40)])
    caplog.set_level(logging.WARNING, logger="bazaar.monitoring")
    # when the figures are read twice
    first = figure(f"web@{socket.gethostname()}:101")
    second = figure(f"web@{socket.gethostname()}:101")
    # then the slope is measured, the leak suspected, and warned about once
    assert first["trend_bytes_per_hour"] == pytest.approx(120 * mib, rel=0.01)
    assert first["samples"] == 40
    assert first["leak_suspected"] is True
    assert second["leak_suspected"] is True
    warnings = leak_warnings(caplog)
    assert len(warnings) == 1
    assert warnings[0]["process"] == f"web@{socket.gethostname()}:101"


def test_flat_noisy_or_short_series_are_not_leaks(settings) -> None:
    settings.MEMORY_LEAK_MB_PER_HOUR = 50
    mib = 1024 * 1024
    host = socket.gethostname()
    # given a flat series, a steep but saw-toothed one, and a short steep one
    write_series(role="web", pid=201, values=[300 * mib] * 40)
    saw = [300 * mib + (i % 2) * 40 * mib + i * mib for i in range(40)]
    write_series(role="web", pid=202, values=saw)
    write_series(role="celery", pid=203, values=[i * 10 * mib for i in range(10)])
    # when
    flat, sawtooth, short = (
        figure(f"web@{host}:201"),
        figure(f"web@{host}:202"),
        figure(f"celery@{host}:203"),
    )
    # then none is suspected: no growth, not monotonic, too few samples
    assert flat["trend_bytes_per_hour"] == 0
    assert flat["leak_suspected"] is False
    assert sawtooth["trend_bytes_per_hour"] > 50 * mib
    assert sawtooth["leak_suspected"] is False
    assert short["leak_suspected"] is False


def test_processes_gone_quiet_are_not_listed() -> None:
    # given a process whose last sample is an hour old
    key = write_series(role="web", pid=301, values=[1, 2, 3])
    get_redis_connection("default").zadd(memory.INDEX_KEY, {key: time.time() - 3600})
    # when / then
    processes = {row["process"] for row in memory.memory_figures()}
    assert f"web@{socket.gethostname()}:301" not in processes


def test_redis_down_neither_raises_nor_blocks(settings) -> None:
    # given the cache Redis unreachable
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            **settings.CACHES["default"],
            "LOCATION": "redis://127.0.0.1:1/0",
        },
    }
    # when sampling and reading
    memory.memory_sample_record(role="web")
    figures = memory.memory_figures()
    # then nothing raised, the breaker opened, and later calls skip Redis
    assert figures == []
    assert breaker.is_open()
    memory.memory_sample_record(role="web")
    assert memory.memory_figures() == []
