"""Catalog benchmark (issue: catalog API with a cache that is never stale).

    .venv/bin/python bench/catalog.py [--write] [--figures 1,2,3,4,5]
        [--products 10000] [--sizes 10000,100000,1000000] [--deep-products 100000]

gunicorn as in the Procfile (config/gunicorn.py; config/web_server.py: gthread,
cores + 1 processes x 4 threads) pinned to CPU 0; the load generator (wrk, or
this process as one sequential client) pinned to CPU 1. Data from seed_demo
(--reset --products N), then VACUUM ANALYZE. "Cache off" is
/bench/products-uncached/: the project's list view on the same server without
the response cache around it (what a miss runs), so both arms share everything
else.

1. Cached list page throughput ÷ a bare Django view returning the same bytes
   through the same middleware and server.
2. Against what a Django user would write (bench/drf_baseline.py): the cached
   list ÷ a DRF ListAPIView behind cache_page, and the list with the cache off
   ÷ the plain ListAPIView.
3. ?search= latency (p50, p99), cache off, a rare word, a common word and a
   prefix, at every size of --sizes; the p50 of the largest ÷ the smallest.
4. Cursor page 500 ÷ page 1 latency for every ordering, cache off, at
   --deep-products.
5. 304 revalidation (If-None-Match) throughput ÷ cached 200 throughput.

Ratios of 1, 2, 4 and 5 alternate their arms over --rounds rounds; the sizes
of 3 follow one another, a load apart.
"""

import os
import statistics
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.catalog_latency import UNCACHED, Sampled, figure_3, figure_4, search_sample
from bench.common import ROOT, pin_self, setup_django, spread, write_section
from bench.latency import JSON, request
from bench.web import alternate, gunicorn, parser
from config import web_server

BARE_BODY = ROOT / "bench" / "out" / "bare_body.json"
LIST = "/api/products/"
ALL_FIGURES = (1, 2, 3, 4, 5)


def load(products: int) -> None:
    """seed_demo at this size (unless already there), VACUUM ANALYZE, and no
    cached page left from other data."""
    from django.core.cache import cache
    from django.db import connection

    from bench.drf_baseline import CACHE_PAGE_PREFIX
    from catalog.cache import catalog_invalidate
    from catalog.models import Product

    if Product.objects.count() != products:
        print(f"loading {products:,} products", flush=True)
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
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    catalog_invalidate(
        namespaces=["products", "product", "categories", "popular", "leaderboard"]
    )
    cache.delete_pattern(f"*{CACHE_PAGE_PREFIX}*")


def rates(
    figures: dict[str, list[dict[str, float]]], key: str = "rps"
) -> dict[str, list[float]]:
    return {name: [run[key] for run in runs] for name, runs in figures.items()}


def ratios(values: dict[str, list[float]], top: str, bottom: str) -> list[float]:
    return [a / b for a, b in zip(values[top], values[bottom], strict=True)]


def body_bytes(base: str, path: str) -> bytes:
    status, _, body = request(base, path)
    if status != 200:
        raise SystemExit(f"GET {path}: {status} {body[:200]!r}")
    return body


def wrk_table(
    figures: dict[str, list[dict[str, float]]],
    rows: list[tuple[str, str, str, str]],
    sizes: dict[str, int],
) -> list[str]:
    """Arms (req/s and p50), then ratio rows ``(label, top, bottom, goal or note)``."""
    rps, p50 = rates(figures), rates(figures, "p50_ms")
    lines = [
        "| arm | body bytes | req/s, median (min, max) | p50 ms, median |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {sizes[name]:,} | {spread(rps[name])} | "
        f"{statistics.median(p50[name]):.2f} |"
        for name in figures
    ]
    for label, top, bottom, note in rows:
        value = spread(ratios(rps, top, bottom))
        if note.startswith("goal"):  # the figures; the rest are context
            label, value = f"**{label}**", f"**{value}**"
        lines.append(f"| {label} | | {value} ({note}) | |")
    return lines


def write_bare_body(base: str) -> None:
    """What /bench/bare-bytes returns: the list page as served now (each worker
    reads the file once, so it must not change while the server runs)."""
    BARE_BODY.write_bytes(body_bytes(base, LIST))


def figure_1(base: str, args: Namespace) -> list[str]:
    write_bare_body(base)
    arms = {"cached list": LIST, "bare view": "/bench/bare-bytes"}
    figures = run_wrk(base, arms, dict.fromkeys(arms, JSON), args)
    sizes = {name: len(body_bytes(base, path)) for name, path in arms.items()}
    return [
        f"**1. Against a bare view**, first page of {LIST}, {args.products:,} "
        "products; the bare view returns the same bytes (read from a file):",
        "",
        *wrk_table(
            figures,
            [("cached list ÷ bare view", "cached list", "bare view", "goal ≥ 0.6")],
            sizes,
        ),
    ]


def figure_2(base: str, args: Namespace) -> list[str]:
    from django.core.cache import cache

    from bench.drf_baseline import CACHE_PAGE_PREFIX

    write_bare_body(base)
    arms = {
        "project, cached": LIST,
        "DRF + cache_page": "/bench/drf-list-cached/",
        "project, cache off": UNCACHED,
        "DRF ListAPIView": "/bench/drf-list/",
        "bare view": "/bench/bare-bytes",
    }
    sizes = {name: len(body_bytes(base, path)) for name, path in arms.items()}
    # cache_page stores nothing for some responses (a Set-Cookie, say): check.
    if not cache.keys(f"*{CACHE_PAGE_PREFIX}*"):
        raise SystemExit("cache_page stored nothing: the baseline would be uncached")
    figures = run_wrk(base, arms, dict.fromkeys(arms, JSON), args)
    return [
        f"**2. Against DRF**, first page, {args.products:,} products, 20 a page; "
        "the baseline (bench/drf_baseline.py) is a ListAPIView over active "
        "products with a nested ModelSerializer (the same fields), "
        "select_related, DRF's CursorPagination on -created_at, and "
        f"cache_page in the default Redis cache with the same TTL (CATALOG_TTL); "
        "the project with the cache off is its list view without the response "
        f"cache ({UNCACHED}); the bare view of figure 1 is run beside them to "
        "place the baseline against the issue's reference (about 0.5 x the bare "
        "view cached, 1/7 uncached):",
        "",
        *wrk_table(
            figures,
            [
                (
                    "cached: project ÷ cache_page",
                    "project, cached",
                    "DRF + cache_page",
                    "goal ≥ 1.2",
                ),
                (
                    "uncached: project ÷ ListAPIView",
                    "project, cache off",
                    "DRF ListAPIView",
                    "goal ≥ 1.5",
                ),
                (
                    "cache_page ÷ bare view",
                    "DRF + cache_page",
                    "bare view",
                    "issue's reference about 0.5",
                ),
                (
                    "ListAPIView ÷ bare view",
                    "DRF ListAPIView",
                    "bare view",
                    "issue's reference about 0.14",
                ),
            ],
            sizes,
        ),
    ]


def figure_5(base: str, args: Namespace) -> list[str]:
    status, answer, body = request(base, LIST)
    etag = answer["ETag"]
    revalidate = {**JSON, "If-None-Match": etag}
    if status != 200 or request(base, LIST, revalidate)[0] != 304:
        raise SystemExit(f"{LIST} with If-None-Match: {etag} is not answered 304")
    arms = {"304 revalidation": LIST, "cached 200": LIST}
    # wrk counts only statuses >= 400 as errors, so alternate() accepts the 304s.
    figures = run_wrk(
        base, arms, {"304 revalidation": revalidate, "cached 200": JSON}, args
    )
    read = {
        name: statistics.median(run["bytes_read"] / run["requests"] for run in runs)
        for name, runs in figures.items()
    }
    if read["304 revalidation"] >= len(body):
        raise SystemExit("the 304 arm received bodies: not revalidated")
    return [
        f"**5. Revalidation**, first page of {LIST}, {args.products:,} products, "
        f"with `If-None-Match: {etag}` (304, no body) and without (200); wrk "
        f"read {read['304 revalidation']:,.0f} and {read['cached 200']:,.0f} "
        "bytes per answer (headers included):",
        "",
        *wrk_table(
            figures,
            [("304 ÷ cached 200", "304 revalidation", "cached 200", "goal ≥ 1")],
            {"304 revalidation": 0, "cached 200": len(body)},
        ),
    ]


def run_wrk(
    base: str, arms: dict[str, str], headers: dict[str, dict[str, str]], args: Namespace
) -> dict[str, list[dict[str, float]]]:
    return alternate(
        base,
        arms,
        headers,
        rounds=args.rounds,
        seconds=args.seconds,
        connections=args.connections,
    )


def numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


RUNNERS = {1: figure_1, 2: figure_2, 4: figure_4, 5: figure_5}


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--figures", type=numbers, default=list(ALL_FIGURES))
    options.add_argument(
        "--products", type=int, default=10_000, help="for figures 1, 2 and 5"
    )
    options.add_argument(
        "--sizes",
        type=numbers,
        default=[10_000, 100_000, 1_000_000],
        help="product counts for figure 3",
    )
    options.add_argument(
        "--deep-products", type=int, default=100_000, help="for figure 4"
    )
    options.add_argument("--deep-page", type=int, default=500)
    options.add_argument(
        "--samples",
        type=int,
        default=600,
        help="sequential requests per query (3) or page (4)",
    )
    args = options.parse_args()
    unknown = set(args.figures) - set(ALL_FIGURES)
    if unknown:
        options.error(f"no figure {sorted(unknown)}")

    BARE_BODY.parent.mkdir(parents=True, exist_ok=True)
    setup_django({"BENCH_BARE_BODY": str(BARE_BODY)})
    pinned = pin_self(1)
    from catalog.models import Product

    where = {
        1: [args.products],
        2: [args.products],
        3: args.sizes,
        4: [args.deep_products],
        5: [args.products],
    }
    plan: dict[int, list[int]] = {}
    for figure in sorted(set(args.figures)):
        for size in where[figure]:
            plan.setdefault(size, []).append(figure)
    # Start with the size already loaded: one load fewer.
    current = Product.objects.count()
    sections: dict[int, list[str]] = {}
    searches: dict[int, dict[str, Sampled]] = {}
    for size in sorted(plan, key=lambda size: (size != current, size)):
        load(size)
        with gunicorn(BENCH_BARE_BODY=str(BARE_BODY)) as base:
            for figure in plan[size]:
                print(f"figure {figure}, {size:,} products", flush=True)
                if figure == 3:
                    searches[size] = search_sample(base, args, size)
                else:
                    sections[figure] = RUNNERS[figure](base, args)
    if searches:
        sections[3] = figure_3(searches, args)
    body = "\n".join(
        [
            f"{pinned}; gunicorn as the Procfile's web process (config/gunicorn.py, "
            f"{web_server.describe()}) pinned to CPU 0; "
            "PostgreSQL and Redis unpinned. Throughput: wrk "
            f"{args.connections} connections, {args.seconds} s per arm per round, "
            f"{args.rounds} rounds, arms alternated (order reversed every other "
            "round) after a 2 s warm-up of each. Cache off: the project's list "
            f"view mounted without its response cache at {UNCACHED} on the same "
            "server, so only the cache differs.",
            *["\n" + "\n".join(sections[figure]) for figure in sorted(sections)],
        ]
    )
    print(body)
    if args.write:
        write_section("catalog", body)


if __name__ == "__main__":
    main()
