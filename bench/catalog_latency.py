"""Catalog figures 3 (search) and 4 (deep pages): latency seen by one
sequential client, with the catalog response cache off (bench/catalog.py)."""

from argparse import Namespace
from dataclasses import dataclass
from urllib.parse import quote

from bench.common import percentile, spread
from bench.latency import flat, get_json, interleaved, p50s

# The project's list view without the response cache (bench/urls.py).
UNCACHED = "/bench/products-uncached/"
ORDERINGS = ("price", "-price", "-created_at", "name", "-popularity")
# By selectivity, from seed_demo's vocabulary (orders/demo/vocabulary.py): a
# product noun of one leaf category (about 0.4 % of products), a word of the
# descriptions (about 22 %), and the two letters a user has typed so far. A
# trailing space marks a complete word; without one the last word is a prefix.
QUERIES = {"rare word": "serum ", "common word": "everyday ", "prefix": "wa"}
ALL = "all three"
SEARCH_GOAL_SIZE = 100_000


@dataclass(frozen=True)
class Sampled:
    """Timings (ms) of one query at one size, one list per round."""

    matches: int | None
    rounds: list[list[float]]

    def p50(self) -> float:
        return percentile(flat(self.rounds), 50)

    def p99(self) -> float:
        return percentile(flat(self.rounds), 99)


def search_sample(base: str, args: Namespace, size: int) -> dict[str, Sampled]:
    """Figure 3 at the size loaded now: matches and timings per query, and all
    three together (under ``ALL``)."""
    from catalog.models import Product
    from catalog.selectors import search_query

    paths = {name: f"{UNCACHED}?search={quote(text)}" for name, text in QUERIES.items()}
    timings = interleaved(base, paths, samples=args.samples, rounds=args.rounds)
    out = {
        name: Sampled(
            Product.objects.filter(
                is_active=True, search_vector=search_query(text)
            ).count(),
            timings[name],
        )
        for name, text in QUERIES.items()
    }
    together = [flat(blocks) for blocks in zip(*timings.values(), strict=True)]
    out[ALL] = Sampled(None, together)
    summary = ", ".join(f"{name} {out[name].p50():.1f} ms" for name in out)
    print(f"  search p50 at {size:,}: {summary}", flush=True)
    return out


def figure_3(results: dict[int, dict[str, Sampled]], args: Namespace) -> list[str]:
    sizes = sorted(results)
    queries = ", ".join(f"{name} `{text!r}`" for name, text in QUERIES.items())
    lines = [
        f"**3. Search**, {UNCACHED}?search=… (cache off, first page by rank), "
        f"{queries}; {args.samples} sequential requests per query and size over "
        f"{args.rounds} rounds (one client, loopback HTTP, the queries taking "
        "turns); each size loaded by seed_demo, then VACUUM ANALYZE; sizes "
        "measured one after another:",
        "",
        "| products | query | matches | p50 ms | p99 ms | p50 ms per round, "
        "median (min, max) |",
        "|---|---|---|---|---|---|",
    ]
    for size in sizes:
        for name, sampled in results[size].items():
            matches = "" if sampled.matches is None else f"{sampled.matches:,}"
            p50 = f"{sampled.p50():.2f}"
            if name == ALL:
                name, p50 = f"**{name}**", f"**{p50}**"
                if size == SEARCH_GOAL_SIZE:
                    p50 += " (goal < 30)"
            lines.append(
                f"| {size:,} | {name} | {matches} | {p50} | {sampled.p99():.2f} | "
                f"{spread(p50s(sampled.rounds))} |"
            )
    if len(sizes) > 1:
        low, high = results[sizes[0]], results[sizes[-1]]
        lines += [
            "",
            f"| query | p50 at {sizes[-1]:,} ÷ p50 at {sizes[0]:,} |",
            "|---|---|",
            *[
                f"| {name} | {high[name].p50() / low[name].p50():.2f} |"
                for name in QUERIES
            ],
            f"| **{ALL}** | **{high[ALL].p50() / low[ALL].p50():.2f}** (goal ≤ 3) |",
        ]
    return lines


def figure_4(base: str, args: Namespace) -> list[str]:
    """Page ``--deep-page`` ÷ page 1 latency for every ordering, at the size
    loaded now."""
    deep = args.deep_page
    lines = [
        f"**4. Deep pages**, {args.deep_products:,} products, {UNCACHED} (cache "
        f"off), 20 a page: page {deep} reached once by following `next` links, "
        f"then page 1 and page {deep} timed in turn, {args.samples} sequential "
        f"requests each per ordering over {args.rounds} rounds:",
        "",
        f"| ordering | page 1 p50 ms | page {deep} p50 ms | page {deep} ÷ page 1 "
        "(p50 per round), median (min, max) |",
        "|---|---|---|---|",
    ]
    for ordering in ORDERINGS:
        first = f"{UNCACHED}?ordering={quote(ordering)}"
        path = first
        for _ in range(deep - 1):
            path = get_json(base, path)["next"]
        if len(get_json(base, path)["results"]) != 20:
            raise SystemExit(f"{ordering}: page {deep} is not full")
        timings = interleaved(
            base,
            {"first": first, "deep": path},
            samples=args.samples,
            rounds=args.rounds,
        )
        ratios = [
            d / f
            for d, f in zip(p50s(timings["deep"]), p50s(timings["first"]), strict=True)
        ]
        first_p50 = percentile(flat(timings["first"]), 50)
        deep_p50 = percentile(flat(timings["deep"]), 50)
        print(f"  {ordering}: page 1 {first_p50:.2f} ms, page {deep} {deep_p50:.2f} ms")
        lines.append(
            f"| {ordering} | {first_p50:.2f} | {deep_p50:.2f} | "
            f"**{spread(ratios)}** (goal ≤ 1.5) |"
        )
    return lines
