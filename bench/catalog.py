"""Catalog benchmark (issue: catalog API with a cache that is never stale).

    .venv/bin/python bench/catalog.py [--write]

Measured so far:
1. Cached product list page throughput ÷ a bare Django view returning the same
   bytes through the same middleware and server (gunicorn as configured,
   pinned to CPU 0; wrk pinned to CPU 1), arms alternated over rounds.

Still to come: the comparison with DRF's ListAPIView + cache_page, search p50
and its scale curve, deep-page latency, and 304 revalidation throughput.
"""

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, pin_self, setup_django, spread, write_section
from bench.web import alternate, gunicorn, parser

BARE_BODY = ROOT / "bench" / "out" / "bare_body.json"


def seed(products: int) -> None:
    from catalog.models import Product

    if Product.objects.count() != products:
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "seed_demo",
                "--reset",
                "--products",
                str(products),
                "--users",
                "200",
                "--orders",
                "500",
            ],
            cwd=ROOT,
            env={**os.environ},
            check=True,
            stdout=subprocess.DEVNULL,
        )


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--products", type=int, default=10_000)
    args = options.parse_args()

    BARE_BODY.parent.mkdir(parents=True, exist_ok=True)
    setup_django({"BENCH_BARE_BODY": str(BARE_BODY)})
    seed(args.products)
    pinned = pin_self(1)
    json_only = {"Accept": "application/json"}
    arms = {"cached list": "/api/products/", "bare view": "/bench/bare-bytes"}
    with gunicorn(BENCH_BARE_BODY=str(BARE_BODY)) as base:
        request = urllib.request.Request(  # noqa: S310 - loopback only
            f"{base}/api/products/", headers=json_only
        )
        BARE_BODY.write_bytes(urllib.request.urlopen(request).read())  # noqa: S310
        figures = alternate(
            base,
            arms,
            dict.fromkeys(arms, json_only),
            rounds=args.rounds,
            seconds=args.seconds,
            connections=args.connections,
        )
    rates = {name: [f["rps"] for f in runs] for name, runs in figures.items()}
    ratios = [
        c / b for c, b in zip(rates["cached list"], rates["bare view"], strict=True)
    ]
    body = "\n".join(
        [
            f"{args.products:,} products from seed_demo; {pinned}; gunicorn as "
            f"config/gunicorn.py (sync, 2 x cores + 1 = {2 * os.cpu_count() + 1} "
            "workers) pinned to CPU 0; wrk "
            f"{args.connections} connections, {args.seconds} s per arm per round, "
            f"{args.rounds} rounds, arms alternated; first page of /api/products/, "
            f"{BARE_BODY.stat().st_size:,} bytes.",
            "",
            "| arm | req/s, median (min, max) |",
            "|---|---|",
            *[f"| {name} | {spread(rates[name])} |" for name in arms],
            f"| **1. cached list ÷ bare view** | **{spread(ratios)}** (goal ≥ 0.6) |",
            "",
            "Figures 2-5 of the issue (against DRF + cache_page, search p50 and scale, "
            "deep pages, 304 throughput) are not measured yet.",
        ]
    )
    print(body)
    if args.write:
        write_section("catalog", body, ".venv/bin/python bench/catalog.py --write")


if __name__ == "__main__":
    main()
