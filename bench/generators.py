"""Load generators (issue: the load generator is never the limit): locust at
saturation ÷ wrk, on the same server and endpoint.

    .venv/bin/python bench/generators.py [--write] [--rounds 9] [--seconds 10]
        [--connections 16] [--users 4,16] [--products 10000]

The HTTP benchmarks drive gunicorn with wrk and `make loadtest` drives it with
locust; a figure only describes the server if its generator had room to
spare. This measures the saturated throughput of one endpoint with both.

gunicorn as in the Procfile (config/gunicorn.py; config/web_server.py: gthread,
cores + 1 processes x 4 threads) pinned to CPU 0, PostgreSQL and Redis
unpinned, serving the first page of /api/products/ from the response cache:
bench/catalog.py's data (seed_demo --products N, VACUUM ANALYZE, no cached page
left over), the page cached by a first request. Each generator gets CPU 1 to
itself (taskset), one core:

- wrk: --connections connections, 1 thread, --seconds s (bench/web.py);
- locust: headless, one process, loadtests/saturate.py: a FastHttpUser
  (geventhttpclient) with no wait time asking for the same page, given the
  same headers as wrk through its --header option (Accept: application/json,
  Accept-Encoding: gzip, deflate, br: the cached gzip representation for
  both); for each count of --users, that many users spawned in 1 s, the stats
  reset when the spawn-up completes (--reset-stats) and the run ended
  --seconds s later; req/s, p50 and p99 from its --csv stats (locust rounds
  times to whole ms), its CPU over that window from getrusage inside the
  process.

The arms alternate over --rounds rounds, order reversed every other round,
after a 2 s warm-up of each; an error answer or failure stops the run.
Figure: locust req/s ÷ wrk req/s, paired per round (goal ≥ 0.9), for each
count of users: locust at saturation is its best one. The CPU column is the
generator's CPU seconds ÷ wall seconds: the share of its core it used; near
100 % it, not the server, was the limit. Requests per CPU second is what the
generator could send with its core to itself and a server that kept up: its
headroom, less noisy than req/s on a shared machine. Server CPU per request
is the gunicorn master's and workers' CPU seconds over the same window (from
/proc; saturate.py's --server-pid for locust) ÷ the requests answered in it:
on one core the server's rate is the inverse of it, so it tells a generator
that asks too little (the core idles) from one whose traffic costs the server
more. Probing before this figure, 16 locust users cost the server 20-50 %
more CPU per request than wrk's 16 connections or than 4 locust users, while
leaving its core idle 7-10 % of the time; 4 users matched wrk.
"""

import csv
import json
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.catalog import LIST, body_bytes, load, numbers
from bench.common import (
    ROOT,
    pin_self,
    setup_django,
    spread,
    tree_cpu_seconds,
    write_section,
)
from bench.web import SERVERS, gunicorn, parser, wrk
from config import web_server

LOCUSTFILE = "loadtests/saturate.py"
# Sent by both generators (to locust through saturate.py's --header): they must
# ask for the same representation of the page, or one measures gzip bytes and
# the other the plain ones (the response cache holds both). This
# Accept-Encoding is what locust's FastHttpUser sends by default.
REQUEST_HEADERS = {"Accept": "application/json", "Accept-Encoding": "gzip, deflate, br"}
WARMUP_SECONDS = 2

Run = Callable[[int], dict[str, float]]


def locust(base: str, *, users: int, seconds: int) -> dict[str, float]:
    """Run locust (loadtests/saturate.py) pinned to CPU 1, one process, for
    ``seconds`` after its spawn-up; return requests/s, p50 and p99 (ms),
    requests, and locust's and the server's CPU seconds over that window."""
    with tempfile.TemporaryDirectory(prefix="bench-locust-") as scratch:
        prefix, window = Path(scratch, "locust"), Path(scratch, "window.json")
        cmd = [
            *("taskset", "-c", "1", sys.executable, "-m", "locust"),
            *("-f", LOCUSTFILE, "--host", base, "--headless", "--only-summary"),
            *("--loglevel", "WARNING", "--users", str(users)),
            *("--spawn-rate", str(users), "--reset-stats"),
            *("--measure-seconds", str(seconds), "--cpu-file", str(window)),
            *("--server-pid", str(SERVERS[base].pid)),
            *(
                arg
                for item in REQUEST_HEADERS.items()
                for arg in ("--header", ": ".join(item))
            ),
            # A cap only: --measure-seconds ends the run.
            *("--run-time", f"{seconds + 60}s", "--csv", str(prefix)),
        ]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        stats = Path(f"{prefix}_stats.csv")
        if not (stats.exists() and window.exists()):
            raise SystemExit(f"locust exited {done.returncode}:\n{done.stderr[-2000:]}")
        with stats.open() as rows:
            total = next(
                row for row in csv.DictReader(rows) if row["Name"] == "Aggregated"
            )
        timing = json.loads(window.read_text())
    if int(total["Failure Count"]) or done.returncode:
        raise SystemExit(
            f"locust: {total['Failure Count']} failures, exit {done.returncode}"
        )
    return {
        "rps": float(total["Requests/s"]),
        "p50_ms": float(total["50%"]),
        "p99_ms": float(total["99%"]),
        "requests": float(total["Request Count"]),
        "cpu_s": timing["cpu_s"],
        "wall_s": timing["wall_s"],
        "server_cpu_s": timing["server_cpu_s"],
    }


def wrk_arm(base: str, connections: int) -> Run:
    def run(seconds: int) -> dict[str, float]:
        server_cpu = tree_cpu_seconds(SERVERS[base].pid)
        result = wrk(
            base + LIST,
            seconds=seconds,
            connections=connections,
            headers=REQUEST_HEADERS,
        )
        if result["non_2xx"] or result["socket_errors"]:
            raise SystemExit(
                f"wrk: {result['non_2xx']:.0f} error answers, "
                f"{result['socket_errors']:.0f} socket errors"
            )
        server_cpu = tree_cpu_seconds(SERVERS[base].pid) - server_cpu
        return {**result, "wall_s": float(seconds), "server_cpu_s": server_cpu}

    return run


def locust_arm(base: str, users: int) -> Run:
    return lambda seconds: locust(base, users=users, seconds=seconds)


def measure(arms: dict[str, Run], *, rounds: int, seconds: int) -> dict[str, list]:
    """Each arm in turn, order reversed every other round, after a warm-up of
    each (bench/web.py's alternate(), for generators other than wrk)."""
    for run in arms.values():
        run(WARMUP_SECONDS)
    figures: dict[str, list[dict[str, float]]] = {name: [] for name in arms}
    for round_no in range(rounds):
        order = list(arms) if round_no % 2 == 0 else list(reversed(arms))
        for name in order:
            result = arms[name](seconds)
            figures[name].append(result)
            print(
                f"  round {round_no + 1} {name}: {result['rps']:.0f} req/s, "
                f"p99 {result['p99_ms']:.1f} ms, "
                f"CPU {result['cpu_s'] / result['wall_s']:.0%} of its core, "
                f"server {1000 * result['server_cpu_s'] / result['requests']:.2f} "
                "CPU ms per request",
                flush=True,
            )
    return figures


def table(figures: dict[str, list[dict[str, float]]], baseline: str) -> list[str]:
    """One row per generator, then each locust arm ÷ wrk paired per round."""

    def values(arm: str, key: str) -> list[float]:
        return [run[key] for run in figures[arm]]

    lines = [
        "| generator | req/s, median (min, max) | p50 ms, median | p99 ms, median "
        "| CPU of its core, median | requests per CPU second, median "
        "| server CPU ms per request, median |",
        "|---|---|---|---|---|---|---|",
    ]
    for arm, runs in figures.items():
        cpu = statistics.median(run["cpu_s"] / run["wall_s"] for run in runs)
        per_cpu = statistics.median(run["requests"] / run["cpu_s"] for run in runs)
        server = statistics.median(
            1000 * run["server_cpu_s"] / run["requests"] for run in runs
        )
        lines.append(
            f"| {arm} | {spread(values(arm, 'rps'))} | "
            f"{statistics.median(values(arm, 'p50_ms')):.2f} | "
            f"{statistics.median(values(arm, 'p99_ms')):.2f} | {cpu:.0%} | "
            f"{per_cpu:,.0f} | {server:.2f} |"
        )
    base_rps = values(baseline, "rps")
    for arm in figures:
        if arm == baseline:
            continue
        ratios = [a / b for a, b in zip(values(arm, "rps"), base_rps, strict=True)]
        lines.append(
            f"| **{arm} ÷ wrk**, per round | **{spread(ratios)}** (goal ≥ 0.9) "
            "| | | | | |"
        )
    return lines


def main() -> None:
    signal.signal(signal.SIGTERM, lambda signum, _: sys.exit(128 + signum))
    options = parser(__doc__)
    options.add_argument(
        "--users", type=numbers, default=[4, 16], help="locust users, one arm each"
    )
    options.add_argument("--products", type=int, default=10_000)
    # More rounds than the other benchmarks: on this shared machine a round's
    # ratio swings from 0.5 to 1.3, and the median needs them.
    options.set_defaults(rounds=9)
    args = options.parse_args()
    setup_django()
    pinned = pin_self(1)
    load(args.products)
    baseline = f"wrk, {args.connections} connections, 1 thread"
    with gunicorn() as base:
        body_bytes(base, LIST)  # a 200, and the page now in the cache
        arms = {baseline: wrk_arm(base, args.connections)}
        for users in args.users:
            arms[f"locust, {users} users, 1 process"] = locust_arm(base, users)
        figures = measure(arms, rounds=args.rounds, seconds=args.seconds)
    body = "\n".join(
        [
            f"{pinned}; gunicorn as the Procfile's web process (config/gunicorn.py, "
            f"{web_server.describe()}) pinned to CPU 0; "
            "PostgreSQL and Redis unpinned; each generator pinned to CPU 1, one "
            f"core. Endpoint: the cached first page of {LIST}, "
            f"{args.products:,} products. wrk: {args.connections} connections, "
            "1 thread. locust: headless, one process, loadtests/saturate.py (a "
            "FastHttpUser, no wait time). Both send Accept: application/json "
            "and Accept-Encoding: gzip, deflate, br, so both fetch the same "
            "cached gzip bytes; the users spawned in 1 s, stats reset when the "
            "spawn-up completes; req/s, p50 and p99 from its CSV stats (whole ms). "
            f"{args.seconds} s per arm per round (locust: after its spawn-up), "
            f"{args.rounds} rounds, arms alternated (order reversed every other "
            "round) after a 2 s warm-up of each. CPU: the generator's CPU "
            "seconds ÷ wall seconds over the measured window (locust: getrusage "
            "inside the process; wrk: of the child); requests per CPU second: "
            "requests ÷ those CPU seconds, what the generator could send on a "
            "core of its own to a server that kept up; server CPU per request: "
            "the gunicorn master's and workers' CPU seconds over that window "
            "(from /proc) ÷ the requests answered in it. Medians over rounds.",
            "",
            *table(figures, baseline),
        ]
    )
    print(body)
    if args.write:
        write_section("generators", body)


if __name__ == "__main__":
    main()
