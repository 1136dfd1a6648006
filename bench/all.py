"""Every benchmark in one run (``make bench``), dated in bench/RESULTS.md.

    .venv/bin/python bench/all.py [--only servers,scale]

Runs each script of ``BENCHMARKS`` with ``--write``, one after the other (they
share the two cores, so never two at once), and keeps going when one fails so
a long run is not lost to one step. Then it writes the ``run`` section at the
top of RESULTS.md: when the run began and ended, the commit, the machine
(cores, memory, CPU model, PostgreSQL and Redis versions), and per benchmark
its command, wall time, exit status and whether its section was rewritten by
this run. A section this run did not rewrite is named as such, so figures of
different runs are never mistaken for one. Exit status: 1 if any failed.
"""

import argparse
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import RESULTS, ROOT, machine, write_section

# (section name, script arguments after bench/<name>.py --write)
BENCHMARKS: list[tuple[str, list[str]]] = [
    ("jobs", []),
    ("auth", []),
    ("catalog", []),
    ("orders", []),
    ("monitoring", ["--rounds", "7"]),
    ("servers", []),
    ("generators", []),
    ("capacity", []),
    ("drain", []),
    ("scale", []),
    ("loadtest", []),
]
STAMP = re.compile(r"<!-- (\w+):start -->\n## \w+\n\nCommand: `[^`]*` · run ([^·]+) ·")


def stamps() -> dict[str, str]:
    """Section name -> the 'run …' stamp write_section gave it."""
    text = RESULTS.read_text() if RESULTS.exists() else ""
    return {name: stamp.strip() for name, stamp in STAMP.findall(text)}


def _output(cmd: list[str]) -> str:
    """What ``cmd`` prints (stripped), or "unknown" when it cannot run."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() or "unknown"


def describe_machine() -> str:
    model = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    postgres = _output(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "SHOW server_version"]
    )
    redis = "unknown"
    for line in _output(["redis-cli", "-h", "127.0.0.1", "INFO", "server"]).split():
        if line.startswith("redis_version:"):
            redis = line.split(":", 1)[1]
    return f"{machine()}, {model}; PostgreSQL {postgres}, Redis {redis}"


def commit() -> str:
    head = _output(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"])
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"{head}{' with uncommitted changes' if dirty else ''}"


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--only", help="comma-separated benchmark names")
    args = options.parse_args()
    chosen = set(args.only.split(",")) if args.only else None
    plan = [(name, extra) for name, extra in BENCHMARKS if not chosen or name in chosen]
    began = datetime.now(UTC)
    at_start, source = stamps(), commit()
    rows = []
    failed = False
    for name, extra in plan:
        cmd = [sys.executable, f"bench/{name}.py", "--write", *extra]
        print(f"\n=== bench/{name}.py ({datetime.now(UTC):%H:%M} UTC)", flush=True)
        t0 = time.monotonic()
        code = subprocess.run(cmd, cwd=ROOT).returncode
        minutes = (time.monotonic() - t0) / 60
        failed |= code != 0
        shown = " ".join([".venv/bin/python", *cmd[1:]])
        rows.append((name, shown, minutes, code))
    ended = datetime.now(UTC)
    at_end = stamps()
    lines = [
        f"`make bench` (bench/all.py) began {began:%Y-%m-%d %H:%M} UTC and ended "
        f"{ended:%Y-%m-%d %H:%M} UTC ({(ended - began).total_seconds() / 3600:.1f} h) "
        f"at commit {source}, on {describe_machine()}. Every section below that "
        "this table marks *this run* was written by it; the benchmarks ran one "
        "after the other, nothing else loading the machine.",
        "",
        "| benchmark | command | minutes | exit | section |",
        "|---|---|---|---|---|",
    ]
    for name, shown, minutes, code in rows:
        fresh = at_end.get(name) and at_end.get(name) != at_start.get(name)
        section = "this run" if fresh else f"**not rewritten** ({at_end.get(name)})"
        lines.append(f"| {name} | `{shown}` | {minutes:.1f} | {code} | {section} |")
    others = sorted(set(at_end) - {name for name, _ in plan} - {"run"})
    if others:
        lines += ["", "Sections from earlier runs: " + ", ".join(others) + "."]
    write_section("run", "\n".join(lines), command="make bench", top=True)
    print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
