"""CRITICAL job start latency while a load profile runs.

    python -m loadtests.probe OUT_DIR   (started and stopped by loadtests/run.py)

Every ``LOADTEST_PROBE_SECONDS`` (0.1) it enqueues one CRITICAL ``bench.stamp``
job through the outbox in its own transaction, as a request would, so the
relay publishes it and the critical worker runs it under whatever load locust
is applying. On SIGTERM it stops enqueueing, waits up to 60 s for its jobs to
have started, and writes ``critical.txt`` in OUT_DIR: how many, and p50 / p95
/ p99 / max of enqueue (the row's ``created_at``) → claim (``started_at``, set
by the worker's claim), both on this machine's clock.
"""

import os
import signal
import sys
import time
from pathlib import Path

import django

EVERY = float(os.environ.get("LOADTEST_PROBE_SECONDS", "0.1"))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def main(out: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    django.setup()
    from django.db import transaction

    import jobs
    from jobs.enums import Priority
    from jobs.models import JobRecord

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sent: list[str] = []
    next_at = time.monotonic()
    while not stopping:
        with transaction.atomic():
            job = jobs.enqueue(
                "bench.stamp", {"t0": time.time()}, priority=Priority.CRITICAL
            )
        sent.append(str(job.pk))
        next_at += EVERY
        time.sleep(max(0.0, next_at - time.monotonic()))

    rows = JobRecord.objects.filter(pk__in=sent)
    deadline = time.monotonic() + 60
    while rows.filter(started_at__isnull=True).exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    waits = [
        (started - created).total_seconds() * 1000
        for created, started in rows.filter(started_at__isnull=False).values_list(
            "created_at", "started_at"
        )
    ]
    if not waits:
        (out / "critical.txt").write_text(f"sent {len(sent)}, none started\n")
        return
    line = (
        f"CRITICAL start (enqueue -> claim) over {len(waits)} of {len(sent)} jobs: "
        f"p50 {_percentile(waits, 50):.1f} ms, p95 {_percentile(waits, 95):.1f} ms, "
        f"p99 {_percentile(waits, 99):.1f} ms, max {max(waits):.1f} ms"
    )
    (out / "critical.txt").write_text(line + "\n")
    print(line, flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
