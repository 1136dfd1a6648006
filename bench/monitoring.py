"""Monitoring overhead (issue: monitoring): cached product-list throughput
with all monitoring on ÷ with it off, measured side by side.

    .venv/bin/python bench/monitoring.py [--write] [--products 10000]
        [--rounds 5] [--seconds 10] [--connections 16]

Two gunicorns as in the Procfile (config/gunicorn.py; config/web_server.py:
gthread, cores + 1 processes x 4 threads), both pinned to CPU 0 and only one
loaded at a time; wrk pinned to CPU 1. "On" is the project's settings:
django-prometheus (middleware and cache wrapper, multiprocess files), the
request log middleware (one Redis pipeline of statistics, the route-template
latency histogram, slow-query timing) and the memory sampler. "Off" is
bench/settings_unmonitored.py: the same without them. Arms alternate over
--rounds rounds, order reversed every other round, after a warm-up of each.
"""

import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.catalog import LIST, load
from bench.common import pin_self, setup_django, spread, write_section
from bench.latency import JSON
from bench.web import PORT, alternate, gunicorn, parser
from config import web_server

ARMS = ("monitoring on", "monitoring off")


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--products", type=int, default=10_000)
    args = options.parse_args()
    setup_django()
    pinned = pin_self(1)
    load(args.products)
    with (
        tempfile.TemporaryDirectory() as on_dir,
        tempfile.TemporaryDirectory() as off_dir,
        gunicorn(port=PORT, PROMETHEUS_MULTIPROC_DIR=on_dir) as on,
        gunicorn(
            port=PORT + 1,
            settings="bench.settings_unmonitored",
            PROMETHEUS_MULTIPROC_DIR=off_dir,
        ) as off,
    ):
        figures = alternate(
            "",
            dict(zip(ARMS, (on + LIST, off + LIST), strict=True)),
            dict.fromkeys(ARMS, JSON),
            rounds=args.rounds,
            seconds=args.seconds,
            connections=args.connections,
        )
    rps = {arm: [run["rps"] for run in figures[arm]] for arm in ARMS}
    p50 = {arm: [run["p50_ms"] for run in figures[arm]] for arm in ARMS}
    ratio = [a / b for a, b in zip(rps[ARMS[0]], rps[ARMS[1]], strict=True)]
    body = "\n".join(
        [
            f"{pinned}; two gunicorns as the Procfile's web process ("
            f"{web_server.describe()} each), both pinned to CPU 0, one loaded at a "
            f"time. wrk {args.connections} connections, {args.seconds} s per arm "
            f"per round, {args.rounds} rounds, arms alternated (order reversed "
            f"every other round) after a 2 s warm-up of each. First page of {LIST} "
            f"from the response cache, {args.products:,} products. Off: "
            "bench/settings_unmonitored.py (no django-prometheus, no request log "
            "middleware and its Redis statistics, no memory sampler).",
            "",
            "| arm | req/s, median (min, max) | p50 ms, median |",
            "|---|---|---|",
            *[
                f"| {arm} | {spread(rps[arm])} | {statistics.median(p50[arm]):.2f} |"
                for arm in ARMS
            ],
            f"| **on ÷ off** | **{spread(ratio)}** (goal ≥ 0.9) | |",
        ]
    )
    print(body)
    if args.write:
        write_section("monitoring", body)


if __name__ == "__main__":
    main()
