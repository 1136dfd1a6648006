# ruff: noqa: S311 - benchmark randomness, not cryptography
"""Browsing capacity measured open loop (issue: load tests and the report).

    .venv/bin/python bench/capacity.py [--write] [--products 10000]
        [--rates 40,80,120,160,200,240,280,320,400] [--step-seconds 10]
        [--rounds 5] [--seconds 20]

gunicorn as in the Procfile (config/gunicorn.py; config/web_server.py: gthread,
cores + 1 processes x 4 threads) pinned to CPU 0, the Procfile's general Celery
worker unpinned (the catalog cache's refresh-ahead rebuilds run on its medium
queue); the load generator (this process, asyncio, one new connection per
request) pinned to CPU 1; PostgreSQL and Redis unpinned. Data from seed_demo at
--products (bench/catalog.py's load()).

The anonymous browsing journey of loadtests/locustfile.py as a request mix
(weights: list 3, filtered list 3, search 2, product detail 8, category tree
1, popular 1). Products ranked by popularity (the first 500), categories and
search words each drawn from a Zipf distribution, P(rank k) ∝ 1/k^1.1, so a
few pages are hot and a long tail is not (price bands: 5 lows x 3 widths).

Open loop: requests leave at a constant arrival rate whatever the answers
do (the schedule never waits for a reply), and each latency is measured from
the request's scheduled time to its last byte, so queueing in front of a
saturated server counts (no coordinated omission).

1. Latency against offered load: the rates of --rates, --step-seconds each,
   after the cache is warmed by one pass over the journey; while the last of
   them is still kept up with, the ladder goes on in steps of 20 % (up to
   --max-rate), so a faster machine is climbed to its knee too. A step is kept
   up with when ≥ 97 % of offered is answered within it, errors < 1 % and
   p95 ≤ 1 s (the stress profile's knee). Capacity is the highest rate served
   within the latency objective, p95 < 200 ms, at it and at every rate below
   it: a rate answered only through a queue a second deep is kept up with but
   not served, and one quiet 10 s step above a slow one (this machine's
   neighbours come and go) must not set it. Plotted in
   bench/plots/capacity.png.
2. The journey at 80 % of that capacity, --rounds rounds of --seconds: p50,
   p95, p99, error rate and the cache hit rate (X-Cache HIT ÷ HIT + MISS of
   the cached routes), per round and over all.

The generator's own CPU use and its dispatch lag (how late a request left
against its schedule) are reported beside each step, to show it is not the
limit.
"""

import asyncio
import itertools
import json
import random
import sys
import tempfile
import time
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.catalog import load as load_products
from bench.common import (
    GENERAL_WORKER,
    ROOT,
    percentile,
    pin_self,
    setup_django,
    spread,
    start,
    stop,
    write_section,
)
from bench.latency import get_json
from bench.web import gunicorn, parser
from config import web_server

ZIPF_S = 1.1
HOT_PRODUCTS = 500
WEIGHTS = {"list": 3, "filtered": 3, "search": 2, "detail": 8, "tree": 1, "popular": 1}
TIMEOUT = 10.0  # seconds; a request not answered by then is an error
MAX_IN_FLIGHT = 900  # beyond this the generator would run out of sockets
PLOT = ROOT / "bench" / "plots" / "capacity.png"


def zipf_weights(count: int) -> list[float]:
    return list(itertools.accumulate(1 / k**ZIPF_S for k in range(1, count + 1)))


def zipf_pick(items: list[Any], cumulative: list[float], rng: random.Random) -> Any:
    point = rng.random() * cumulative[-1]
    return items[min(bisect_left(cumulative, point), len(items) - 1)]


class Journey:
    """Paths of the browsing mix, drawn from a seeded generator."""

    def __init__(self, base: str, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        products: list[dict[str, Any]] = []
        path: str | None = "/api/products/?ordering=-popularity&page_size=100"
        while path and len(products) < HOT_PRODUCTS:
            page = get_json(base, path)
            products.extend(page["results"])
            path = page.get("next")
            if path:
                parts = urlsplit(path)
                path = f"{parts.path}?{parts.query}"
        self.products = [str(product["id"]) for product in products[:HOT_PRODUCTS]]
        tree = get_json(base, "/api/categories/")
        categories: list[tuple[int, str]] = []
        stack = list(tree)
        while stack:
            node = stack.pop()
            categories.append((node.get("product_count") or 0, node["slug"]))
            stack.extend(node.get("children") or [])
        # Bigger categories are visited more: rank by size, then Zipf.
        self.categories = [slug for _, slug in sorted(categories, reverse=True)]
        sys.path.insert(0, str(ROOT))
        from orders.demo.vocabulary import CATEGORY_TREE

        words = sorted(
            {
                word
                for department in CATEGORY_TREE
                for leaf in department.leaves
                for word in (*leaf.nouns, *department.brands)
            }
        )
        random.Random(11).shuffle(words)  # a fixed, arbitrary popularity order
        self.words = words
        self.cum = {
            "products": zipf_weights(len(self.products)),
            "categories": zipf_weights(len(self.categories)),
            "words": zipf_weights(len(self.words)),
        }
        self.kinds = list(WEIGHTS)
        self.kind_weights = list(itertools.accumulate(WEIGHTS.values()))

    def path(self) -> tuple[str, str]:
        """(kind, path) of the next request."""
        rng = self.rng
        kind = self.kinds[bisect_left(self.kind_weights, rng.random() * 18 + 1e-9)]
        if kind == "list":
            ordering = rng.choice(["", "-popularity", "price", "-price", "-created_at"])
            query = f"?ordering={ordering}" if ordering else ""
            return kind, f"/api/products/{query}"
        if kind == "filtered":
            low = rng.choice([0, 10, 25, 50, 100])
            params = {
                "category": zipf_pick(self.categories, self.cum["categories"], rng),
                "min_price": low,
                "max_price": low + rng.choice([25, 50, 200]),
            }
            return kind, f"/api/products/?{urlencode(params)}"
        if kind == "search":
            word = zipf_pick(self.words, self.cum["words"], rng)
            return kind, f"/api/products/?{urlencode({'search': word})}"
        if kind == "detail":
            return (
                kind,
                f"/api/products/{zipf_pick(self.products, self.cum['products'], rng)}/",
            )
        if kind == "tree":
            return kind, "/api/categories/"
        return kind, "/api/catalog/popular/"


@dataclass
class Step:
    rate: float
    seconds: float
    latencies: list[float] = field(default_factory=list)  # ms, answered 2xx-3xx
    errors: int = 0
    answered_in_time: int = 0  # within the step's duration plus 1 s
    hits: int = 0
    misses: int = 0
    lag: list[float] = field(default_factory=list)  # ms late at dispatch
    cpu: float = 0.0  # generator CPU seconds per second
    sent: int = 0
    by_kind: dict[str, list[float]] = field(default_factory=dict)

    @property
    def error_rate(self) -> float:
        return self.errors / self.sent if self.sent else 0.0

    @property
    def hit_rate(self) -> float:
        seen = self.hits + self.misses
        return self.hits / seen if seen else 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) if self.latencies else float("nan")


async def _request(host: str, port: int, path: str) -> tuple[int, str]:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        data = await reader.read(-1)  # the server closes after the answer
    finally:
        writer.close()
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = head.split("\r\n")
    status = int(lines[0].split()[1])
    cache = ""
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "x-cache":
            cache = value.strip()
    return status, cache


async def _run(base: str, journey: Journey, rate: float, seconds: float) -> Step:
    parts = urlsplit(base)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    step = Step(rate=rate, seconds=seconds)
    count = int(rate * seconds)
    in_flight = 0
    start = loop.time() + 0.05
    cutoff = start + seconds + 1.0

    async def one(kind: str, path: str, scheduled: float) -> None:
        nonlocal in_flight
        in_flight += 1
        try:
            status, cache = await asyncio.wait_for(_request(host, port, path), TIMEOUT)
        except (OSError, TimeoutError, ValueError, IndexError):
            status, cache = 0, ""
        finally:
            in_flight -= 1
        done = loop.time()
        if not 200 <= status < 400:
            step.errors += 1
            return
        elapsed = (done - scheduled) * 1000
        step.latencies.append(elapsed)
        step.by_kind.setdefault(kind, []).append(elapsed)
        if done <= cutoff:
            step.answered_in_time += 1
        if cache == "HIT":
            step.hits += 1
        elif cache == "MISS":
            step.misses += 1

    tasks = []
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    for i in range(count):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        step.lag.append(max(0.0, loop.time() - scheduled) * 1000)
        step.sent += 1
        if in_flight >= MAX_IN_FLIGHT:
            step.errors += 1  # the server is this far behind: count, don't send
            continue
        kind, path = journey.path()
        tasks.append(asyncio.create_task(one(kind, path, scheduled)))
    await asyncio.gather(*tasks)
    step.cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    return step


def run_step(base: str, journey: Journey, rate: float, seconds: float) -> Step:
    return asyncio.run(_run(base, journey, rate, seconds))


def keeps_up(step: Step) -> bool:
    return (
        step.answered_in_time >= 0.97 * step.sent
        and step.error_rate < 0.01
        and step.p(95) <= 1000
    )


# The plan's latency objective (p95 under 200 ms): capacity is the rate served
# within it.
OBJECTIVE_P95_MS = 200.0


def within_objective(step: Step) -> bool:
    return keeps_up(step) and step.p(95) < OBJECTIVE_P95_MS


def capacity_of(steps: list[Step]) -> float | None:
    """The highest rate of the ladder before its first step outside the
    objective (None if the first is)."""
    best = None
    for step in steps:
        if not within_objective(step):
            break
        best = step.rate
    return best


def warm(base: str, journey: Journey, seconds: float) -> Step:
    """One pass at a gentle rate: fills the cache the way browsing would."""
    return run_step(base, journey, 40, seconds)


def rates(args: Any) -> Iterator[float]:
    """--rates, then 20 % more each step while the server keeps up."""
    yield from args.rates
    rate = args.rates[-1]
    while rate * 1.2 <= args.max_rate:
        rate = round(rate * 1.2 / 20) * 20
        yield rate


def ladder(base: str, journey: Journey, args: Any) -> list[Step]:
    steps: list[Step] = []
    for rate in rates(args):
        if len(steps) >= len(args.rates) and not keeps_up(steps[-1]):
            break  # past the given rates only to find the knee
        step = run_step(base, journey, rate, args.step_seconds)
        steps.append(step)
        print(
            f"  {rate:>5.0f}/s offered: {len(step.latencies):,} answered, "
            f"{step.answered_in_time / max(step.sent, 1):.1%} in time, p50 "
            f"{step.p(50):.0f} ms, p95 {step.p(95):.0f} ms, p99 {step.p(99):.0f} ms, "
            f"errors {step.error_rate:.2%}, hits {step.hit_rate:.0%}, generator "
            f"{step.cpu:.0%} CPU, lag p99 {percentile(step.lag, 99):.1f} ms",
            flush=True,
        )
        if step.error_rate > 0.05 or step.p(95) > 3000:
            break  # far past the knee: no point in going further
    return steps


def plot(steps: list[Step], capacity: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    rates = [step.rate for step in steps]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for q, style in ((50, "o-"), (95, "s-"), (99, "^-")):
        ax.plot(rates, [step.p(q) for step in steps], style, label=f"p{q}")
    ax.axvline(
        capacity, color="grey", linestyle="--", label=f"capacity {capacity:.0f}/s"
    )
    ax.axvline(0.8 * capacity, color="green", linestyle=":", label="80 %")
    ax.axhline(200, color="red", linestyle=":", linewidth=1, label="200 ms")
    ax.set_yscale("log")
    ax.set_xlabel("offered load, requests/s (open loop)")
    ax.set_ylabel("latency from scheduled send, ms")
    ax.set_title("Browsing journey: latency against offered load (2 cores)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def tables(steps: list[Step], capacity: float, runs: list[Step], args: Any) -> str:
    ladder_rows = [
        f"| {s.rate:.0f} | {len(s.latencies):,} | "
        f"{s.answered_in_time / max(s.sent, 1):.1%} "
        f"| {s.p(50):.1f} | {s.p(95):.1f} | {s.p(99):.1f} | {s.error_rate:.2%} | "
        f"{s.hit_rate:.1%} | {s.cpu:.0%} | {percentile(s.lag, 99):.1f} | "
        f"{'yes' if keeps_up(s) else 'no'} | "
        f"{'yes' if within_objective(s) else 'no'} |"
        for s in steps
    ]
    every = [value for run in runs for value in run.latencies]
    errors = sum(run.errors for run in runs)
    sent = sum(run.sent for run in runs)
    hits = sum(run.hits for run in runs)
    misses = sum(run.misses for run in runs)
    p95s = [run.p(95) for run in runs]
    kinds = sorted({kind for run in runs for kind in run.by_kind})
    kind_rows = [
        f"| {kind} | {len(v):,} | {percentile(v, 50):.1f} | {percentile(v, 95):.1f} |"
        for kind in kinds
        for v in [[x for run in runs for x in run.by_kind.get(kind, [])]]
    ]
    target = 0.8 * capacity
    return "\n".join(
        [
            f"**1. Latency against offered load** ({args.step_seconds:.0f} s per "
            "step, after a warm-up pass): kept up = ≥ 97 % answered within the "
            "step, errors < 1 % and p95 ≤ 1 s; capacity = the highest rate "
            f"served within p95 < {OBJECTIVE_P95_MS:.0f} ms, with every rate below "
            "it.",
            "",
            "| offered req/s | answered | in time | p50 ms | p95 ms | p99 ms | "
            "errors | cache hits | generator CPU | dispatch lag p99 ms | keeps up "
            f"| p95 < {OBJECTIVE_P95_MS:.0f} ms |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
            *ladder_rows,
            "",
            f"**Capacity: {capacity:.0f} requests/s.** "
            f"![latency against offered load](plots/capacity.png)",
            "",
            f"**2. The journey at 80 % of capacity ({target:.0f} requests/s)**, "
            f"{len(runs)} rounds of {args.seconds:.0f} s:",
            "",
            "| figure | value |",
            "|---|---|",
            f"| **p95 ms**, median of rounds (min, max) | **{spread(p95s)}** "
            "(goal < 200) |",
            f"| p50 / p95 / p99 ms over all {len(every):,} answers | "
            f"{percentile(every, 50):.1f} / {percentile(every, 95):.1f} / "
            f"{percentile(every, 99):.1f} |",
            f"| **error rate** | **{errors / max(sent, 1):.3%}** ({errors} of "
            f"{sent:,}; goal < 0.1 %) |",
            f"| **cache hit rate** (X-Cache HIT ÷ HIT + MISS) | "
            f"**{hits / max(hits + misses, 1):.1%}** ({hits:,} of {hits + misses:,};"
            " goal ≥ 90 %) |",
            f"| cache hit rate per round, median (min, max) | "
            f"{spread([100 * run.hit_rate for run in runs])} % |",
            f"| generator CPU, median of rounds | "
            f"{spread([100 * run.cpu for run in runs])} % of CPU 1 |",
            "",
            "| route | answers | p50 ms | p95 ms |",
            "|---|---|---|---|",
            *kind_rows,
        ]
    )


def measure(base: str, args: Any) -> tuple[list[Step], float, list[Step]]:
    """Warm, climb the ladder of rates, then run the journey at 80 %."""
    journey = Journey(base)
    print("warming", flush=True)
    warmed = warm(base, journey, 15)
    print(f"  warm-up: {len(warmed.latencies):,} answers, hits {warmed.hit_rate:.0%}")
    print("1. latency against offered load", flush=True)
    steps = ladder(base, journey, args)
    capacity = capacity_of(steps)
    if capacity is None:
        raise SystemExit(
            f"the first rate already missed p95 < {OBJECTIVE_P95_MS:.0f} ms: "
            "give lower --rates"
        )
    print(f"capacity {capacity:.0f}/s; 2. the journey at 80 %", flush=True)
    runs = []
    for round_no in range(args.rounds):
        run = run_step(base, journey, 0.8 * capacity, args.seconds)
        runs.append(run)
        print(
            f"  round {round_no + 1}: {len(run.latencies):,} answers, p95 "
            f"{run.p(95):.1f} ms, errors {run.error_rate:.2%}, hits "
            f"{run.hit_rate:.1%}",
            flush=True,
        )
    return steps, capacity, runs


def main() -> None:
    options = parser(__doc__)
    options.set_defaults(seconds=20)
    options.add_argument("--products", type=int, default=10_000)
    options.add_argument(
        "--rates",
        type=lambda text: [float(part) for part in text.split(",")],
        default=[40, 80, 120, 160, 200, 240, 280, 320, 400],
    )
    options.add_argument("--max-rate", type=float, default=3000)
    options.add_argument("--step-seconds", type=float, default=10)
    args = options.parse_args()
    began = time.monotonic()
    setup_django()
    pinned = pin_self(1)
    print(pinned, flush=True)
    load_products(args.products)
    # The Procfile's general worker: the catalog cache's refresh-ahead
    # rebuilds run on its medium queue.
    worker = start(GENERAL_WORKER)
    try:
        with gunicorn() as base:
            steps, capacity, runs = measure(base, args)
    finally:
        stop(worker)
    # Without --write the plot goes to /tmp, leaving the committed one alone.
    path = PLOT if args.write else Path(tempfile.gettempdir()) / PLOT.name
    plot(steps, capacity, path)
    print(f"plot: {path}", flush=True)
    minutes = (time.monotonic() - began) / 60
    body = "\n".join(
        [
            f"{pinned}; gunicorn as the Procfile's web process (config/gunicorn.py, "
            f"{web_server.describe()}) pinned to CPU 0; the Procfile's general "
            "Celery worker (refresh-ahead rebuilds of the catalog cache run on "
            "its medium queue), PostgreSQL and Redis "
            f"unpinned; {args.products:,} products (seed_demo). Open loop: constant "
            "arrival rate, a new connection per request, latency from each "
            "request's scheduled send to its last byte. Mix (weights): "
            + ", ".join(f"{kind} {weight}" for kind, weight in WEIGHTS.items())
            + f"; products (top {HOT_PRODUCTS} by popularity), categories (by "
            f"size) and search words drawn Zipf s = {ZIPF_S}. Run time "
            f"{minutes:.1f} min.",
            "",
            tables(steps, capacity, runs, args),
        ]
    )
    print(body)
    print(json.dumps({"capacity": capacity}))
    if args.write:
        write_section("capacity", body)


if __name__ == "__main__":
    main()
