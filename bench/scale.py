"""Scale curve (issue 9): p50/p95 of the product list, a filtered list, search
and detail at several catalog sizes, over HTTP, cached and uncached.

Goal: the cost grows sub-linearly, p50 and p95 at the largest size ÷ the
smallest (1,000,000 ÷ 10,000) ≤ 3 for every operation. The uncached figure is
the one that matters (the database cost); the cached one is what a warm
response cache gives users.

- One database per size (``bazaar_scale_<size>``), filled once by COPY with
  the demo generator (orders/demo/products.py) over a three-level category
  tree (~190 categories) and 1,000 sellers, then VACUUM ANALYZE. A database
  whose product count already matches is reused: 1M products take minutes.
  ``search_vector`` is a generated column, so COPY fills it exactly as the
  app's writes do, and the GIN index is rebuilt after the load.
- One gunicorn per size (config/gunicorn.py with 2 processes, CPU 0), each
  with its own Redis database for the response cache and ``CATALOG_TTL`` long
  enough that the warmed entries stay warm. The client is this process, pinned
  to CPU 1: one request at a time on a new connection, timed from before the
  connect to the last byte.
- Uncached: the same URLs with ``?format=json``, which the response cache
  never serves (catalog/cache/views.py), so every request runs the view and
  its queries. Cached: fixed pools of URLs warmed once, so every request is a
  hit.
- Each round visits every size (order reversed every other round) and, per
  size, sends ``--samples`` requests per operation and arm, shuffled together.
  Ratios are computed per round; median and (min, max) over rounds.

``--explain SIZE`` prints EXPLAIN (ANALYZE, BUFFERS) of the SQL each operation
runs at that size (run by the selectors themselves, queries captured).
"""

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BENCH_ENV, ROOT, percentile, pin_self, spread, write_section
from bench.latency import request
from bench.web import gunicorn
from config import web_server

OPERATIONS = ("list", "filtered", "search", "detail")
ARMS = ("uncached", "cached")
ORDERINGS = ("price", "-price", "-created_at", "name", "-popularity")
PAGE_SIZE = 20
SELLERS = 1000
SUBCATEGORIES_PER_LEAF = 4
SELLER_DOMAIN = "scale.bazaar.local"
# Searches by selectivity (orders/demo/vocabulary.py): words of many
# descriptions or names, the prefix a user is still typing, and product
# nouns of one leaf category.
COMMON_SEARCHES = ("everyday ", "black ", "premium ", "wireless ", "wa", "auralis ")
RARE_SEARCHES = ("serum ", "hammock ", "tripod ", "lens ", "garden hose ", "earbuds ")
CURSOR_PAGES = 8  # cursor pages followed per ordering (pages 2..9)
CACHED_POOL = 40  # warmed URLs per list operation; detail: DETAIL_POOL ids
DETAIL_POOL = 300
ZIPF_S = 1.1  # skew of the cached detail reads over the warmed ids
CACHE_REDIS_DB = 12  # the first size's cache database; the next sizes count up
BASE_PORT = int(os.environ.get("SCALE_PORT", "8191"))
PLOT = ROOT / "bench" / "plots" / "scale.png"
GOAL = 3.0


def db_name(size: int) -> str:
    return f"bazaar_scale_{size}"


def db_url(size: int) -> str:
    return f"postgres://postgres@127.0.0.1:5432/{db_name(size)}"


def label(size: int) -> str:
    if size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


# --- Data ------------------------------------------------------------------------


def _django(size: int) -> None:
    """Set this (child) process up on the size's own database, migrated."""
    from bench.common import setup_django

    os.environ["BENCH_DATABASE_URL"] = db_url(size)
    setup_django({"DATABASE_URL": db_url(size)})


def fill(size: int) -> None:
    """Child process: load ``size`` products unless the database has them."""
    _django(size)
    from django.db import connection

    from catalog.models import Category, Product

    count = Product.objects.count()
    if count == size and Category.objects.count() > 100:
        print(f"  {db_name(size)}: {count:,} products present, reused", flush=True)
        return
    started = time.perf_counter()
    _load(size)
    loaded = time.perf_counter() - started
    with connection.cursor() as cursor:
        # Visibility map and statistics as a settled table has them
        # (autovacuum would get there); index-only scans need the former.
        cursor.execute("VACUUM ANALYZE catalog_product, catalog_category")
    total = time.perf_counter() - started
    print(
        f"  {db_name(size)}: {size:,} products loaded in {loaded:.0f} s "
        f"({total:.0f} s with VACUUM ANALYZE)",
        flush=True,
    )


def _load(size: int) -> None:
    import random as _random

    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from accounts.models import User
    from catalog.models import Category, Product
    from orders.demo.bulk import bulk_empty
    from orders.demo.products import products_create
    from orders.demo.seed import EPOCH

    rng = _random.Random(size)  # noqa: S311 - benchmark data
    with transaction.atomic():
        bulk_empty(Product, Category)
        User.objects.filter(email__endswith=f"@{SELLER_DOMAIN}").delete()
        password = make_password(None)  # unusable: nobody logs in as them
        sellers = User.objects.bulk_create(
            [
                User(
                    email=f"seller{n}@{SELLER_DOMAIN}",
                    first_name="Scale",
                    last_name=f"Seller {n}",
                    is_seller=True,
                    is_verified=True,
                    password=password,
                )
                for n in range(1, SELLERS + 1)
            ],
            batch_size=1000,
        )
        shelves = _categories()
        products_create(
            rng,
            count=size,
            shelves=shelves,
            seller_ids=[seller.pk for seller in sellers],
            since=EPOCH,
        )


def _categories() -> list:
    """Departments, their leaves, and ``SUBCATEGORIES_PER_LEAF`` children of
    each leaf named by its features (products go there): about 190 nodes."""
    from django.utils.text import slugify

    from catalog.models import Category
    from orders.demo import vocabulary as words
    from orders.demo.products import Shelf

    shelves = []
    for pos, department in enumerate(words.CATEGORY_TREE):
        top = Category.objects.create(
            name=department.name, slug=slugify(department.name), position=pos
        )
        for leaf_pos, leaf in enumerate(department.leaves):
            middle = Category.objects.create(
                name=leaf.name,
                slug=f"{top.slug}-{slugify(leaf.name)}",
                parent=top,
                position=leaf_pos,
            )
            for sub_pos, feature in enumerate(leaf.features[:SUBCATEGORIES_PER_LEAF]):
                sub = Category.objects.create(
                    name=f"{feature} {leaf.name}",
                    slug=f"{middle.slug}-{slugify(feature)}",
                    parent=middle,
                    position=sub_pos,
                )
                shelves.append(Shelf(sub.pk, department, leaf))
    return shelves


@dataclass
class Catalog:
    """What the request mix is drawn from, read once per size."""

    product_ids: list[int]
    categories: list[str]
    cursor_paths: list[str] = field(default_factory=list)


def read_catalog(size: int) -> Catalog:
    import psycopg

    with psycopg.connect(db_url(size)) as conn:
        ids = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM catalog_product TABLESAMPLE SYSTEM (%s)"
                " WHERE is_active",
                [min(100.0, 100.0 * 20_000 / size)],
            )
        ]
        categories = [
            row[0] for row in conn.execute("SELECT slug FROM catalog_category")
        ]
    random.Random(size).shuffle(ids)  # noqa: S311 - benchmark data
    return Catalog(product_ids=ids[:10_000], categories=categories)


# --- Requests --------------------------------------------------------------------


def _path(base: str, params: dict[str, str], *, uncached: bool) -> str:
    query = dict(params)
    query.pop("format", None)
    if uncached:
        query["format"] = "json"
    return f"{base}?{urlencode(query, quote_via=quote)}" if query else base


def _split(link: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(link).query))


def list_params(rng: random.Random, catalog: Catalog) -> dict[str, str]:
    """A first page in some public ordering, or a cursor page (half each)."""
    if catalog.cursor_paths and rng.random() < 0.5:
        return _split(rng.choice(catalog.cursor_paths))
    return {"ordering": rng.choice(ORDERINGS)}


def filtered_params(rng: random.Random, catalog: Catalog) -> dict[str, str]:
    """A category subtree (any level), a price range and a sort."""
    low = rng.choice((5, 10, 20, 50, 100))
    return {
        "category": rng.choice(catalog.categories),
        "min_price": str(low),
        "max_price": str(low * rng.choice((2, 4, 10))),
        "ordering": rng.choice(ORDERINGS),
    }


def search_params(rng: random.Random, catalog: Catalog) -> dict[str, str]:
    """Common and rare words (half each), ranked (the default order)."""
    words = COMMON_SEARCHES if rng.random() < 0.5 else RARE_SEARCHES
    return {"search": rng.choice(words)}


def detail_path(product_id: int, *, uncached: bool) -> str:
    return _path(f"/api/products/{product_id}/", {}, uncached=uncached)


def harvest_cursors(origin: str, catalog: Catalog) -> None:
    """Cursor pages 2..CURSOR_PAGES+1 of every ordering, followed by ``next``."""
    for ordering in ORDERINGS:
        path = _path("/api/products/", {"ordering": ordering}, uncached=True)
        for _ in range(CURSOR_PAGES):
            status, headers, body = request(origin, path)
            if status != 200:
                raise SystemExit(f"GET {path}: {status} {body[:200]!r}")
            if headers.get("X-Cache") == "HIT":
                raise SystemExit(f"{path}: answered from the cache, not uncached")
            link = json.loads(body)["next"]
            if not link:
                break
            catalog.cursor_paths.append(link)
            path = _path("/api/products/", _split(link), uncached=True)


class Mix:
    """The request paths of one size: fresh ones for the uncached arm, fixed
    warmed pools for the cached arm."""

    def __init__(self, catalog: Catalog, seed: int) -> None:
        self.catalog = catalog
        self.rng = random.Random(seed)  # noqa: S311
        pool_rng = random.Random(seed + 1)  # noqa: S311
        makers = {
            "list": list_params,
            "filtered": filtered_params,
            "search": search_params,
        }
        self.pools: dict[str, list[str]] = {
            op: sorted(
                {
                    _path("/api/products/", make(pool_rng, catalog), uncached=False)
                    for _ in range(CACHED_POOL)
                }
            )
            for op, make in makers.items()
        }
        self.pools["detail"] = [
            detail_path(pid, uncached=False)
            for pid in catalog.product_ids[:DETAIL_POOL]
        ]
        ranks = range(1, len(self.pools["detail"]) + 1)
        self.detail_weights = [1 / rank**ZIPF_S for rank in ranks]
        self.makers = makers

    def path(self, op: str, arm: str) -> str:
        rng = self.rng
        if arm == "cached":
            if op == "detail":
                return rng.choices(self.pools[op], weights=self.detail_weights)[0]
            return rng.choice(self.pools[op])
        if op == "detail":
            return detail_path(rng.choice(self.catalog.product_ids), uncached=True)
        return _path(
            "/api/products/", self.makers[op](rng, self.catalog), uncached=True
        )


def timed(origin: str, path: str) -> float:
    started = time.perf_counter()
    status, _, body = request(origin, path)
    elapsed = (time.perf_counter() - started) * 1000
    if status != 200:
        raise SystemExit(f"GET {path}: {status} {body[:200]!r}")
    return elapsed


def warm(origin: str, mix: Mix) -> None:
    """Fill the cache with every pooled URL and check the next read is a hit."""
    for paths in mix.pools.values():
        for path in paths:
            timed(origin, path)
    for paths in mix.pools.values():
        _, headers, _ = request(origin, paths[0])
        if headers.get("X-Cache") not in (None, "HIT"):
            raise SystemExit(f"{paths[0]}: X-Cache {headers.get('X-Cache')}, not HIT")


# --- Measurement -----------------------------------------------------------------

# samples[size][op][arm] = one list of milliseconds per round
Samples = dict[int, dict[str, dict[str, list[list[float]]]]]


def measure(
    origins: dict[int, str], mixes: dict[int, Mix], *, rounds: int, samples: int
) -> Samples:
    sizes = list(origins)
    out: Samples = {
        s: {op: {arm: [] for arm in ARMS} for op in OPERATIONS} for s in sizes
    }
    shuffler = random.Random(7)  # noqa: S311
    for round_no in range(rounds):
        order = sizes if round_no % 2 == 0 else list(reversed(sizes))
        for size in order:
            origin, mix = origins[size], mixes[size]
            for _ in range(10):  # the first requests after a pause pay extra
                timed(origin, mix.path("list", "cached"))
            plan = [(op, arm) for op in OPERATIONS for arm in ARMS] * samples
            shuffler.shuffle(plan)
            block = {op: {arm: [] for arm in ARMS} for op in OPERATIONS}
            for op, arm in plan:
                block[op][arm].append(timed(origin, mix.path(op, arm)))
            for op in OPERATIONS:
                for arm in ARMS:
                    out[size][op][arm].append(block[op][arm])
            summary = ", ".join(
                f"{op} {percentile(block[op]['uncached'], 50):.1f}"
                f"/{percentile(block[op]['cached'], 50):.1f}"
                for op in OPERATIONS
            )
            print(
                f"  round {round_no + 1} {label(size)}: p50 ms uncached/cached "
                f"{summary}",
                flush=True,
            )
    return out


def _flat(rounds: Sequence[Sequence[float]]) -> list[float]:
    return [value for block in rounds for value in block]


def _ratios(samples: Samples, op: str, arm: str, q: float) -> list[float]:
    low, high = min(samples), max(samples)
    return [
        percentile(h, q) / percentile(lo, q)
        for lo, h in zip(samples[low][op][arm], samples[high][op][arm], strict=True)
    ]


def report(samples: Samples, args: argparse.Namespace) -> tuple[str, bool]:
    sizes = sorted(samples)
    low, high = sizes[0], sizes[-1]
    n = len(_flat(samples[low]["list"]["uncached"]))
    lines = [
        f"Issue 9: p50/p95 at {', '.join(f'{s:,}' for s in sizes)} products; goal "
        f"p50 and p95 at {high:,} ÷ at {low:,} ≤ {GOAL:g} for each operation "
        "(uncached: the database cost).",
        "",
        f"Method: one database per size (`bazaar_scale_<size>`, demo generator by "
        f"COPY, ~190 categories in three levels, {SELLERS:,} sellers, 98 % active, "
        "VACUUM ANALYZE); gunicorn "
        f"({web_server.describe(2)}) on CPU 0 per size; one "
        "sequential client pinned to CPU 1 (new connection per request, time to "
        f"the last byte); {args.rounds} rounds, each visiting every size (order "
        f"reversed every other round) with {args.samples} requests per operation "
        f"and arm, all shuffled together: {n} samples per cell. Uncached = "
        "`?format=json`, which the response cache never serves (the view and its "
        "queries run every time). Cached = fixed pools of warmed URLs (100 % "
        f"hits). list: first pages of the 5 public orderings and cursor pages "
        f"2 to {CURSOR_PAGES + 1} (half each); filtered: a random category of any "
        "level (subtree) + price range + ordering; search: common words / prefix "
        "and rare nouns (half each), by rank; detail: uniform random active ids "
        f"uncached, Zipf (s = {ZIPF_S}) over {DETAIL_POOL} warmed ids cached. "
        f"Ratios per round, median (min, max) over rounds.",
        "",
        "| operation | arm | "
        + " | ".join(f"{label(s)} p50 / p95 / p99 ms" for s in sizes)
        + f" | p50 {label(high)}÷{label(low)} | p95 {label(high)}÷{label(low)} "
        f"| ≤ {GOAL:g} |",
        "|---|---|" + "---|" * len(sizes) + "---|---|---|",
    ]
    passed = True
    for arm in ARMS:
        for op in OPERATIONS:
            cells = []
            for size in sizes:
                values = _flat(samples[size][op][arm])
                cells.append(
                    " / ".join(f"{percentile(values, q):.2f}" for q in (50, 95, 99))
                )
            r50, r95 = _ratios(samples, op, arm, 50), _ratios(samples, op, arm, 95)
            ok = statistics.median(r50) <= GOAL and statistics.median(r95) <= GOAL
            passed &= ok or arm == "cached"
            verdict = "pass" if ok else "**FAIL**"
            lines.append(
                f"| {op} | {arm} | {' | '.join(cells)} | {spread(r50)} | "
                f"{spread(r95)} | {verdict} |"
            )
    lines += [
        "",
        f"Verdict (uncached arm): **{'pass' if passed else 'FAIL'}**.",
        "",
        f"![scale curve](plots/{PLOT.name})",
    ]
    return "\n".join(lines), passed


def plot(samples: Samples, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter, NullFormatter

    sizes = sorted(samples)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True, dpi=90)
    colors = dict(zip(OPERATIONS, ("C0", "C1", "C2", "C3"), strict=True))
    for ax, arm in zip(axes, ARMS, strict=True):
        for op in OPERATIONS:
            for q, style in ((50, "-"), (95, "--")):
                ys = [percentile(_flat(samples[s][op][arm]), q) for s in sizes]
                ax.plot(
                    sizes,
                    ys,
                    style,
                    marker="o",
                    color=colors[op],
                    label=f"{op} p{q}",
                    markersize=3,
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(sizes, [label(s) for s in sizes])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("products")
        ax.set_title(arm)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("ms (p50 solid, p95 dashed)")
    axes[1].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


# --- EXPLAIN ---------------------------------------------------------------------


def explain(size: int) -> None:
    """Child process: EXPLAIN ANALYZE what each operation's selector runs."""
    _django(size)
    from decimal import Decimal

    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from catalog import selectors
    from catalog.models import Category, Product

    pid = Product.objects.filter(is_active=True).order_by("?").values_list("id")[0][0]
    leaf = Category.objects.filter(parent__isnull=False, children__isnull=False)[0]
    first = selectors.product_list(
        filters=selectors.ProductFilters(),
        ordering="price",
        cursor=None,
        page_size=PAGE_SIZE,
    )
    cases = {
        "list page 1 (-created_at)": lambda: selectors.product_list(
            filters=selectors.ProductFilters(),
            ordering=None,
            cursor=None,
            page_size=PAGE_SIZE,
        ),
        "list cursor page 2 (price)": lambda: selectors.product_list(
            filters=selectors.ProductFilters(),
            ordering="price",
            cursor=first.next,
            page_size=PAGE_SIZE,
        ),
        f"filtered ({leaf.slug} subtree, 20-80, -popularity)": lambda: (
            selectors.product_list(
                filters=selectors.ProductFilters(
                    category=leaf.slug,
                    min_price=Decimal(20),
                    max_price=Decimal(80),
                ),
                ordering="-popularity",
                cursor=None,
                page_size=PAGE_SIZE,
            )
        ),
        # Few matches: a cheap category (books) in a dear price range.
        "filtered narrow (books-media-comics subtree, 100-1000, -popularity)": (
            lambda: selectors.product_list(
                filters=selectors.ProductFilters(
                    category="books-media-comics",
                    min_price=Decimal(100),
                    max_price=Decimal(1000),
                ),
                ordering="-popularity",
                cursor=None,
                page_size=PAGE_SIZE,
            )
        ),
        "filtered wide (electronics subtree, 50-500, -created_at)": lambda: (
            selectors.product_list(
                filters=selectors.ProductFilters(
                    category="electronics",
                    min_price=Decimal(50),
                    max_price=Decimal(500),
                ),
                ordering="-created_at",
                cursor=None,
                page_size=PAGE_SIZE,
            )
        ),
        "search common 'everyday '": lambda: selectors.product_list(
            filters=selectors.ProductFilters(search="everyday "),
            ordering=None,
            cursor=None,
            page_size=PAGE_SIZE,
        ),
        "search rare 'serum '": lambda: selectors.product_list(
            filters=selectors.ProductFilters(search="serum "),
            ordering=None,
            cursor=None,
            page_size=PAGE_SIZE,
        ),
        "search prefix 'wa'": lambda: selectors.product_list(
            filters=selectors.ProductFilters(search="wa"),
            ordering=None,
            cursor=None,
            page_size=PAGE_SIZE,
        ),
        f"detail {pid}": lambda: selectors.product_get(lookup=str(pid)),
    }
    for name, call in cases.items():
        with CaptureQueriesContext(connection) as captured:
            call()
        print(f"\n=== {name} ===")
        # Replay in one transaction so SET LOCAL planner settings apply.
        with transaction.atomic(), connection.cursor() as cursor:
            for query in captured.captured_queries:
                sql = query["sql"]
                if "catalog_product" not in sql or not sql.lstrip().startswith(
                    ("SELECT", "WITH")
                ):
                    if "set_config" in sql:
                        cursor.execute(sql)
                    continue
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                print(sql[:600] + (" …" if len(sql) > 600 else ""))
                print("\n".join(row[0] for row in cursor.fetchall()))


# --- Main ------------------------------------------------------------------------


def child(flag: str, size: int) -> None:
    subprocess.run([sys.executable, __file__, flag, str(size)], cwd=ROOT, check=True)


def ready(size: int) -> bool:
    """True when the size's database is migrated and holds ``size`` products:
    then no child process (Django start-up and ``migrate`` cost tens of
    seconds on a busy machine) is needed."""
    import psycopg

    on_disk = {
        (path.parent.parent.name, path.stem)
        for path in ROOT.glob("*/migrations/[0-9]*.py")
    }
    try:
        with psycopg.connect(db_url(size), connect_timeout=5) as conn:
            applied = set(conn.execute("SELECT app, name FROM django_migrations"))
            (products,) = conn.execute(
                "SELECT count(*) FROM catalog_product"
            ).fetchone()
            (categories,) = conn.execute(
                "SELECT count(*) FROM catalog_category"
            ).fetchone()
    except psycopg.Error:
        return False
    return on_disk <= applied and products == size and categories > 100


def main() -> None:
    parsed = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parsed.add_argument("--sizes", default="10000,100000,1000000")
    parsed.add_argument("--rounds", type=int, default=5)
    parsed.add_argument(
        "--samples", type=int, default=120, help="per operation, arm, size and round"
    )
    parsed.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    parsed.add_argument("--fill", type=int, help=argparse.SUPPRESS)
    parsed.add_argument("--explain", type=int, metavar="SIZE")
    args = parsed.parse_args()
    os.environ.update(BENCH_ENV)
    if args.fill:
        fill(args.fill)
        return
    if args.explain:
        child("--fill", args.explain)
        explain(args.explain)
        return
    sizes = sorted(int(s) for s in args.sizes.split(","))
    for size in sizes:
        if ready(size):
            print(f"  {db_name(size)}: {size:,} products present, reused", flush=True)
        else:
            child("--fill", size)
    catalogs = {size: read_catalog(size) for size in sizes}
    print(pin_self(1), flush=True)
    with contextlib.ExitStack() as stack:
        origins: dict[int, str] = {}
        for index, size in enumerate(sizes):
            origins[size] = stack.enter_context(
                gunicorn(
                    port=BASE_PORT + index,
                    DATABASE_URL=db_url(size),
                    CACHE_URL=f"redis://127.0.0.1:6379/{CACHE_REDIS_DB + index}",
                    CATALOG_TTL="3600",
                )
            )
        mixes = {}
        for size in sizes:
            _flush_cache(CACHE_REDIS_DB + sizes.index(size))
            harvest_cursors(origins[size], catalogs[size])
            mixes[size] = Mix(catalogs[size], seed=size)
            warm(origins[size], mixes[size])
        samples = measure(origins, mixes, rounds=args.rounds, samples=args.samples)
    body, passed = report(samples, args)
    # Without --write the plot goes to /tmp, leaving the committed one alone.
    path = PLOT if args.write else Path(tempfile.gettempdir()) / PLOT.name
    plot(samples, path)
    print(body)
    print(f"plot: {path} ({path.stat().st_size // 1024} KB)")
    if not passed:
        print("goal not met (uncached arm): see the table", flush=True)
    if args.write:
        command = f".venv/bin/python bench/scale.py --sizes {args.sizes} --rounds "
        command += f"{args.rounds} --samples {args.samples} --write"
        write_section("scale", body, command)


def _flush_cache(db: int) -> None:
    """Start each run with an empty response cache of our own."""
    import redis

    redis.Redis(host="127.0.0.1", port=6379, db=db).flushdb()


if __name__ == "__main__":
    main()
