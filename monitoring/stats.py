"""Request, cache and slow-query statistics in Redis, for reports and the
performance API.

Bookkeeping must not slow a request down: a request adds its counts to this
process's buffer, which a background thread writes to the default Redis in one
pipelined round trip every ``STATS_FLUSH_SECONDS``; never to PostgreSQL. Figures live in
per-minute hashes (``bz:stats:m:{epoch minute}``) with one field per route and
latency bucket, per route and error class, and per cache namespace and result;
slow statements go to per-hour hashes (``bz:stats:q:{epoch hour}``), since they
are rare. Keys expire ``STATS_RETENTION_HOURS`` after their bucket ends, so a
daily report run after midnight still finds the whole of yesterday.

Routes are URL templates (``api/products/<str:lookup>/``), never raw paths, and
unknown methods count as ``OTHER``: the number of fields is bounded by the URL
conf. Redis trouble goes through the shared breaker: writers drop the figures,
readers answer empty, and nothing raises into a request.
"""

import dataclasses
import hashlib
import math
import os
import re
import threading
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import structlog
from django.conf import settings
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from config.redis_breaker import breaker
from monitoring.metrics import METHODS

logger = structlog.get_logger("bazaar.monitoring.stats")

PREFIX = "bz:stats"
# Upper bounds (ms) of the latency buckets; the last bucket is everything above.
BOUNDS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
RESULTS = {"HIT": "hits", "MISS": "misses", "BYPASS": "bypasses", "STALE": "stale"}
EXAMPLE_CHARS = 1000
READ_CHUNK = 240  # minute hashes per pipeline when reading

_LITERALS = re.compile(
    r"'(?:[^']|'')*'"  # quoted strings ('' is an escaped quote)
    r"|\$\d+|%s|%\(\w+\)s"  # driver placeholders
    r"|(?<![\w\"$])\d+(?:\.\d+)?(?:e[+-]?\d+)?\b",  # numbers, not inside names
    re.IGNORECASE,
)
_LISTS = re.compile(r"\bIN\s*\(\s*\?(?:\s*,\s*\?)*\s*\)", re.IGNORECASE)
_ROWS = re.compile(r"\bVALUES\s*\([?\s,]*\)(?:\s*,\s*\([?\s,]*\))*", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


def _client() -> Any:
    return get_redis_connection("default")


def _minute_key(minute: int) -> str:
    return f"{PREFIX}:m:{minute}"


def _query_key(hour: int) -> str:
    return f"{PREFIX}:q:{hour}"


def _query_max_key(hour: int) -> str:
    return f"{PREFIX}:qmax:{hour}"


def _expiry(bucket_end: float) -> int:
    return int(bucket_end + settings.STATS_RETENTION_HOURS * 3600)


def route_name(method: str, route: str | None) -> str:
    """``"GET api/products/"``; no route → ``unmatched``, odd methods → ``OTHER``."""
    method = method.upper() if method.upper() in METHODS else "OTHER"
    return f"{method} {route or 'unmatched'}"


class _Buffer:
    """This process's counts not yet in Redis, per minute hash and field.

    Adding to a dict costs a request microseconds; the pipelined write (a
    tenth of a millisecond of CPU) is made by a daemon thread every
    ``STATS_FLUSH_SECONDS``, off the request path, and by any reader in this
    process before it reads. A process that dies loses at most that interval,
    which figures can afford.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[int, Counter[str]] = {}
        self.pid = 0  # the process whose flusher thread runs

    def add(self, minute: int, fields: Iterable[str]) -> None:
        with self.lock:
            if self.pid != os.getpid():  # first use here, or a forked child
                self.pid, self.counts = os.getpid(), {}
                threading.Thread(
                    target=self._flush_forever, name="stats-flush", daemon=True
                ).start()
            counter = self.counts.get(minute)
            if counter is None:
                counter = self.counts[minute] = Counter()
            counter.update(fields)

    def _flush_forever(self) -> None:
        while True:
            time.sleep(settings.STATS_FLUSH_SECONDS)
            try:
                self.flush()
            except Exception:
                logger.exception("stats_flush_failed")

    def flush(self) -> None:
        with self.lock:
            counts, self.counts = self.counts, {}
        if not counts or breaker.is_open():
            return
        try:
            pipe = _client().pipeline(transaction=False)
            for minute, counter in counts.items():
                key = _minute_key(minute)
                for field, count in counter.items():
                    pipe.hincrby(key, field, count)
                pipe.expireat(key, _expiry(minute * 60 + 60))
            pipe.execute()
        except RedisError as exc:
            breaker.trip(exc)


_buffer = _Buffer()


def request_record(
    *,
    route: str | None,
    method: str,
    status: int,
    duration_ms: float,
    cache: tuple[str, str] | None = None,
    now: float | None = None,
) -> None:
    """Count one finished request (buffered in this process); never raises."""
    if not settings.REQUEST_STATS_ENABLED:
        return
    minute = int((time.time() if now is None else now) // 60)
    name = route_name(method, route)
    fields = [f"h|{bisect_left(BOUNDS, duration_ms)}|{name}"]
    if status >= 500:
        fields.append(f"e5|{name}")
    elif status >= 400:
        fields.append(f"e4|{name}")
    if cache is not None:
        namespace, result = cache
        fields.append(f"c|{result.upper()}|{namespace}")
    _buffer.add(minute, fields)


def stats_flush() -> None:
    """Write this process's buffered counts now (readers do; so does a
    worker on its way out)."""
    _buffer.flush()


def normalize_sql(sql: str) -> str:
    """The statement with literals and parameters as ``?``, IN lists and
    VALUES rows as ``(...)``: one shape whatever the values or their number."""
    text = _LITERALS.sub("?", sql)
    text = _ROWS.sub("VALUES (...)", _LISTS.sub("IN (...)", text))
    return _SPACE.sub(" ", text).strip()


def fingerprint(normalized: str) -> str:
    """A short, stable name for a normalized statement (12 hex digits)."""
    return hashlib.blake2b(normalized.encode(), digest_size=6).hexdigest()


def slow_query_record(
    *, sql: str, duration_ms: float, route: str, now: float | None = None
) -> None:
    """Count one slow statement under its fingerprint; never raises.

    ``route`` is the ``route_name`` of the request that ran it. The first
    example and route seen in an hour are kept (HSETNX).
    """
    if breaker.is_open():
        return
    hour = int((time.time() if now is None else now) // 3600)
    key, top = _query_key(hour), _query_max_key(hour)
    normalized = normalize_sql(sql)
    fp = fingerprint(normalized)
    expires = _expiry(hour * 3600 + 3600)
    try:
        pipe = _client().pipeline(transaction=False)
        pipe.hincrby(key, f"{fp}|n", 1)
        pipe.hincrbyfloat(key, f"{fp}|ms", round(duration_ms, 3))
        pipe.hsetnx(key, f"{fp}|sql", normalized[:EXAMPLE_CHARS])
        pipe.hsetnx(key, f"{fp}|route", route)
        pipe.zadd(top, {fp: duration_ms}, gt=True)
        pipe.expireat(key, expires)
        pipe.expireat(top, expires)
        pipe.execute()
    except RedisError as exc:
        breaker.trip(exc)


class SlowQueries:
    """A ``connection.execute_wrapper`` keeping statements slower than
    ``SLOW_QUERY_MS``; the middleware records them once the route is known."""

    KEEP = 50  # per request, so a runaway loop cannot hoard memory

    def __init__(self) -> None:
        self.threshold = settings.SLOW_QUERY_MS
        self.found: list[tuple[str, float]] = []

    def __call__(
        self, execute: Any, sql: Any, params: Any, many: bool, context: Any
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            if elapsed >= self.threshold and len(self.found) < self.KEEP:
                self.found.append((str(sql), elapsed))


def _epoch(moment: datetime) -> float:
    """Seconds since the epoch; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _buckets(start: datetime, end: datetime, size: int) -> range:
    """Buckets of ``size`` seconds that overlap [start, end): exact for whole
    minutes (hours), else the figures are as coarse as their buckets. Clamped
    to what can still exist, so a wide window costs no more than retention."""
    now = time.time()
    oldest = now - settings.STATS_RETENTION_HOURS * 3600 - size
    first = math.floor(max(_epoch(start), oldest) / size)
    return range(first, math.ceil(min(_epoch(end), now + size) / size))


def _read(commands: Iterable[tuple[str, str]]) -> list[Any] | None:
    """Run (command, key) reads in pipelined chunks, after this process's
    buffered counts are written; None if Redis failed."""
    _buffer.flush()
    if breaker.is_open():
        return None
    commands = list(commands)
    replies: list[Any] = []
    try:
        client = _client()
        for offset in range(0, len(commands), READ_CHUNK):
            pipe = client.pipeline(transaction=False)
            for command, key in commands[offset : offset + READ_CHUNK]:
                if command == "zscores":
                    pipe.zrange(key, 0, -1, withscores=True)
                else:
                    pipe.hgetall(key)
            replies.extend(pipe.execute())
    except RedisError as exc:
        breaker.trip(exc)
        return None
    return replies


def _minute_fields(start: datetime, end: datetime) -> Counter[str]:
    """Every minute hash in [start, end) summed field by field."""
    replies = _read(("hgetall", _minute_key(m)) for m in _buckets(start, end, 60))
    merged: Counter[str] = Counter()
    for reply in replies or ():
        for field, value in reply.items():
            merged[field.decode()] += int(value)
    return merged


def percentile(histogram: list[int], q: float) -> float:
    """Linear interpolation inside the bucket holding the q-th request.

    The open-ended top bucket reports its lower bound (the largest bound).
    """
    rank = q * sum(histogram)
    seen = 0
    for index, count in enumerate(histogram):
        if count and seen + count >= rank:
            if index == len(BOUNDS):
                return float(BOUNDS[-1])
            lower = BOUNDS[index - 1] if index else 0
            return round(lower + (BOUNDS[index] - lower) * (rank - seen) / count, 2)
        seen += count
    return 0.0


def rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def route_figures(*, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per route over the minutes overlapping [start, end), busiest first.

    Percentiles interpolate linearly within the merged histogram's buckets, so
    they are estimates good to the bucket (e.g. somewhere in 50-100 ms).
    """
    return _route_rows(_minute_fields(start, end))


def _route_rows(fields: Counter[str]) -> list[dict[str, Any]]:
    histograms: dict[str, list[int]] = {}
    errors: Counter[str] = Counter()
    for field, value in fields.items():
        kind, _, rest = field.partition("|")
        if kind == "h":
            index, _, name = rest.partition("|")
            histograms.setdefault(name, [0] * (len(BOUNDS) + 1))[int(index)] += value
        elif kind in ("e5", "e4"):
            errors[f"{kind}|{rest}"] += value
    figures = []
    for name, histogram in histograms.items():
        count = sum(histogram)
        figures.append(
            {
                "route": name,
                "count": count,
                "errors": errors[f"e5|{name}"],
                "client_errors": errors[f"e4|{name}"],
                "error_rate": rate(errors[f"e5|{name}"], count),
                "p50_ms": percentile(histogram, 0.50),
                "p95_ms": percentile(histogram, 0.95),
                "p99_ms": percentile(histogram, 0.99),
            }
        )
    return sorted(figures, key=lambda row: (-row["count"], row["route"]))


def cache_figures(*, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per cache namespace over [start, end); a stale answer counts as a hit."""
    return _cache_rows(_minute_fields(start, end))


def _cache_rows(fields: Counter[str]) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for field, value in fields.items():
        kind, _, rest = field.partition("|")
        result, _, namespace = rest.partition("|")
        if kind != "c" or result not in RESULTS:
            continue
        row = rows.setdefault(
            namespace, {"namespace": namespace, **dict.fromkeys(RESULTS.values(), 0)}
        )
        row[RESULTS[result]] += value
    for row in rows.values():
        lookups = sum(row[name] for name in RESULTS.values())
        row["hit_rate"] = rate(row["hits"] + row["stale"], lookups)
    return sorted(rows.values(), key=lambda row: row["namespace"])


def totals(*, start: datetime, end: datetime) -> dict[str, Any]:
    """All requests and 5xx answers over [start, end)."""
    return _totals(_minute_fields(start, end))


def _totals(fields: Counter[str]) -> dict[str, Any]:
    requests = errors = 0
    for field, value in fields.items():
        if field.startswith("h|"):
            requests += value
        elif field.startswith("e5|"):
            errors += value
    return {
        "requests": requests,
        "errors": errors,
        "error_rate": rate(errors, requests),
    }


def request_figures(*, start: datetime, end: datetime) -> dict[str, Any]:
    """``totals`` (as ``requests``), ``route_figures`` (as ``routes``) and
    ``cache_figures`` (as ``cache``) over [start, end), from one read of the
    minute hashes instead of one each."""
    fields = _minute_fields(start, end)
    return {
        "requests": _totals(fields),
        "routes": _route_rows(fields),
        "cache": _cache_rows(fields),
    }


def slow_query_figures(
    *, start: datetime, end: datetime, limit: int = 10
) -> list[dict[str, Any]]:
    """The statements that cost the most time over the hours overlapping
    [start, end), merged by fingerprint."""
    hours = _buckets(start, end, 3600)
    commands = []
    for hour in hours:
        commands += [("hgetall", _query_key(hour)), ("zscores", _query_max_key(hour))]
    replies = _read(commands) or []
    rows: dict[str, dict[str, Any]] = {}
    for fields, maxima in zip(replies[::2], replies[1::2], strict=True):
        for raw, value in fields.items():
            fp, _, kind = raw.decode().rpartition("|")
            row = rows.setdefault(
                fp,
                {"fingerprint": fp, "count": 0, "total_ms": 0.0, "max_ms": 0.0},
            )
            if kind == "n":
                row["count"] += int(value)
            elif kind == "ms":
                row["total_ms"] += float(value)
            else:
                row.setdefault("example" if kind == "sql" else kind, value.decode())
        for fp, score in maxima:
            row = rows.get(fp.decode())
            if row is not None:
                row["max_ms"] = max(row["max_ms"], score)
    figures = []
    for row in rows.values():
        count = row["count"]
        figures.append(
            {
                "fingerprint": row["fingerprint"],
                "count": count,
                "total_ms": round(row["total_ms"], 2),
                "avg_ms": round(row["total_ms"] / count, 2) if count else 0.0,
                "max_ms": round(row["max_ms"], 2),
                "example": row.get("example", ""),
                "route": row.get("route", ""),
            }
        )
    figures.sort(key=lambda row: -row["total_ms"])
    return figures[:limit]


def stats_reset() -> int:
    """Delete every statistics key (SCAN, not KEYS); the number deleted.

    An operator action, so a Redis failure raises (after tripping the breaker)
    instead of pretending the figures are gone.
    """
    deleted = 0
    _buffer.flush()  # what this process still holds goes too
    try:
        client = _client()
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{PREFIX}:*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                deleted += client.unlink(*batch)
                batch = []
        if batch:
            deleted += client.unlink(*batch)
    except RedisError as exc:
        breaker.trip(exc)
        raise
    return deleted


@dataclasses.dataclass
class MinuteFigures:
    """Requests, 5xx answers, the all-routes latency histogram and cache
    lookups of one or more minute buckets."""

    requests: int = 0
    errors: int = 0
    histogram: list[int] = dataclasses.field(
        default_factory=lambda: [0] * (len(BOUNDS) + 1)
    )
    cache_hits: int = 0
    cache_lookups: int = 0

    def add(self, other: "MinuteFigures") -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.cache_hits += other.cache_hits
        self.cache_lookups += other.cache_lookups
        for index, count in enumerate(other.histogram):
            self.histogram[index] += count

    def percentile(self, q: float) -> float:
        return percentile(self.histogram, q)


def _parse_minute(reply: dict[bytes, bytes]) -> MinuteFigures:
    """One minute hash (``stats.request_record``'s fields) summed over routes."""
    figures = MinuteFigures()
    for raw, value in reply.items():
        kind, _, rest = raw.decode().partition("|")
        count = int(value)
        if kind == "h":
            figures.histogram[int(rest.partition("|")[0])] += count
            figures.requests += count
        elif kind == "e5":
            figures.errors += count
        elif kind == "c":
            result = rest.partition("|")[0]
            if result in RESULTS:
                figures.cache_lookups += count
                if result in ("HIT", "STALE"):  # as stats.cache_figures counts
                    figures.cache_hits += count
    return figures


def current_minute(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // 60)


def minute_figures(
    *, minutes: int, now: float | None = None
) -> list[tuple[int, MinuteFigures]]:
    """The last ``minutes`` minute buckets (the current one last), read in one
    pipelined pass (in chunks); empty figures if Redis fails.

    Histograms are merged across routes: the overall p95 is not the routes'
    maximum. For the performance API's windows and per-minute series.
    """
    current = current_minute(now)
    buckets = range(current - minutes + 1, current + 1)
    replies = _read(("hgetall", _minute_key(minute)) for minute in buckets)
    if replies is None:
        replies = [{}] * len(buckets)
    return [
        (minute, _parse_minute(reply))
        for minute, reply in zip(buckets, replies, strict=True)
    ]
