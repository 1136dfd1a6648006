"""Server tuning (issue: server tuning): gunicorn sync against gunicorn gthread
(the Procfile's web process, chosen by this benchmark) and an ASGI server, on
this workload.

    .venv/bin/python bench/servers.py [--write] [--products 10000]
        [--rounds 5] [--seconds 10] [--connections 16]

Every server is started at once, each on its own port and pinned to CPU 0;
only one is loaded at a time, by wrk pinned to CPU 1 (PostgreSQL and Redis
unpinned). Arms:

- sync W: config/gunicorn.py with GUNICORN_WORKER_CLASS=sync and the classic
  2 x cores + 1 processes (the Procfile's default before this benchmark; a
  sync worker closes the connection after each answer), the baseline;
- gthread W x T: the same config with GUNICORN_WORKER_CLASS=gthread and
  GUNICORN_THREADS=T (keep-alive connections kept); cores + 1 processes of 4
  threads is the Procfile's default (config/web_server.py);
- uvicorn W: uvicorn (uvloop, httptools) running config.asgi:application with
  W worker processes. The project's views and its own middleware are sync
  only: Django's ASGIHandler gives each request a ThreadSensitiveContext (a
  new one-thread executor, so a new thread per request) and crosses between
  the event loop and that thread at every sync middleware hook, the view and
  response.close (sync_to_async / async_to_sync, about 14 hops per request
  here). config/gunicorn.py's memory sampler (post_worker_init) does not run
  there.

Endpoints: the cached first page of /api/products/ (anonymous), the same view
without its response cache (/bench/products-uncached/, what a miss runs), and
an authenticated GET /api/auth/me (a bearer token minted with
accounts.services.sessions.session_create). Per endpoint, the arms alternate
over --rounds rounds, order reversed every other round, after a 2 s warm-up
of each. Memory: after the runs, the PSS (/proc/<pid>/smaps_rollup) summed
over every process of each server (its session: master and workers).

Then the shop's own workload, open loop: bench/capacity.py's browsing journey
(Zipf over products, categories and words; a new connection per request,
latency from each request's scheduled send), with the Procfile's general
worker running for the cache's refresh-ahead. First each gunicorn arm's
capacity, climbed as bench/capacity.py climbs it (rates from 100/s up by
20 % while it keeps up: ≥ 97 % answered in time, errors < 1 %, p95 ≤ 1 s;
--step-seconds each); then the journey at 80 % and at 100 % of the sync
server's capacity against each arm, --journey-seconds per arm per round,
alternated over --rounds rounds: which server keeps its tail as the cores
fill up, the choice of the Procfile's default. The
servers share one response cache, as processes of one deployment would.
uvicorn is left out of it: it saturates below that rate (the tables above).
"""

import argparse
import os
import signal
import statistics
import sys
import tempfile
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.capacity import Journey, Step, keeps_up, ladder, run_step, warm
from bench.catalog import LIST, load
from bench.common import (
    GENERAL_WORKER,
    percentile,
    pin_self,
    setup_django,
    spread,
    start,
    stop,
    write_section,
)
from bench.latency import JSON
from bench.web import PORT, alternate, gunicorn, parser, serve
from config import web_server

EMAIL = "bench-servers@bench.bazaar.local"
# Tokens are minted once per run, which outlasts the default 15 min.
ENV = {"ACCESS_TOKEN_MINUTES": "240"}
SETTINGS = "bench.settings"
UNCACHED = "/bench/products-uncached/"
ME = "/api/auth/me"
SYNC = "sync"


def arms() -> dict[str, dict]:
    """Arm name -> how to start it. The first is the baseline: gunicorn's own
    default class with the classic 2 x cores + 1 processes (the Procfile's
    default until this benchmark chose gthread)."""
    cores = os.cpu_count() or 1
    procfile = web_server.workers()
    return {
        f"{SYNC} {2 * cores + 1}": {"kind": "gunicorn", "workers": 2 * cores + 1},
        f"gthread {procfile}x{web_server.THREADS} (Procfile)": {
            "kind": "gunicorn",
            "workers": procfile,
            "threads": web_server.THREADS,
        },
        f"gthread {2 * cores + 1}x2": {
            "kind": "gunicorn",
            "workers": 2 * cores + 1,
            "threads": 2,
        },
        f"uvicorn {procfile}": {"kind": "uvicorn", "workers": procfile},
    }


def uvicorn(
    workers: int, *, port: int, settings: str, **env: str
) -> AbstractContextManager[str]:
    """Serve config.asgi:application (``settings``) with uvicorn on CPU 0."""
    return serve(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            *("--host", "127.0.0.1", "--port", str(port)),
            *("--workers", str(workers)),
            *("--loop", "uvloop", "--http", "httptools"),
            *("--lifespan", "off", "--no-access-log", "--log-level", "warning"),
        ],
        port=port,
        settings=settings,
        timeout=60,
        **env,
    )


def listener(port: int) -> int:
    """The pid of a process holding the listening socket of ``port``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                    inodes.add(f"socket:[{fields[9]}]")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes for fd in fds):
                return int(pid)
        except OSError:
            continue
    raise RuntimeError(f"nothing listens on port {port}")


def pss(port: int) -> tuple[int, float]:
    """Processes and summed PSS (MiB) of the server on ``port``: every process
    of its session (start() gives each server a session of its own)."""
    session = os.getsid(listener(port))
    count, kib = 0, 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.getsid(int(pid)) != session:
                continue
            with open(f"/proc/{pid}/smaps_rollup") as rollup:
                for line in rollup:
                    if line.startswith("Pss:"):
                        kib += int(line.split()[1])
                        count += 1
        except OSError:
            continue
    return count, kib / 1024


def token() -> str:
    """An access token for a verified benchmark user (made if missing)."""
    from django.db import transaction
    from django.utils import timezone

    from accounts.client import Client
    from accounts.models import User
    from accounts.services.sessions import session_create

    with transaction.atomic():
        user = User.objects.filter(email=EMAIL).first()
        if user is None:
            user = User.objects.create_user(EMAIL, None, is_verified=True)
        answer = session_create(
            user=user,
            client=Client(ip="127.0.0.1", user_agent="bench/servers.py"),
            now=timezone.now(),
        )
    return answer["access"]


def ratio_spread(values: list[float], baseline: list[float]) -> str:
    return spread([a / b for a, b in zip(values, baseline, strict=True)])


def table(
    name: str, figures: dict[str, list[dict[str, float]]], baseline: str
) -> list[str]:
    def median(arm: str, key: str) -> float:
        return statistics.median(run[key] for run in figures[arm])

    rows = [
        f"**{name}**",
        "",
        "| arm | req/s, median (min, max) | req/s ÷ sync, per round | "
        "p50 ms | p99 ms | p50 ÷ sync | p99 ÷ sync |",
        "|---|---|---|---|---|---|---|",
    ]
    base_rps = [run["rps"] for run in figures[baseline]]
    for arm, runs in figures.items():
        rps = [run["rps"] for run in runs]
        rows.append(
            f"| {arm} | {spread(rps)} | "
            f"{'1' if arm == baseline else ratio_spread(rps, base_rps)} | "
            f"{median(arm, 'p50_ms'):.2f} | {median(arm, 'p99_ms'):.2f} | "
            f"{median(arm, 'p50_ms') / median(baseline, 'p50_ms'):.2f} | "
            f"{median(arm, 'p99_ms') / median(baseline, 'p99_ms'):.2f} |"
        )
    return [*rows, ""]


def journey(
    bases: dict[str, str], rate: float, args: argparse.Namespace
) -> dict[str, list[Step]]:
    """The browsing journey at ``rate`` against each server in turn."""
    steps: dict[str, list[Step]] = {arm: [] for arm in bases}
    paths = {arm: Journey(base) for arm, base in bases.items()}
    for arm, base in bases.items():
        run_step(base, paths[arm], rate, 5)  # warm-up, not counted
    for round_no in range(args.rounds):
        order = list(bases) if round_no % 2 == 0 else list(reversed(bases))
        for arm in order:
            step = run_step(bases[arm], paths[arm], rate, args.journey_seconds)
            steps[arm].append(step)
            print(
                f"  journey {rate:.0f}/s round {round_no + 1} {arm}: p95 "
                f"{step.p(95):.1f} ms, p99 {step.p(99):.1f} ms, errors "
                f"{step.error_rate:.2%}",
                flush=True,
            )
    return steps


def capacity(base: str, args: argparse.Namespace) -> tuple[float, Step]:
    """The highest rate ``base`` keeps up with, and its step there."""
    path = Journey(base)
    warm(base, path, 10)
    climb = argparse.Namespace(
        rates=[100.0], max_rate=args.max_rate, step_seconds=args.step_seconds
    )
    steps = [step for step in ladder(base, path, climb) if keeps_up(step)]
    if not steps:
        raise SystemExit(f"{base} kept up with none of the rates")
    return steps[-1].rate, steps[-1]


def journey_table(steps: dict[str, list[Step]], baseline: str) -> list[str]:
    def every(arm: str) -> list[float]:
        return [value for step in steps[arm] for value in step.latencies]

    base = every(baseline)
    base_p95 = [step.p(95) for step in steps[baseline]]
    rows = [
        "| arm | answers | p50 ms | p95 ms | p99 ms | p95 per round, median "
        "(min, max) | p95 ÷ sync, per round | p99 ÷ sync, all | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for arm in steps:
        mine = every(arm)
        p95s = [step.p(95) for step in steps[arm]]
        errors = sum(step.errors for step in steps[arm])
        sent = sum(step.sent for step in steps[arm])
        rows.append(
            f"| {arm} | {len(mine):,} | {percentile(mine, 50):.1f} | "
            f"{percentile(mine, 95):.1f} | {percentile(mine, 99):.1f} | "
            f"{spread(p95s)} | "
            f"{'1' if arm == baseline else ratio_spread(p95s, base_p95)} | "
            f"{percentile(mine, 99) / percentile(base, 99):.2f} | "
            f"{errors / max(sent, 1):.2%} |"
        )
    return rows


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so every server started is stopped."""
    raise SystemExit(128 + signum)


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    options = parser(__doc__)
    options.add_argument("--products", type=int, default=10_000)
    options.add_argument("--step-seconds", type=float, default=10)
    options.add_argument("--max-rate", type=float, default=3000)
    options.add_argument("--journey-seconds", type=float, default=20)
    args = options.parse_args()
    setup_django(ENV)
    pinned = pin_self(1)
    load(args.products)
    bearer = {**JSON, "Authorization": f"Bearer {token()}"}
    endpoints = {
        f"cached list, {LIST}": (LIST, JSON),
        f"cache off, {UNCACHED}": (UNCACHED, JSON),
        f"authenticated, GET {ME}": (ME, bearer),
    }
    plan = arms()
    baseline = next(iter(plan))
    figures = {}
    memory: dict[str, tuple[int, float]] = {}
    with ExitStack() as stack:
        bases, ports = {}, {}
        for index, (arm, spec) in enumerate(plan.items()):
            port = PORT + index
            metrics = stack.enter_context(tempfile.TemporaryDirectory())
            env = {"PROMETHEUS_MULTIPROC_DIR": metrics, **ENV}
            if spec["kind"] == "uvicorn":
                server = uvicorn(spec["workers"], port=port, settings=SETTINGS, **env)
            else:
                threads = spec.get("threads", 1)
                env["GUNICORN_WORKER_CLASS"] = "gthread" if threads > 1 else SYNC
                env["GUNICORN_THREADS"] = str(threads)
                server = gunicorn(spec["workers"], port=port, settings=SETTINGS, **env)
            bases[arm], ports[arm] = stack.enter_context(server), port
        for name, (path, headers) in endpoints.items():
            print(name, flush=True)
            figures[name] = alternate(
                "",
                {arm: bases[arm] + path for arm in plan},
                dict.fromkeys(plan, headers),
                rounds=args.rounds,
                seconds=args.seconds,
                connections=args.connections,
            )
        for arm in plan:
            memory[arm] = pss(ports[arm])
        print("browsing journey", flush=True)
        worker = start(GENERAL_WORKER)
        threaded = {
            arm: bases[arm] for arm, spec in plan.items() if spec["kind"] != "uvicorn"
        }
        try:
            capacities = {arm: capacity(base, args) for arm, base in threaded.items()}
            top = capacities[baseline][0]
            browsing = {
                rate: journey(threaded, rate, args) for rate in (0.8 * top, top)
            }
        finally:
            stop(worker)
    base_mib = memory[baseline][1]
    body = "\n".join(
        [
            f"{pinned}; every server pinned to CPU 0, all started at once on "
            f"their own ports, one loaded at a time. wrk {args.connections} "
            f"connections, {args.seconds} s per arm per round, {args.rounds} "
            "rounds per endpoint, arms alternated (order reversed every other "
            f"round) after a 2 s warm-up of each; {args.products:,} products. "
            f"**{baseline}**, the baseline: config/gunicorn.py with "
            "GUNICORN_WORKER_CLASS=sync and 2 x cores + 1 workers (the Procfile's "
            "default before this benchmark; a connection closed after each "
            "answer); gthread WxT: the same config with "
            "GUNICORN_WORKER_CLASS=gthread, W workers of T threads (keep-alive "
            "kept), the one marked (Procfile) being the web process's default "
            "now (config/web_server.py); uvicorn W: uvicorn "
            "(uvloop, httptools) with W workers on config.asgi:application: "
            "the views and the project's middleware are sync, so Django runs "
            "each request in a new executor thread of its own and hops between "
            "it and the event loop at every sync middleware hook and the view "
            "(sync_to_async). Ratios: arm ÷ sync, req/s paired per round; "
            "p50/p99 of wrk, medians over rounds.",
            "",
            *[
                line
                for name in endpoints
                for line in table(name, figures[name], baseline)
            ],
            "**Memory** after the runs: PSS summed over the server's processes "
            "(master and workers; /proc/<pid>/smaps_rollup), "
            "GUNICORN_MAX_REQUESTS=0.",
            "",
            "| arm | processes | PSS MiB | ÷ sync |",
            "|---|---|---|---|",
            *[
                f"| {arm} | {count} | {mib:.0f} | {mib / base_mib:.2f} |"
                for arm, (count, mib) in memory.items()
            ],
            "",
            "**Browsing capacity**, open loop (rates from 100/s up by 20 % while "
            f"kept up with, {args.step_seconds:.0f} s each, after a warm-up "
            "pass; kept up: ≥ 97 % answered in time, errors < 1 %, p95 ≤ 1 s):",
            "",
            "| arm | capacity req/s | ÷ sync | p95 ms at it | generator CPU at it |",
            "|---|---|---|---|---|",
            *[
                f"| {arm} | {rate:.0f} | {rate / top:.2f} | {step.p(95):.1f} | "
                f"{step.cpu:.0%} |"
                for arm, (rate, step) in capacities.items()
            ],
            *[
                line
                for rate, steps in browsing.items()
                for line in (
                    "",
                    f"**The browsing journey, open loop at {rate:.0f} requests/s** "
                    f"({args.journey_seconds:.0f} s per arm per round, "
                    f"{args.rounds} rounds, arms alternated, after 5 s of each; "
                    "the general worker running):",
                    "",
                    *journey_table(steps, baseline),
                )
            ],
        ]
    )
    print(body)
    if args.write:
        write_section("servers", body)


if __name__ == "__main__":
    main()
