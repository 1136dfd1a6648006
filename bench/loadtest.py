"""The locust profiles behind two of the issue's goals, written to RESULTS.md.

    .venv/bin/python bench/loadtest.py [--write] [--profiles stress,endurance]

Each profile runs as ``make loadtest PROFILE=<name>`` runs it
(loadtests/run.py: its own database and Redis databases, the stack started
unpinned, locust pinned to CPU 1, gunicorn's max_requests off, a CRITICAL
probe job every 0.1 s), one after the other, and this reads their reports:

- *stress* (ramp until errors or p95 > 1 s): the knee, and the CRITICAL
  jobs' start latency (enqueue → claim by the critical worker) over the
  whole ramp (goal p99 < 1 s);
- *endurance* (15 users, 10 minutes): each web worker's RSS (goal < 150 MB)
  and its growth from the end of the first minute to the end of the run
  (goal < 10 %), with its PSS.

The reports themselves (HTML, CSV) stay in var/loadtest/.
"""

import argparse
import csv
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import write_section
from loadtests import run

MB = 1_000_000
RSS_GOAL_MB = 150
GROWTH_GOAL = 0.10


def _aggregated(out: Path) -> dict[str, str]:
    with (out / "stats_stats.csv").open() as rows:
        return next(row for row in csv.DictReader(rows) if row["Name"] == "Aggregated")


def _text(out: Path, name: str, missing: str) -> str:
    path = out / name
    return path.read_text().strip() if path.exists() else missing


def _memory(out: Path, warmup: float) -> list[dict[str, float]]:
    """Per web worker: RSS at the first sample after ``warmup`` s, at the
    last sample, its peak (bytes), growth between the two, PSS at the end."""
    samples: dict[int, list[tuple[float, int, int]]] = {}
    with (out / "memory.csv").open() as rows:
        for row in csv.DictReader(rows):
            samples.setdefault(int(row["pid"]), []).append(
                (float(row["seconds"]), int(row["rss_kib"]), int(row["pss_kib"]))
            )
    workers = []
    for mine in samples.values():
        settled = [s for s in mine if s[0] >= warmup] or mine
        first, last = settled[0], settled[-1]
        workers.append(
            {
                "from": first[0],
                "to": last[0],
                "start": first[1] * 1024,
                "end": last[1] * 1024,
                "peak": max(s[1] for s in mine) * 1024,
                "growth": (last[1] - first[1]) / first[1],
                "pss": last[2] * 1024,
                "samples": len(mine),
            }
        )
    return sorted(workers, key=lambda w: -w["peak"])


def _overall(profile: str, out: Path, code: int) -> str:
    row = _aggregated(out)
    count, failed = int(row["Request Count"]), int(row["Failure Count"])
    return (
        f"| {profile} | {count:,} | {failed:,} ({failed / max(count, 1):.2%}) | "
        f"{row['50%']} | {row['95%']} | {row['99%']} | "
        f"{float(row['Requests/s']):.1f} | {code} |"
    )


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--write", action="store_true")
    options.add_argument("--profiles", default="stress,endurance")
    args = options.parse_args()
    profiles = args.profiles.split(",")
    outs: dict[str, tuple[Path, int]] = {}
    for profile in profiles:
        out = run.report_dir(profile)
        code = run.main(profile, out)
        if code == 130:
            raise SystemExit("interrupted")
        outs[profile] = (out, code)

    warmup = float(os.environ.get("LOADTEST_MEMORY_WARMUP", "60"))
    lines = [
        "Each profile as `make loadtest PROFILE=<name>` runs it (loadtests/run.py: "
        "database bazaar_loadtest, seed_demo --products 2000 --users 50 --orders "
        "300, gunicorn as the Procfile's web process with WEB_CONCURRENCY=3 and "
        "max_requests off, the general worker with 2 slots, the critical worker, "
        "the relay, all unpinned; locust pinned to CPU 1; browsing, shopper and "
        "seller journeys, loadtests/locustfile.py). A probe enqueues a CRITICAL "
        "job every 0.1 s through the outbox for the whole run (loadtests/probe.py)."
        " Reports: " + ", ".join(f"var/loadtest/{o.name}/" for o, _ in outs.values()),
        "",
        "| profile | requests | failures | p50 ms | p95 ms | p99 ms | req/s | "
        "locust exit |",
        "|---|---|---|---|---|---|---|---|",
        *(_overall(profile, out, code) for profile, (out, code) in outs.items()),
        "",
    ]
    for profile, (out, _) in outs.items():
        lines.append(
            f"**{profile}**: "
            + _text(out, "critical.txt", "no CRITICAL probe figures")
            + " (goal p99 < 1 s)."
        )
        if profile == "stress":
            lines.append(
                "Knee: " + _text(out, "knee.txt", "none reached (ramp ended first)")
            )
        lines.append("")
    if "endurance" in outs:
        out, _ = outs["endurance"]
        workers = _memory(out, warmup)
        lines += [
            f"**Web worker memory, endurance** (RSS every 10 s; growth from the "
            f"first sample after {warmup:.0f} s to the last; goals RSS < "
            f"{RSS_GOAL_MB} MB, growth < {GROWTH_GOAL:.0%}):",
            "",
            "| worker | RSS MB at start → end | peak RSS MB | growth | PSS MB at "
            "end | meets goals |",
            "|---|---|---|---|---|---|",
        ]
        for n, w in enumerate(workers, 1):
            ok = w["peak"] < RSS_GOAL_MB * MB and w["growth"] < GROWTH_GOAL
            lines.append(
                f"| {n} | {w['start'] / MB:.1f} ({w['from']:.0f} s) → "
                f"{w['end'] / MB:.1f} ({w['to']:.0f} s) | **{w['peak'] / MB:.1f}** | "
                f"**{w['growth']:+.1%}** | {w['pss'] / MB:.1f} | "
                f"{'yes' if ok else '**no**'} |"
            )
    body = "\n".join(lines).rstrip() + "\n"
    print(body)
    if args.write:
        write_section("loadtest", body)


if __name__ == "__main__":
    main()
