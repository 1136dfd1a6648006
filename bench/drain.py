"""API latency while the workers drain a backlog (issue: load tests and the report).

    .venv/bin/python bench/drain.py [--write] [--jobs 20000] [--rate 100]
        [--rounds 5] [--seconds 10] [--products 10000]

gunicorn as in the Procfile (config/gunicorn.py; config/web_server.py: gthread,
cores + 1 processes x 4 threads) pinned to CPU 0; the Procfile's general worker
(prefork, niceness WORKER_NICE, default 10) unpinned, so the web and the jobs
share the same two cores, measured in two set-ups one after the other, each
with a fresh backlog (DRAIN_SETUPS, "policy/slots,...", default
"idle/1,other/1"): the Procfile's default, 1 slot under Linux's SCHED_IDLE
policy (chrt --idle 0: the worker runs only on a core nothing else wants), and
1 slot under the normal policy (SCHED_OTHER, the niceness alone), the default
before; the load generator (this process,
bench/capacity.py's open-loop browsing journey at a constant --rate) pinned to
CPU 1. PostgreSQL, Redis and the relay unpinned.

The backlog: --jobs (20,000, so that the most slots measured still have work
left in the last round) confirmation-style emails (``email.send``, LOW, rendered
from templates/emails and logged in EmailLog like any other; the email
backend is dummymail:// so no SMTP server paces them) enqueued through the
outbox and published by the relay before the first round.

After 30 s of the worker draining under the load (its first jobs open
connections and load templates, and the cache entries of the warm-up pass
pass a whole CATALOG_TTL; not counted), arms alternated over --rounds
rounds of --seconds each: *idle*, the worker running but not consuming the
backlog's queue (``low``; Celery's remote control ``cancel_consumer``: the
jobs it had already taken finish, the rest wait), so it still serves its
other queues, the cache's refresh-ahead rebuilds among them; and *draining*,
the same worker consuming it again (``add_consumer``). Stopping the worker
instead (SIGSTOP) would also stop those rebuilds, and the idle arm would no
longer be the shop with nothing to drain. API p99 draining ÷ p99 idle, paired
per round; the jobs finished in each draining window give the workers' drain
rate under that load (its minimum is stated, so the ratio cannot be won by
starving the workers).

Meanwhile a CRITICAL job (``bench.stamp``) is enqueued every 0.1 s through
the outbox, as any request would (from a process of its own, on CPU 1), and
picked up by the Procfile's critical worker (one slot, not niced): its start
latency (enqueue called → handler started) is reported per arm.
"""

import multiprocessing
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.capacity import Journey, Step, run_step
from bench.catalog import load as load_products
from bench.common import (
    CELERY_WORKER,
    general_worker,
    percentile,
    pin_self,
    setup_django,
    spread,
    start,
    stop,
    wait_until,
    write_section,
)
from bench.web import gunicorn, parser
from config import web_server

# Worker set-ups measured one after the other, each with a fresh backlog:
# (policy, slots). Tried before: at nice 10 alone, 1 slot gave a paired p99
# ratio of 1.7 (one round 10x), 2 slots 1.8, 4 slots 2.8; 4 under SCHED_IDLE
# 1.8, as four processes keep PostgreSQL (not idle) busy for them.
SETUPS = [
    tuple(item.split("/", 1))
    for item in (os.environ.get("DRAIN_SETUPS") or "idle/1,other/1").split(",")
]
NICE = os.environ.get("WORKER_NICE") or "10"
POOL = os.environ.get("WORKER_POOL") or "prefork"
WORKER_NAME = f"drain@{socket.gethostname()}"
SETUP_NAMES = {"idle": "SCHED_IDLE", "other": f"SCHED_OTHER at nice {NICE}"}


def worker(sched: str, slots: str) -> list[str]:
    """The Procfile's general worker under ``sched`` with ``slots`` slots (the
    last -c wins), named for the remote control."""
    return [
        *general_worker(sched),
        *("-n", WORKER_NAME, "--pool", POOL, "-c", slots),
    ]


BACKLOG_QUEUE = "low"  # the backlog's class, Priority.LOW
CRITICAL_WORKER = [
    *CELERY_WORKER,
    "-Q",
    "critical",
    "-c",
    "1",
    "-n",
    "drain-critical@%h",
]
RELAY = [sys.executable, "manage.py", "run_relay"]
# The worker draining under the load before the rounds: its first jobs, and
# one whole CATALOG_TTL, so every cache entry the warm-up pass built has been
# rebuilt since, in the steady state refresh-ahead keeps.
WARMUP_SECONDS = 30
PROBE_EVERY = 0.1  # seconds between CRITICAL probe jobs
ENV = {"EMAIL_URL": "dummymail://"}
RECIPIENT = "drain-{}@bench.bazaar.local"


def backlog_reset() -> None:
    from django.conf import settings
    from django.db import connection
    from redis import Redis

    with connection.cursor() as cursor:
        # CASCADE: schedule state (and any other bookkeeping) points at job rows.
        cursor.execute("TRUNCATE jobs_emaillog, jobs_jobrecord CASCADE")
    Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


def backlog_enqueue(count: int) -> None:
    from django.db import transaction

    import jobs
    from jobs.enums import Priority
    from jobs.mail import email_payload

    context = {
        "order_number": "BZ-2026-000001",
        "items": [{"name": "Bench mug", "quantity": 1, "line_total": "9.99"}],
        "subtotal": "9.99",
        "shipping": "5.00",
        "total": "14.99",
        "currency": "USD",
    }
    for chunk in range(0, count, 500):
        with transaction.atomic():
            for i in range(chunk, min(chunk + 500, count)):
                jobs.enqueue(
                    "email.send",
                    email_payload(
                        to=RECIPIENT.format(i),
                        template="order_confirmation",
                        context=context,
                        secret=None,
                    ),
                    priority=Priority.LOW,
                )


def done() -> int:
    from jobs.enums import JobStatus
    from jobs.models import JobRecord

    return JobRecord.objects.filter(
        type="email.send", status=JobStatus.SUCCEEDED
    ).count()


SENT = "bench:drain:sent"  # Redis hash: probe job id -> arm
PROBE_ARMS = ("", "idle", "draining")


class CriticalProbe:
    """Enqueues a CRITICAL stamp job every PROBE_EVERY seconds, labelled with
    the arm running at the time, from a process of its own: a thread of this
    one would share its interpreter lock with the load generator, and a busy
    generator would hold up the enqueue after its clock had started. Spawned,
    not forked: a fork would share this process's pooled connections."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._arm = context.Value("i", 0)
        self.stop = context.Event()
        self.ready = context.Event()
        self.process = context.Process(
            target=_probe_run, args=(self._arm, self.stop, self.ready), daemon=True
        )

    @property
    def arm(self) -> str:
        return PROBE_ARMS[self._arm.value]

    @arm.setter
    def arm(self, name: str) -> None:
        self._arm.value = PROBE_ARMS.index(name)

    def start(self) -> None:
        from bench.handlers import redis

        redis().delete(SENT)
        self.process.start()
        if not self.ready.wait(timeout=60):
            raise TimeoutError("the CRITICAL probe process did not start")

    def halt(self) -> None:
        self.stop.set()
        if self.process.pid is not None:
            self.process.join(timeout=10)

    def latencies(self, timeout: float = 60) -> dict[str, list[float]]:
        """Start latency in ms per arm, once every probe has started."""
        from bench.handlers import STARTS, redis

        sent = {
            key.decode(): value.decode() for key, value in redis().hgetall(SENT).items()
        }
        wait_until(lambda: redis().hlen(STARTS) >= len(sent), timeout=timeout)
        found: dict[str, list[float]] = {}
        stamps: list[tuple[float, float, str]] = []
        for key, value in redis().hgetall(STARTS).items():
            arm = sent.get(key.decode())
            if arm:
                t0, t1 = (float(part) for part in value.decode().split(":"))
                found.setdefault(arm, []).append((t1 - t0) * 1000)
                stamps.append(((t1 - t0) * 1000, t0, arm))
        first = min((t0 for _, t0, _ in stamps), default=0.0)
        slowest = sorted(stamps, reverse=True)[:10]
        print(
            "  slowest CRITICAL starts (ms, s into the probe, arm): "
            + ", ".join(
                f"{ms:.0f} at {t0 - first:.1f} {arm}" for ms, t0, arm in slowest
            ),
            flush=True,
        )
        return found


def _probe_run(arm: Any, stop: Any, ready: Any) -> None:
    """The probe process: its own Django, its own connections."""
    setup_django(ENV)
    from django.db import connection, transaction

    import jobs
    from bench.handlers import redis
    from jobs.enums import Priority

    ready.set()
    try:
        while not stop.wait(PROBE_EVERY):
            name = PROBE_ARMS[arm.value]
            if not name:
                continue
            with transaction.atomic():
                job = jobs.enqueue(
                    "bench.stamp", {"t0": time.time()}, priority=Priority.CRITICAL
                )
            redis().hset(SENT, str(job.pk), name)
    finally:
        connection.close()


def backlog_consumed(on: bool) -> None:
    """Have the general worker start or stop consuming the backlog's queue
    (Celery's remote control), everything else unchanged: its other queues
    (the cache's refresh-ahead rebuilds among them) keep being served."""
    from config.celery import app

    control = app.control.add_consumer if on else app.control.cancel_consumer
    replies = control(BACKLOG_QUEUE, destination=[WORKER_NAME], reply=True, timeout=10)
    if not replies:
        raise RuntimeError(f"{WORKER_NAME} did not answer the remote control")


def measure(base: str, args: Any, sched: str, slots: str) -> dict[str, Any]:
    journey = Journey(base)
    run_step(base, journey, args.rate, 10)  # warm the cache
    backlog_reset()
    backlog_enqueue(args.jobs)
    from bench.handlers import STARTS, redis

    redis().delete(STARTS)
    relay = start(RELAY, **ENV)
    general = start(worker(sched, slots), **ENV)
    critical = start(CRITICAL_WORKER, **ENV)
    probe = CriticalProbe()
    arms: dict[str, list[Step]] = {"idle": [], "draining": []}
    drained: list[float] = []
    try:
        wait_until(lambda: done() > 0, timeout=60)
        # Not measured: the pool's first jobs (connections, templates, imports)
        # under load, as every other benchmark warms its arms up.
        run_step(base, journey, args.rate, WARMUP_SECONDS)
        probe.start()
        probe_began = time.time()
        for round_no in range(args.rounds):
            order = ["idle", "draining"] if round_no % 2 == 0 else ["draining", "idle"]
            for arm in order:
                probe.arm = arm
                backlog_consumed(arm == "draining")
                before, started = done(), time.perf_counter()
                started_at = time.time()
                step = run_step(base, journey, args.rate, args.seconds)
                elapsed = time.perf_counter() - started
                finished = done() - before
                arms[arm].append(step)
                if arm == "draining":
                    drained.append(finished / elapsed)
                print(
                    f"  round {round_no + 1} {arm} (from "
                    f"{started_at - probe_began:.1f} s): "
                    f"{len(step.latencies):,} answers, "
                    f"p50 {step.p(50):.1f} ms, p99 {step.p(99):.1f} ms, errors "
                    f"{step.error_rate:.2%}; jobs finished {finished:,} "
                    f"({finished / elapsed:.0f}/s)",
                    flush=True,
                )
        probe.arm = ""
        probe.halt()
        remaining = args.jobs - done()
        if remaining <= 0:
            # Some draining round ended with nothing left to drain: not the
            # figure asked for.
            raise SystemExit(
                f"the backlog ran dry with {sched}/{slots} before the last "
                "draining round: rerun with a larger --jobs"
            )
        critical_ms = probe.latencies()
    finally:
        probe.halt()
        for proc in (general, critical, relay):
            stop(proc)
        backlog_reset()
    return {
        "arms": arms,
        "drained": drained,
        "remaining": remaining,
        "critical": critical_ms,
    }


def table(result: dict[str, Any], args: Any) -> list[str]:
    arms = result["arms"]
    ratios = [
        drain.p(99) / idle.p(99)
        for idle, drain in zip(arms["idle"], arms["draining"], strict=True)
    ]
    pooled = {
        arm: percentile([value for step in steps for value in step.latencies], 99)
        for arm, steps in arms.items()
    }
    rows = []
    for arm, steps in arms.items():
        every = [value for step in steps for value in step.latencies]
        errors = sum(step.errors for step in steps)
        sent = sum(step.sent for step in steps)
        rows.append(
            f"| {arm} | {len(every):,} | {percentile(every, 50):.1f} | "
            f"{percentile(every, 99):.1f} | {spread([s.p(99) for s in steps])} | "
            f"{errors / max(sent, 1):.2%} |"
        )
    return [
        "| arm | answers | p50 ms | p99 ms, all | p99 ms per round, median (min, "
        "max) | errors |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "| figure | value |",
        "|---|---|",
        f"| **p99 draining ÷ p99 idle**, each over all its rounds' answers | "
        f"**{pooled['draining'] / pooled['idle']:.2f}** ({pooled['draining']:.1f} "
        f"÷ {pooled['idle']:.1f} ms; goal ≤ 1.5) |",
        f"| p99 draining ÷ p99 idle, paired per round, median (min, max) | "
        f"{spread(ratios)} |",
        f"| **workers' drain rate** under this load, jobs/s per draining window, "
        f"median (min, max) | **{spread(result['drained'])}**; minimum "
        f"{min(result['drained']):.0f} jobs/s |",
        f"| jobs still waiting at the end | {result['remaining']:,} of {args.jobs:,} |",
        *(
            f"| **CRITICAL job start** (enqueue → handler), {arm}: p50 / p99 ms "
            f"over {len(values):,} | {percentile(values, 50):.0f} / "
            f"**{percentile(values, 99):.0f}** (goal p99 < 1000) |"
            for arm, values in sorted(result["critical"].items())
        ),
    ]


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--jobs", type=int, default=20_000)
    options.add_argument("--rate", type=float, default=100, help="requests/s offered")
    options.add_argument("--products", type=int, default=10_000)
    args = options.parse_args()
    began = time.monotonic()
    setup_django(ENV)
    pinned = pin_self(1)
    print(pinned, flush=True)
    load_products(args.products)
    with gunicorn(**ENV) as base:
        results = {
            (sched, slots): measure(base, args, sched, slots) for sched, slots in SETUPS
        }
    minutes = (time.monotonic() - began) / 60
    tables = []
    for (sched, slots), result in results.items():
        default = (sched, slots) == ("idle", "1")
        tables += [
            "",
            f"**{SETUP_NAMES.get(sched, sched)}, {slots} slot"
            f"{'s' if slots != '1' else ''}** (`chrt --{sched} 0`, `-c {slots}`"
            f"{'; the Procfile default' if default else ''}):",
            "",
            *table(result, args),
        ]
    body = "\n".join(
        [
            f"{pinned}; gunicorn as the Procfile's web process "
            f"({web_server.describe()}) pinned to CPU 0; the Procfile's general "
            "Celery worker "
            f"({POOL}, nice {NICE}; each set-up below with a fresh backlog) "
            "unpinned; "
            "PostgreSQL, Redis and "
            f"the relay unpinned; {args.products:,} products. Load: the browsing "
            f"journey of bench/capacity.py, open loop at {args.rate:.0f} "
            f"requests/s; backlog: {args.jobs:,} `email.send` jobs (LOW, "
            "dummymail backend). Arms alternated over "
            f"{args.rounds} rounds of {args.seconds} s, after {WARMUP_SECONDS} s "
            "of the worker draining under the load (not counted): idle = the "
            "worker running but not consuming the backlog's queue (Celery's "
            "cancel_consumer; its other queues, the cache's refresh-ahead "
            "rebuilds among them, still served), draining = consuming it "
            "(add_consumer). Run time "
            f"{minutes:.1f} min.",
            *tables,
        ]
    )
    print(body)
    if args.write:
        write_section("drain", body)


if __name__ == "__main__":
    main()
