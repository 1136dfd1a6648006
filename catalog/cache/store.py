"""The catalog's response cache: final response bodies in Redis, never stale.

One mechanism for every cached catalog GET. An entry holds a rendered body
(plain or gzip), its strong ETag, and the version tokens it was built under:
one per namespace (``products``, ``product``, ``categories``, ``popular``,
``leaderboard``),
one per tag (``product:{id}``, ``category:{id}``) and a global epoch. A write
replaces the tokens it touches once its transaction commits
(``catalog_invalidate``), so the next read sees a mismatch and rebuilds.

A hit is one round trip (an MGET of the entry and the current tokens) and no
database work; ``If-None-Match`` is answered 304 from the same data. Tokens are
random, not counters: if Redis evicts one, its successor matches no old entry.
When Redis fails, a circuit breaker answers from the database (``X-Cache:
BYPASS``) for ``CACHE_BREAKER_SECONDS`` before trying Redis again, with one
warning per interval; an invalidation lost to the outage bumps the global epoch
as soon as Redis answers again. When an entry expires, one process rebuilds it
under a short lock while the others serve the expired copy; on a cold key the
others wait briefly for the builder instead of all hitting the database.

Refresh-ahead keeps busy entries from expiring at all: a hit on an entry past
``CATALOG_REFRESH_AHEAD`` of its lifetime (0.5: 15 s into CATALOG_TTL's 30 s)
schedules one background rebuild of that key (``cache.refresh``, queue
``medium``), which rebuilds it through the same cached view as a real request
would (``catalog.warming.cache_refresh``), so the entry's clock restarts
while every request keeps answering HIT. MEDIUM, not LOW: a backlog of LOW or
BATCH jobs (a newsletter, a report run) must not hold the rebuilds back, or
the cache would start missing exactly while the workers are busiest
(bench/drain.py); a refresh is small and comes at most once per entry per
half lifetime. Only hits past that point pay
anything: one ``SET NX`` per entry version and process (the winner publishes),
so a hit that needs no refresh stays the one MGET. It is best effort: the
message goes straight to the broker, not through the jobs outbox (a GET
writes nothing to the database), on a short-timeout connection with no
retries; a dead broker or Redis costs one failed attempt per
``CACHE_BREAKER_SECONDS`` and one warning, and a lost refresh only means the
expiry path above runs as it did before (a MISS), so the TTL bound holds.

There is no in-process L1 in front of Redis. Measured on a hit of a 3 KB list
page, the Redis round trip is about 0.19 ms of the 0.35 ms ``serve`` takes,
and a small share of a whole request through gunicorn (bench/catalog.py), so
an L1 could gain a few per cent at most; and any L1 lifetime, even one
second, would let another process answer with a copy older than a write it
did not see, which breaks API.md's "visible on the next read".
"""

import gzip
import hashlib
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import structlog
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django_redis import get_redis_connection
from prometheus_client import Counter
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from config.celery import app as celery_app
from config.redis_breaker import breaker
from jobs.enums import Priority
from monitoring import metrics

logger = structlog.get_logger("bazaar.catalog.cache")

PREFIX = "bz:catalog"
EPOCH = "epoch"
VARIANTS = ("identity", "gzip")
LOCK_MS = 5000
WAIT_FOR_BUILDER = 1.0  # seconds a request waits for another process's build
HIT, MISS, BYPASS, STALE = "HIT", "MISS", "BYPASS", "STALE"
# A background rebuild ahead of expiry: never a client's answer, not a lookup.
REFRESHED, SKIPPED = "REFRESHED", "SKIPPED"
REFRESH_TASK = "cache.refresh"  # jobs/tasks/cache.py
REFRESH_QUEUE = Priority.MEDIUM.queue
# Longest a refresh's dedupe key lives: a lost message on a long-lived entry
# (the category tree's CACHE_DEFAULT_TTL) gets another chance after this.
REFRESH_DEDUPE_MAX = 60
# Every namespace a cached view may be built under.
NAMESPACES = ("products", "product", "categories", "popular", "leaderboard")

Compute = Callable[[], tuple[int, bytes]]

# Here rather than in monitoring.metrics: only this module and the refresh
# service (catalog.warming) count it.
CACHE_REFRESHES = Counter(
    "bazaar_cache_refreshes_total",
    "Refresh-ahead rebuilds of catalog cache entries by outcome (scheduled, "
    "dropped: not published; done, skipped: already fresh or being built, "
    "failed)",
    ("namespace", "outcome"),
)


@dataclass(frozen=True)
class Entry:
    status: int
    etag: str
    created: float
    tokens: str
    body: bytes

    def pack(self) -> bytes:
        head = f"{self.status}\n{self.etag}\n{self.created}\n{self.tokens}\n"
        return head.encode() + self.body

    @classmethod
    def unpack(cls, raw: bytes) -> "Entry":
        status, etag, created, tokens, body = raw.split(b"\n", 4)
        return cls(int(status), etag.decode(), float(created), tokens.decode(), body)


def _redis() -> Any:
    return get_redis_connection("default")


_hot = threading.local()


def _hot_mget(client: Any, keys: list[str]) -> list[bytes | None]:
    """MGET on a connection of this thread's own, configured like ``client``'s pool.

    A hit is this one command. Through the client, redis-py takes a connection
    from the pool and gives it back under a lock on every call, which measured
    about 100 us of the 180 us a hit's round trip cost; a connection kept per
    thread skips that and keeps redis-py's parser, timeouts and reconnects.
    It is remade after a fork and when the cache is reconfigured (new pool).
    """
    pool = client.connection_pool
    conn = getattr(_hot, "conn", None)
    if conn is None or _hot.pool is not pool or _hot.pid != os.getpid():
        # Outside the pool's count: it is never returned, and the socket
        # closes when its thread (and so this object) goes away.
        conn = pool.connection_class(**pool.connection_kwargs)
        _hot.conn, _hot.pool, _hot.pid = conn, pool, os.getpid()
        reused = False
    else:
        reused = True
    while True:
        try:
            conn.send_command("MGET", *keys)
            return conn.read_response()
        except RedisConnectionError:
            conn.disconnect()
            if not reused:
                raise
            # Redis restarted or dropped an idle connection: one fresh try
            # before the breaker is told.
            reused = False
        except BaseException:
            # A half-read connection is never reused.
            conn.disconnect()
            raise


def _token_key(name: str) -> str:
    return f"{PREFIX}:v:{name}"


def etag_for(body: bytes, variant: str) -> str:
    """Strong ETag; each representation (plain, gzip) gets its own."""
    digest = hashlib.sha256(body).hexdigest()[:32]
    return f'"{digest}-gz"' if variant == "gzip" else f'"{digest}"'


def request_digest(request: HttpRequest, namespace: str, params: Sequence[str]) -> str:
    """The normalized URL: path plus the whitelisted params, sorted."""
    query = request.GET if request.META.get("QUERY_STRING") else {}
    pairs = sorted(
        (name, value)
        for name in params
        if name in query
        for value in query.getlist(name)
        if value != ""
    )
    raw = f"{namespace}|{request.path_info.rstrip('/')}|{urlencode(pairs)}"
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def _build(
    compute: Compute, tokens: str, variants: Iterable[str] = VARIANTS
) -> dict[str, Entry]:
    """Render once; make the requested representations (stored entries get both)."""
    status, body = compute()
    now = time.time()
    entries = {}
    for variant in variants:
        payload = (
            gzip.compress(body, compresslevel=6, mtime=0) if variant == "gzip" else body
        )
        entries[variant] = Entry(status, etag_for(body, variant), now, tokens, payload)
    return entries


def _not_modified(request: HttpRequest, entry: Entry) -> bool:
    """The client already holds this entry (a 200 whose ETag it sent)."""
    inm = request.headers.get("If-None-Match", "")
    return entry.status == 200 and entry.etag in [t.strip() for t in inm.split(",")]


def _respond(
    request: HttpRequest, entry: Entry, variant: str, state: str, namespace: str
) -> HttpResponse:
    if _not_modified(request, entry):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(entry.body, status=entry.status)
        response["Content-Type"] = "application/json"
        if variant == "gzip":
            response["Content-Encoding"] = "gzip"
    response["ETag"] = entry.etag
    response["Cache-Control"] = "public, no-cache"
    response["Vary"] = "Accept-Encoding"
    response["X-Cache"] = HIT if state == STALE else state
    if state == REFRESHED:
        return response  # the worker's rebuild: counted as a refresh, not a lookup
    metrics.CACHE_REQUESTS.labels(namespace, state.lower()).inc()
    request._stats_cache = (namespace, state)  # type: ignore[attr-defined]
    return response


def refresh_ahead_fraction() -> float:
    """``CATALOG_REFRESH_AHEAD`` when it means anything (0 < f < 1), else 0."""
    fraction = float(getattr(settings, "CATALOG_REFRESH_AHEAD", 0) or 0)
    return fraction if 0 < fraction < 1 else 0.0


class _RefreshPublisher:
    """Refresh messages straight to the broker, best effort.

    Not ``jobs.broker.publish``: that is the relay's, with the jobs'
    timeouts. Here a connection per thread with the request path's Redis
    timeout (``REDIS_SOCKET_TIMEOUT``) and no retries; after a failure
    nothing is tried for ``CACHE_BREAKER_SECONDS`` and one warning is logged
    per interval, so a dead broker costs one request one timeout at most.
    """

    CLAIMS_MAX = 4096

    def __init__(self) -> None:
        self.local = threading.local()
        self.open_until = 0.0
        # Dedupe keys this process already tried (won or lost), with the
        # monotonic time they stop mattering: later hits skip the SET NX.
        self.claims: dict[str, float] = {}

    def is_open(self) -> bool:
        return time.monotonic() < self.open_until

    def trip(self, exc: Exception) -> None:
        if not self.is_open():
            logger.warning("cache_refresh_publish_failed", error=str(exc)[:200])
        self.open_until = time.monotonic() + settings.CACHE_BREAKER_SECONDS

    def reset(self) -> None:
        self.open_until = 0.0
        self.claims.clear()

    def first_claim(self, key: str, seconds: float) -> bool:
        """True the first time this process sees ``key`` within ``seconds``."""
        now = time.monotonic()
        if self.claims.get(key, 0.0) > now:
            return False
        if len(self.claims) >= self.CLAIMS_MAX:
            self.claims = {k: t for k, t in self.claims.items() if t > now}
            if len(self.claims) >= self.CLAIMS_MAX:
                self.claims.clear()
        self.claims[key] = now + seconds
        return True

    def connection(self) -> Any:
        from jobs.broker import connection_open

        local = self.local
        url = settings.CELERY_BROKER_URL
        conn = getattr(local, "conn", None)
        if conn is not None and (local.url != url or local.pid != os.getpid()):
            self.drop()
            conn = None
        if conn is None:
            conn = connection_open(url, timeout=settings.REDIS_SOCKET_TIMEOUT)
            local.conn, local.url, local.pid = conn, url, os.getpid()
        return conn

    def drop(self) -> None:
        conn = getattr(self.local, "conn", None)
        self.local.conn = None
        if conn is not None and self.local.pid == os.getpid():
            try:
                conn.release()
            except Exception:  # already broken: nothing to save
                logger.debug("cache_refresh_release_failed", exc_info=True)

    def publish(self, path: str, namespace: str, expires: float) -> bool:
        """Send one refresh; False (never an exception) when the broker fails.

        ``expires``: a worker that only gets to it after the entry expired
        drops it (a request has rebuilt the entry inline by then).
        """
        try:
            celery_app.send_task(
                REFRESH_TASK,
                args=[path],
                queue=REFRESH_QUEUE,
                connection=self.connection(),
                retry=False,
                ignore_result=True,
                expires=max(1.0, expires),
            )
        except Exception as exc:
            self.drop()
            self.trip(exc)
            CACHE_REFRESHES.labels(namespace, "dropped").inc()
            return False
        CACHE_REFRESHES.labels(namespace, "scheduled").inc()
        return True


refresher = _RefreshPublisher()
MAX_REFRESH_PATH = 2000  # longer URLs are not worth a message


class _Lookup:
    """One cached GET: find the entry, or build it once."""

    def __init__(
        self,
        request: HttpRequest,
        *,
        namespace: str,
        compute: Compute,
        tags: Iterable[str],
        params: Sequence[str],
        ttl: int,
    ) -> None:
        self.request = request
        self.namespace = namespace
        self.compute = compute
        self.ttl = ttl
        self.names = [EPOCH, f"ns:{namespace}", *(f"tag:{tag}" for tag in tags)]
        encoding = request.headers.get("Accept-Encoding", "").lower()
        self.variant = "gzip" if "gzip" in encoding else "identity"
        self.digest = request_digest(request, namespace, params)
        self.lock = f"{PREFIX}:lock:{self.digest}"
        # Set by the refresh task (catalog.warming.cache_refresh).
        self.refreshing = bool(getattr(request, "catalog_cache_refresh", False))

    def key(self, variant: str) -> str:
        return f"{PREFIX}:r:{self.digest}:{variant}"

    def respond(self, entry: Entry, state: str) -> HttpResponse:
        return _respond(self.request, entry, self.variant, state, self.namespace)

    def tokens(self, values: Sequence[bytes | None]) -> str | None:
        if any(value is None for value in values):
            return None
        return ",".join(v.decode() for v in values)  # type: ignore[union-attr]

    def current(self, client: Any) -> tuple[Entry | None, str | None]:
        """One MGET: the stored entry if it was built under the current
        tokens (else None), and those tokens (None when one is missing)."""
        raw, *values = _hot_mget(
            client,
            [self.key(self.variant), *(_token_key(name) for name in self.names)],
        )
        tokens = self.tokens(values)
        entry = Entry.unpack(raw) if raw else None
        if entry is None or tokens is None or entry.tokens != tokens:
            return None, tokens
        return entry, tokens

    def fresh(self, entry: Entry) -> bool:
        return time.time() - entry.created < self.ttl

    def revalidate(self) -> HttpResponse | None:
        """A 304 if the client's ETag is the current entry's; None otherwise
        (including any Redis trouble: the full path then decides)."""
        if (
            "If-None-Match" not in self.request.headers
            or breaker.is_open()
            or breaker.lost_invalidation
        ):
            return None
        try:
            entry, _ = self.current(_redis())
        except RedisError:
            return None
        if (
            entry is None
            or not self.fresh(entry)
            or not _not_modified(self.request, entry)
        ):
            return None
        self.refresh_ahead(entry)
        return self.respond(entry, HIT)

    def serve(self) -> HttpResponse:
        if breaker.is_open():
            return self.skipped() if self.refreshing else self.bypass()
        try:
            client = _redis()
            if breaker.lost_invalidation:
                client.set(_token_key(EPOCH), uuid.uuid4().hex)
                breaker.lost_invalidation = False
            entry, tokens = self.current(client)
            if self.refreshing:
                return self.rebuild_ahead(client, entry, tokens)
            if entry is None:
                return self.fill(client, tokens)
            if self.fresh(entry):
                self.refresh_ahead(entry)
                return self.respond(entry, HIT)
            return self.refresh(client, entry, entry.tokens)
        except RedisError as exc:
            breaker.trip(exc)
            return self.skipped() if self.refreshing else self.bypass()

    def refresh_path(self) -> str:
        """The URL the refresh task requests: this request's path and query."""
        path = quote(self.request.path_info, safe="/")
        query = self.request.META.get("QUERY_STRING", "")
        return f"{path}?{query}" if query else path

    def refresh_ahead(self, entry: Entry) -> None:
        """A fresh hit past the refresh point: the first such hit of this
        entry version (across processes: SET NX) schedules one rebuild.

        Never raises and never costs a hit before the refresh point anything
        but this arithmetic.
        """
        fraction = refresh_ahead_fraction()
        if not fraction:
            return
        age = time.time() - entry.created
        remaining = self.ttl - age
        if age < fraction * self.ttl or remaining <= 0 or refresher.is_open():
            return
        claim = f"{PREFIX}:ra:{self.digest}:{entry.created!r}"
        hold = max(1, min(int(remaining) + 1, REFRESH_DEDUPE_MAX))
        if not refresher.first_claim(claim, hold):
            return
        path = self.refresh_path()
        if len(path) > MAX_REFRESH_PATH:
            return
        try:
            won = _redis().set(claim, b"1", nx=True, ex=hold)
        except RedisError as exc:
            breaker.trip(exc)  # this hit is answered; the next ones bypass
            return
        if won:
            refresher.publish(path, self.namespace, remaining)

    def rebuild_ahead(
        self, client: Any, entry: Entry | None, tokens: str | None
    ) -> HttpResponse:
        """The refresh task's turn: rebuild under the build lock, unless the
        entry was refreshed meanwhile or another process is building it.

        A missing entry (invalidated by a write since) is built too: the key
        was busy a moment ago, so its next reader would otherwise miss.
        """
        if entry is not None and (
            time.time() - entry.created < refresh_ahead_fraction() * self.ttl
        ):
            return self.skipped()
        if not client.set(self.lock, b"1", nx=True, px=LOCK_MS):
            return self.skipped()
        if tokens is None:
            tokens = self.ensure_tokens(client)
        return self.build_and_store(client, tokens, state=REFRESHED)

    def skipped(self) -> HttpResponse:
        """The refresh task's answer when there was nothing to rebuild."""
        response = HttpResponse(status=204)
        response["X-Cache"] = SKIPPED
        return response

    def bypass(self) -> HttpResponse:
        # Nothing is stored, so only the representation asked for is made.
        entry = _build(self.compute, "", (self.variant,))[self.variant]
        return self.respond(entry, BYPASS)

    def ensure_tokens(self, client: Any) -> str:
        """Current tokens, creating missing ones (SET NX keeps a racer's token)."""
        pipe = client.pipeline(transaction=False)
        for name in self.names:
            pipe.set(_token_key(name), uuid.uuid4().hex, nx=True)
        pipe.mget([_token_key(name) for name in self.names])
        return self.tokens(pipe.execute()[-1]) or ""

    def build_and_store(
        self, client: Any, tokens: str, state: str = MISS
    ) -> HttpResponse:
        try:
            entries = _build(self.compute, tokens)
            if entries["identity"].status == 200:
                # Kept past freshness so the old copy can stand in for a rebuild.
                keep = self.ttl + settings.CACHE_STALE_GRACE_SECONDS
                pipe = client.pipeline(transaction=False)
                for variant in VARIANTS:
                    pipe.set(self.key(variant), entries[variant].pack(), ex=keep)
                pipe.execute()
        finally:
            client.delete(self.lock)
        return self.respond(entries[self.variant], state)

    def fill(self, client: Any, tokens: str | None) -> HttpResponse:
        """A miss: one process builds; the others wait for it, then read."""
        if tokens is None:
            tokens = self.ensure_tokens(client)
        if client.set(self.lock, b"1", nx=True, px=LOCK_MS):
            # A builder may have stored the entry between our read and the lock.
            raw = client.get(self.key(self.variant))
            if raw and Entry.unpack(raw).tokens == tokens:
                client.delete(self.lock)
                return self.respond(Entry.unpack(raw), HIT)
            return self.build_and_store(client, tokens)
        deadline = time.monotonic() + WAIT_FOR_BUILDER
        while time.monotonic() < deadline:
            time.sleep(0.005)
            building = client.exists(self.lock)
            raw = client.get(self.key(self.variant))
            if raw and Entry.unpack(raw).tokens == tokens:
                return self.respond(Entry.unpack(raw), HIT)
            if not building:
                break  # the builder stored nothing we can use (e.g. a 404)
        return self.bypass()

    def refresh(self, client: Any, entry: Entry, tokens: str) -> HttpResponse:
        """Expired: one process rebuilds, the others serve the expired copy."""
        if client.set(self.lock, b"1", nx=True, px=LOCK_MS):
            return self.build_and_store(client, tokens)
        return self.respond(entry, STALE)


def serve(
    request: HttpRequest,
    *,
    namespace: str,
    compute: Compute,
    tags: Iterable[str] = (),
    params: Sequence[str] = (),
    ttl: int | None = None,
) -> HttpResponse:
    """Answer a catalog GET from the cache, building the entry on a miss.

    ``compute`` returns the public answer as ``(status, JSON bytes)``; only
    200s are stored. ``params`` whitelists the query parameters that matter.
    """
    return _Lookup(
        request,
        namespace=namespace,
        compute=compute,
        tags=tags,
        params=params,
        ttl=ttl or settings.CACHE_DEFAULT_TTL,
    ).serve()


def revalidate(
    request: HttpRequest,
    *,
    namespace: str,
    tags: Iterable[str] = (),
    params: Sequence[str] = (),
    ttl: int | None = None,
) -> HttpResponse | None:
    """A 304 for a conditional GET whose ETag is still current, else None.

    Called early in the middleware stack (``catalog.api.middleware``): a 304
    carries no body, so the headers only a body needs (content type, framing
    and sniffing policy) and the middleware that adds them can be skipped.
    """
    return _Lookup(
        request,
        namespace=namespace,
        compute=_never,
        tags=tags,
        params=params,
        ttl=ttl or settings.CACHE_DEFAULT_TTL,
    ).revalidate()


def _never() -> tuple[int, bytes]:
    raise AssertionError("revalidation never builds an entry")


def catalog_invalidate(
    *, namespaces: Iterable[str] = (), tags: Iterable[str] = ()
) -> None:
    """Make every entry built under these namespaces or tags unreachable.

    Runs after the current transaction commits, so no reader can rebuild an
    entry from data the write has not made visible yet.
    """
    names = [f"ns:{name}" for name in namespaces] + [f"tag:{tag}" for tag in tags]
    if not names:
        return

    def bump() -> None:
        try:
            pipe = _redis().pipeline(transaction=False)
            for name in names:
                pipe.set(_token_key(name), uuid.uuid4().hex)
            pipe.execute()
        except RedisError as exc:
            breaker.trip(exc)
            breaker.lost_invalidation = True
            logger.error("cache_invalidation_lost", names=names, error=str(exc)[:200])

    transaction.on_commit(bump)
