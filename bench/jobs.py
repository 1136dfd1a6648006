"""Job platform benchmark (issue: background-job platform).

    .venv/bin/python bench/jobs.py [--write]

1. Throughput of N no-op jobs, each enqueued in its own transaction, through
   ``jobs.enqueue`` vs raw Celery ``apply_async``: same broker, same worker
   (2 prefork slots), timed from first enqueue to last completion by the same
   Redis counter; arms alternated over rounds.
2. CRITICAL pickup latency (enqueue called -> handler started) over >= 500
   samples while every general slot runs a long job and 10,000 LOW/BATCH jobs
   wait in the broker.
3. Added latency of one ``jobs.enqueue`` inside a view: the same view with and
   without it, through Django's full middleware stack, arms alternated.

The load generator (this process) is pinned to CPU 1, workers to CPU 0.
"""

import argparse
import os
import signal
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    CELERY_WORKER,
    percentile,
    pin_self,
    setup_django,
    spread,
    start,
    stop,
    wait_until,
    write_section,
)

WORKER = [
    *CELERY_WORKER,
    *("--pool", os.environ.get("WORKER_POOL", "prefork")),
]
ALL_QUEUES = ("-Q", "critical,high,medium,low,batch")
RELAY = [sys.executable, "manage.py", "run_relay"]
# Worker slots: these jobs wait on the database, SMTP and Redis more than they
# compute, so 4 slots on 2 cores measure the platform, not one slot's pace.
# (The Procfile's default is 1, for a backlog sharing the cores with the web:
# bench/drain.py.)
SLOTS = os.environ.get("WORKER_CONCURRENCY", "4")


def reset_state() -> None:
    from django.conf import settings
    from django.db import connection
    from redis import Redis

    from bench.handlers import redis

    with connection.cursor() as cursor:
        # CASCADE: schedule state (and any other bookkeeping) points at job rows.
        cursor.execute("TRUNCATE jobs_emaillog, jobs_jobrecord CASCADE")
    Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    redis().flushdb()


def throughput(n: int, rounds: int) -> dict:
    from django.db import transaction

    import jobs
    from bench.handlers import COUNTER, raw_noop, redis

    def arm_jobs() -> None:
        for _ in range(n):
            with transaction.atomic():
                jobs.enqueue("bench.noop", {})

    def arm_raw() -> None:
        for _ in range(n):
            raw_noop.apply_async(queue="low")

    arms = {"jobs.enqueue": arm_jobs, "raw apply_async": arm_raw}
    rates: dict[str, list[float]] = {name: [] for name in arms}
    ratios = []
    reset_state()
    worker = start([*WORKER, *ALL_QUEUES, "-c", SLOTS, "-n", "bench@%h"], cpus="0")
    relay = start(RELAY)
    try:
        time.sleep(3)  # worker boot
        for round_no in range(rounds):
            order = list(arms) if round_no % 2 == 0 else list(reversed(arms))
            for name in order:
                reset_state()
                started = time.perf_counter()
                arms[name]()
                produced = time.perf_counter() - started
                wait_until(lambda: int(redis().get(COUNTER) or 0) >= n, timeout=600)
                elapsed = time.perf_counter() - started
                rates[name].append(n / elapsed)
                rate = n / elapsed
                print(
                    f"  round {round_no + 1} {name}: {rate:.0f} jobs/s "
                    f"(enqueueing took {produced:.1f} s of {elapsed:.1f} s)",
                    flush=True,
                )
            ratios.append(rates["jobs.enqueue"][-1] / rates["raw apply_async"][-1])
    finally:
        stop(worker)
        stop(relay)
    return {"rates": rates, "ratios": ratios}


def critical_latency(samples: int, backlog: int) -> dict:
    from django.db import transaction

    import jobs
    from bench.handlers import STARTS, redis
    from jobs import broker
    from jobs.enums import JobStatus, Priority
    from jobs.models import JobRecord

    reset_state()
    general = start([*WORKER, *ALL_QUEUES, "-c", SLOTS, "-n", "general@%h"], cpus="0")
    critical = start(
        [*WORKER, "-Q", "critical", "-c", "1", "-n", "critical@%h"], cpus="0"
    )
    relay = start(RELAY, cpus="0")
    try:
        time.sleep(3)
        # every general slot busy with a long job (and one more prefetched each)
        slots = int(SLOTS)
        with transaction.atomic():
            for _ in range(slots * 2):
                jobs.enqueue("bench.sleep", {"seconds": 600}, priority=Priority.LOW)
        sleeping = JobRecord.objects.filter(
            type="bench.sleep", status=JobStatus.RUNNING
        )
        wait_until(lambda: sleeping.count() >= slots, timeout=30)
        # the backlog: half LOW, half BATCH (forced past the off-peak window)
        for chunk in range(0, backlog, 500):
            with transaction.atomic():
                for i in range(chunk, min(chunk + 500, backlog)):
                    priority = Priority.LOW if i % 2 else Priority.BATCH
                    jobs.enqueue("bench.filler", {}, priority=priority, forced=True)

        def backlog_size() -> int:
            return (broker.queue_size("low") or 0) + (broker.queue_size("batch") or 0)

        wait_until(lambda: backlog_size() >= backlog, timeout=120)
        waiting = backlog_size()
        busy = sleeping.count()
        for _ in range(samples):
            t0 = time.time()
            with transaction.atomic():
                jobs.enqueue("bench.stamp", {"t0": t0}, priority=Priority.CRITICAL)
            time.sleep(0.01)
        wait_until(lambda: redis().hlen(STARTS) >= samples, timeout=120)
        latencies = []
        for value in redis().hvals(STARTS):
            t0, t1 = (float(part) for part in value.decode().split(":"))
            latencies.append((t1 - t0) * 1000)
        still_waiting = backlog_size()
    finally:
        for proc in (general, critical, relay):
            stop(proc, signal.SIGKILL)
    return {
        "latencies_ms": latencies,
        "backlog_waiting": waiting,
        "backlog_after": still_waiting,
        "busy_general_slots": busy,
    }


def enqueue_latency(requests: int, rounds: int) -> dict:
    from django.conf import settings
    from django.test import Client, override_settings

    reset_state()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    arms = {"with enqueue": "/bench/with-enqueue", "without": "/bench/without-enqueue"}
    timings: dict[str, list[float]] = {name: [] for name in arms}
    medians: dict[str, list[float]] = {name: [] for name in arms}
    with override_settings(ROOT_URLCONF="bench.urls"):
        client = Client()
        for url in arms.values():
            for _ in range(50):  # warm-up: connections, pools, imports
                client.get(url)
        for round_no in range(rounds):
            order = list(arms) if round_no % 2 == 0 else list(reversed(arms))
            for name in order:
                round_times = []
                for _ in range(requests):
                    started = time.perf_counter()
                    response = client.get(arms[name])
                    round_times.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200
                timings[name].extend(round_times)
                medians[name].append(statistics.median(round_times))
    pairs = zip(medians["with enqueue"], medians["without"], strict=True)
    added = [with_ - without for with_, without in pairs]
    return {"timings": timings, "medians": medians, "added": added}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--samples", type=int, default=600)
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()

    setup_django()
    pinned = pin_self(1)
    print(pinned, flush=True)

    print("1. throughput", flush=True)
    tp = throughput(args.jobs, args.rounds)
    print("2. critical pickup latency", flush=True)
    cl = critical_latency(args.samples, args.backlog)
    print("3. enqueue latency inside a view", flush=True)
    el = enqueue_latency(args.requests, args.rounds)
    reset_state()

    lat = cl["latencies_ms"]
    lines = [
        f"{pinned}; workers pinned to CPU 0; the relay (which publishes for the "
        "jobs arm as the producer itself does for the raw arm), PostgreSQL and Redis "
        "unpinned.",
        "",
        f"**1. Throughput**, {args.jobs:,} no-op jobs per arm, each enqueued in its "
        f"own transaction, {args.rounds} rounds, arms alternated, timed first enqueue "
        f"→ last completion by one Redis counter, one worker with {SLOTS} prefork "
        "slots, the relay running for both arms:",
        "",
        "| arm | jobs/s, median (min, max) |",
        "|---|---|",
        *[f"| {name} | {spread(values)} |" for name, values in tp["rates"].items()],
        f"| **ratio jobs.enqueue ÷ raw** | **{spread(tp['ratios'])}** (goal ≥ 0.5) |",
        "",
        f"**2. CRITICAL pickup latency** (enqueue called → handler started), "
        f"{len(lat)} samples paced 10 ms apart, while {cl['busy_general_slots']} "
        f"general slots ran long jobs and {cl['backlog_waiting']:,} LOW/BATCH jobs "
        f"waited in the broker ({cl['backlog_after']:,} still waiting at the end): "
        f"p50 **{percentile(lat, 50):.1f} ms**, p95 {percentile(lat, 95):.1f} ms, "
        f"p99 **{percentile(lat, 99):.1f} ms**, max {max(lat):.1f} ms "
        "(goal p99 < 1 s).",
        "",
        f"**3. Added request latency of one enqueue inside a view**, "
        f"{args.requests} requests per arm per round, {args.rounds} rounds, arms "
        "alternated, Django test client through the full middleware stack (the "
        "INSERT and its commit included; the request never talks to the broker):",
        "",
        "| arm | p50 per round, median (min, max) ms | p99 over all ms |",
        "|---|---|---|",
        *[
            f"| {name} | {spread(el['medians'][name])} | "
            f"{percentile(el['timings'][name], 99):.2f} |"
            for name in el["medians"]
        ],
        f"| **added by enqueue (p50 difference)** | **{spread(el['added'])}** "
        "(goal < 2 ms) | |",
    ]
    body = "\n".join(lines)
    print(body)
    if args.write:
        write_section("jobs", body)


if __name__ == "__main__":
    main()
