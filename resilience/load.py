"""A bounded, self-stopping loopback load: catalog GETs and order POSTs.

Requests leave at a fixed rate (an open model: a slow server does not slow
the client down) from a thread pool. Every answer is recorded with its time,
status, latency and error code. An order is an *intent* with its own
Idempotency-Key: on a transport error, a 5xx or a 409 "in progress" the very
same request is sent again later (exponential backoff with jitter, never
sooner than the server's Retry-After), so after the run every intent either has
its order (counted once, however many tries it took) or is counted as lost.
The client stops by itself: no new intents after ``duration``, no retries
after ``duration + drain``.
"""

import heapq
import itertools
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

RETRY_STATUSES = {0, 500, 502, 503, 504}
RETRY_CODES = {"idempotency_request_in_progress"}


def _seconds(value: str | None) -> float:
    """Retry-After in seconds (the delta form; a date counts as none)."""
    try:
        return max(0.0, float(value)) if value else 0.0
    except ValueError:
        return 0.0


@dataclass
class Sample:
    at: float  # wall-clock time the request was sent
    kind: str  # "catalog" or "order"
    path: str
    status: int  # 0: no HTTP answer (connection refused, reset, timeout)
    latency: float
    is_json: bool
    code: str = ""
    retry_after: float = 0.0  # the server's Retry-After, in seconds


@dataclass
class Intent:
    """One order the client means to place, whatever it takes."""

    key: str
    token: str
    body: dict[str, Any]
    first_at: float = 0.0
    attempts: int = 0
    order_id: int | None = None
    final_status: int | None = None  # set when the intent ends (201 or a 4xx)
    done_at: float = 0.0


@dataclass
class LoadClient:
    base_url: str
    tokens: list[str]
    product_ids: list[int]
    rate: float = 30.0  # requests per second, new intents and browsing
    order_share: float = 0.4
    duration: float = 40.0
    drain: float = 60.0
    # Enough threads that a stalled server never throttles the offered rate.
    threads: int = 256
    timeout: float = 10.0
    retry_delay: float = 0.5  # first backoff; doubles per attempt up to 4 s
    seed: int = 7
    samples: list[Sample] = field(default_factory=list)
    intents: list[Intent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self._rng = random.Random(self.seed)  # noqa: S311 - load mix, not security
        self._retries: list[tuple[float, int, Intent]] = []
        self._seq = itertools.count()
        self._stop = threading.Event()
        self._no_new = threading.Event()
        self._wound_down_at: float | None = None
        self._thread = threading.Thread(target=self._dispatch, daemon=True)
        self._pending = 0
        self.started_at = 0.0
        self.ended_at = 0.0

    # --- control -------------------------------------------------------------
    def start(self) -> "LoadClient":
        self.started_at = time.time()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop early (an aborted scenario); normally the client ends itself."""
        self._stop.set()

    def wind_down(self) -> None:
        """No new requests from now on; retries of open intents continue
        (for ``drain`` seconds). Lets a scenario end the load at its fault's end
        when ``duration`` was only an upper bound."""
        self._wound_down_at = time.monotonic()
        self._no_new.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(
            timeout if timeout is not None else self.duration + self.drain + 30
        )

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    # --- the dispatcher --------------------------------------------------------
    def _dispatch(self) -> None:
        start = time.monotonic()
        wall0 = time.time()
        total = int(self.rate * self.duration)
        end_of_drain = start + self.duration + self.drain
        with ThreadPoolExecutor(self.threads, thread_name_prefix="load") as pool:
            i = 0
            orders_due = 0.0
            while not self._stop.is_set():
                now = time.monotonic()
                if self._no_new.is_set() and i < total:
                    total = i
                    end_of_drain = min(
                        end_of_drain, (self._wound_down_at or now) + self.drain
                    )
                next_new = start + i / self.rate if i < total else None
                with self._lock:
                    next_retry = self._retries[0][0] if self._retries else None
                    pending = self._pending
                if next_new is None and next_retry is None and pending == 0:
                    break  # everything sent and answered
                if now > end_of_drain:
                    break  # bounded: give up on what still retries
                candidates = [t for t in (next_new, next_retry) if t is not None]
                due = min(candidates) if candidates else now + 0.05
                if due > now:
                    self._stop.wait(min(due - now, 0.05))
                    continue
                if next_retry is not None and next_retry <= now:
                    with self._lock:
                        _, _, intent = heapq.heappop(self._retries)
                        self._pending += 1
                    pool.submit(self._order, intent)
                    continue
                # A new request: its kind follows the share exactly.
                orders_due += self.order_share
                if orders_due >= 1.0:
                    orders_due -= 1.0
                    intent = self._new_intent(wall0 + i / self.rate)
                    with self._lock:
                        self.intents.append(intent)
                        self._pending += 1
                    pool.submit(self._order, intent)
                else:
                    with self._lock:
                        self._pending += 1
                    pool.submit(self._browse, self._catalog_path())
                i += 1
        self.ended_at = time.time()

    def _new_intent(self, at: float) -> Intent:
        items = [
            {"product_id": pid, "quantity": self._rng.randint(1, 2)}
            for pid in self._rng.sample(self.product_ids, self._rng.randint(1, 2))
        ]
        return Intent(
            key=str(uuid.uuid4()),
            token=self._rng.choice(self.tokens),
            body={
                "items": items,
                "shipping_address": {
                    "name": "Resilience Test",
                    "line1": "1 Loopback Road",
                    "city": "Localhost",
                    "postal_code": "12345",
                    "country": "US",
                },
            },
            first_at=at,
        )

    def _catalog_path(self) -> str:
        pick = self._rng.random()
        pid = self._rng.choice(self.product_ids)
        if pick < 0.35:
            return "/api/products?page_size=20"
        if pick < 0.7:
            return f"/api/products/{pid}"
        if pick < 0.85:
            return "/api/categories"
        return f"/api/products?min_price={self._rng.randint(1, 50)}&ordering=price"

    # --- requests ----------------------------------------------------------------
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def _send(
        self, kind: str, method: str, path: str, **kwargs: Any
    ) -> tuple[Sample, dict[str, Any] | None]:
        sent = time.time()
        began = time.monotonic()
        body: dict[str, Any] | None = None
        try:
            answer = self._session().request(
                method,
                self.base_url + path,
                timeout=self.timeout,
                headers={"Accept": "application/json", **kwargs.pop("headers", {})},
                **kwargs,
            )
            status = answer.status_code
            retry_after = _seconds(answer.headers.get("Retry-After"))
            is_json = answer.headers.get("Content-Type", "").startswith(
                "application/json"
            )
            if is_json:
                try:
                    parsed = answer.json()
                    body = parsed if isinstance(parsed, dict) else {}
                except ValueError:
                    is_json = False
        except requests.RequestException:
            self._local.session = None  # a fresh connection next time
            status, is_json, retry_after = 0, False, 0.0
        sample = Sample(
            at=sent,
            kind=kind,
            path=path,
            status=status,
            latency=time.monotonic() - began,
            is_json=is_json,
            code=str((body or {}).get("code", "")) if status >= 400 else "",
            retry_after=retry_after,
        )
        with self._lock:
            self.samples.append(sample)
        return sample, body

    def _browse(self, path: str) -> None:
        try:
            self._send("catalog", "GET", path)
        finally:
            with self._lock:
                self._pending -= 1

    def _order(self, intent: Intent) -> None:
        try:
            intent.attempts += 1
            sample, body = self._send(
                "order",
                "POST",
                "/api/orders",
                json=intent.body,
                headers={
                    "Authorization": f"Bearer {intent.token}",
                    "Idempotency-Key": intent.key,
                },
            )
            retry = sample.status in RETRY_STATUSES or (
                sample.status == 409 and sample.code in RETRY_CODES
            )
            if retry and not self._stop.is_set():
                # A polite client: exponential backoff with jitter, never
                # sooner than the server's Retry-After (capped at 5 s).
                backoff = min(self.retry_delay * 2 ** (intent.attempts - 1), 4.0)
                with self._lock:
                    delay = max(backoff, min(sample.retry_after, 5.0))
                    delay *= self._rng.uniform(0.8, 1.2)
                    heapq.heappush(
                        self._retries,
                        (time.monotonic() + delay, next(self._seq), intent),
                    )
                return
            intent.final_status = sample.status
            intent.done_at = time.time()
            if sample.status == 201 and body:
                intent.order_id = body.get("id")
        finally:
            with self._lock:
                self._pending -= 1

    # --- figures -------------------------------------------------------------------
    def window(self, since: float, until: float) -> list[Sample]:
        with self._lock:
            return [s for s in self.samples if since <= s.at < until]

    def summary(
        self, since: float | None = None, until: float | None = None
    ) -> dict[str, Any]:
        """Counts over a time window (default: the whole run)."""
        since = self.started_at if since is None else since
        until = (self.ended_at or time.time()) if until is None else until
        samples = self.window(since, until)
        seconds = max(until - since, 1e-9)
        figures: dict[str, Any] = {
            "seconds": round(seconds, 1),
            "requests": len(samples),
            "requests_per_s": round(len(samples) / seconds, 1),
        }
        for kind in ("catalog", "order"):
            of_kind = [s for s in samples if s.kind == kind]
            ok = [s for s in of_kind if 200 <= s.status < 300 or s.status == 304]
            figures[f"{kind}_requests"] = len(of_kind)
            figures[f"{kind}_ok"] = len(ok)
            figures[f"{kind}_errors"] = len(of_kind) - len(ok)
            figures[f"{kind}_error_rate_pct"] = round(
                100 * (len(of_kind) - len(ok)) / max(len(of_kind), 1), 3
            )
        figures["5xx"] = sum(1 for s in samples if s.status >= 500)
        figures["5xx_not_json"] = sum(
            1 for s in samples if s.status >= 500 and not s.is_json
        )
        figures["no_answer"] = sum(1 for s in samples if s.status == 0)
        statuses: dict[str, int] = {}
        for s in samples:
            label = f"{s.kind} {s.status}{' ' + s.code if s.code else ''}"
            statuses[label] = statuses.get(label, 0) + 1
        figures["statuses"] = dict(sorted(statuses.items()))
        latencies = sorted(s.latency for s in samples if s.status)
        if latencies:
            figures["p95_ms"] = round(
                1000 * latencies[int(0.95 * (len(latencies) - 1))]
            )
        figures["order_intents"] = len(
            {s_key for s_key in self._intent_keys_in(since, until)}
        )
        return figures

    def _intent_keys_in(self, since: float, until: float) -> set[str]:
        """Intents with at least one attempt (first or retry) in the window:
        the orders a client was trying to place then."""
        keys = set()
        with self._lock:
            intents = list(self.intents)
        for intent in intents:
            last = intent.done_at or time.time()
            if intent.first_at < until and last >= since:
                keys.add(intent.key)
        return keys

    def outcome(self) -> dict[str, int]:
        """What became of every intent: placed, refused (a 4xx), lost."""
        with self._lock:
            intents = list(self.intents)
        placed = [i for i in intents if i.order_id is not None]
        refused = [
            i for i in intents if i.order_id is None and i.final_status is not None
        ]
        return {
            "intents": len(intents),
            "placed": len(placed),
            "refused": len(refused),
            "lost": len(intents) - len(placed) - len(refused),
            "retried": sum(1 for i in intents if i.attempts > 1),
            "distinct_order_ids": len({i.order_id for i in placed}),
        }

    def order_ids(self) -> list[int]:
        with self._lock:
            return [i.order_id for i in self.intents if i.order_id is not None]
