"""Shared plumbing for the benchmarks: environment, processes, statistics, report."""

import contextlib
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"

# Benchmarks use their own database and Redis databases, never dev or test data.
BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.base",
    "DATABASE_URL": os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bazaar_bench"
    ),
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/3",
    "CACHE_URL": "redis://127.0.0.1:6379/4",
    "SECURITY_CACHE_URL": "redis://127.0.0.1:6379/5",
    "JOB_EXTRA_MODULES": "bench.handlers",
    "LOG_LEVEL": "WARNING",
    "DJANGO_READ_DOT_ENV_FILE": "false",
}


def setup_django(extra: dict[str, str] | None = None) -> None:
    """Point this process at the benchmark database, create and migrate it."""
    os.environ.update(BENCH_ENV)
    os.environ.update(extra or {})
    sys.path.insert(0, str(ROOT))
    run([sys.executable, "scripts/ensure_database.py"])
    run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"])
    import django

    django.setup()


def run(cmd: Sequence[str], **kwargs: Any) -> None:
    subprocess.run(cmd, cwd=ROOT, env={**os.environ}, check=True, **kwargs)


def pin_self(cpu: int) -> str:
    """Pin this process (the load generator) to one core; say which."""
    try:
        os.sched_setaffinity(0, {cpu})
        return f"load generator pinned to CPU {cpu}"
    except (AttributeError, OSError) as exc:
        return f"could not pin the load generator: {exc}"


def _stat_fields(pid: int | str) -> list[str] | None:
    """/proc/<pid>/stat after the command name (which may hold spaces and
    parentheses): field 0 is the state, 1 the parent, 11 and 12 the user and
    system CPU ticks; None once the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (a gunicorn master and its workers, a
    Celery worker and its pool), parents first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(entry.name)):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its descendants
    still running: what a server spent over a window, whoever its client."""
    ticks = 0
    for member in process_tree(pid):
        if fields := _stat_fields(member):
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def pin_tree(pid: int, cpus: set[int]) -> int:
    """Move a running process and all its descendants onto ``cpus``; returns
    how many processes moved."""
    moved = 0
    for member in process_tree(pid):
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(member, cpus)
            moved += 1
    return moved


def start(cmd: Sequence[str], cpus: str | None = None, **env: str) -> subprocess.Popen:
    """Start a helper process (worker, relay), optionally pinned with taskset."""
    prefix = ["taskset", "-c", cpus] if cpus else []
    return subprocess.Popen(
        [*prefix, *cmd],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop a helper and every process it started (its own session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_until(
    predicate: Callable[[], Any], timeout: float, interval: float = 0.01
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"not reached within {timeout}s")


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def spread(values: Sequence[float]) -> str:
    """Median with min-max, for quoting a figure measured over rounds."""
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{_figure(mid)} (min {_figure(low)}, max {_figure(high)})"


def _figure(value: float) -> str:
    """Three significant figures, without exponents for large counts."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def machine() -> str:
    mem_kb = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return f"{os.cpu_count()} cores, {mem_kb / 1024 / 1024:.0f} GiB RAM"


# A Celery worker of the project, quiet and without the cluster chatter a
# benchmark does not need; callers add queues, pool and slots.
CELERY_WORKER = [
    *(sys.executable, "-m", "celery", "-A", "config", "worker"),
    *("-l", "WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip"),
]
GENERAL_QUEUES = "high,medium,low,batch"


def general_worker(sched: str | None = None) -> list[str]:
    """The Procfile's general worker: every queue but critical
    (worker_critical's), WORKER_CONCURRENCY slots (default 1), under the
    scheduling policy ``sched`` or WORKER_SCHED (chrt: idle by default) at
    niceness WORKER_NICE (10)."""
    return [
        *("chrt", f"--{sched or os.environ.get('WORKER_SCHED') or 'idle'}", "0"),
        *("nice", "-n", os.environ.get("WORKER_NICE") or "10"),
        *CELERY_WORKER,
        *("-Q", GENERAL_QUEUES, "-c", os.environ.get("WORKER_CONCURRENCY") or "1"),
    ]


GENERAL_WORKER = general_worker()


def write_section(
    name: str, body: str, command: str | None = None, *, top: bool = False
) -> None:
    """Replace (or add: at the end, or under the title with ``top``) this
    benchmark's section of bench/RESULTS.md, with the command that produced
    it (by default this process's own)."""
    if command is None:
        script = f"bench/{Path(sys.argv[0]).name}"
        command = shlex.join([".venv/bin/python", script, *sys.argv[1:]])
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"<!-- {name}:start -->\n"
        f"## {name}\n\n"
        f"Command: `{command}` · run {stamp} · {machine()}\n\n"
        f"{body.strip()}\n"
        f"<!-- {name}:end -->"
    )
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    tag = re.escape(name)
    pattern = re.compile(rf"<!-- {tag}:start -->.*?<!-- {tag}:end -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    elif top:
        title, _, rest = text.partition("\n")
        text = f"{title}\n\n{section}\n\n{rest.lstrip()}"
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    RESULTS.write_text(text)
