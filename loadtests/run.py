# ruff: noqa: S603 - runs this repository's own fixed commands
"""Run one load-test profile end to end: ``make loadtest PROFILE=basic``.

1. Point everything at the load-test environment (never the dev data):
   database ``bazaar_loadtest`` (``LOADTEST_DATABASE_URL``), Redis databases
   6/7/8 (broker, cache, security; dev uses 0-2, the benchmarks 3-5), port
   ``LOADTEST_PORT`` (8765), no ``.env``.
2. Create/migrate it, ``sync_schedules``, ``seed_demo --if-empty`` with
   ``LOADTEST_DEMO_SIZE`` (``--products 2000 --users 50 --orders 300``).
3. Start gunicorn (``WEB_CONCURRENCY``, default 3), the general Celery worker
   (2 slots), the critical worker and the relay, each in its own session, logs
   in the report directory; wait for ``/health``.
4. Run ``locust --headless`` (pinned to CPU 1 with taskset) with the profile's
   shape; reports in ``var/loadtest/<profile>-<timestamp>/``.
5. Meanwhile ``loadtests/probe.py`` enqueues a CRITICAL job every 0.1 s and
   writes its start latency to ``critical.txt`` (the workers load
   ``bench.handlers`` for its job type); and every web worker's RSS and PSS
   are sampled every ``LOADTEST_MEMORY_SECONDS`` (10) into ``memory.csv``;
   ``memory.txt`` gives each worker's peak and its growth from the first
   sample after ``LOADTEST_MEMORY_WARMUP`` (60 s) to the last (gunicorn's
   max_requests is off for the run, so no worker is recycled out of the
   picture).
6. Stop every process it started (process groups; SIGKILL after 20 s), the
   probe first, as it waits for its last jobs to start; also on failure and
   Ctrl-C. Exit status: locust's (1 when any request failed).
"""

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
BIN = Path(PY).parent
PROM = ROOT / "var" / "loadtest" / "prometheus"  # not the dev processes' files


def _env() -> dict[str, str]:
    port = os.environ.get("LOADTEST_PORT", "8765")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DJANGO_READ_DOT_ENV_FILE": "false",
        "DATABASE_URL": os.environ.get(
            "LOADTEST_DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/bazaar_loadtest",
        ),
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/6",
        "CACHE_URL": "redis://127.0.0.1:6379/7",
        "SECURITY_CACHE_URL": "redis://127.0.0.1:6379/8",
        "WEB_HOST": "127.0.0.1",
        "WEB_PORT": port,
        "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY", "3"),
        "WORKER_CONCURRENCY": os.environ.get("WORKER_CONCURRENCY", "2"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        "CELERY_PROMETHEUS_MULTIPROC_DIR": str(PROM / "celery"),
        "MEDIA_ROOT": str(ROOT / "var" / "loadtest" / "media"),
        # Memory is measured per worker: none may be recycled mid-run.
        "GUNICORN_MAX_REQUESTS": "0",
        # Every simulated user logs in from 127.0.0.1: lift the per-IP limit.
        "LOGIN_RATE_PER_IP": os.environ.get("LOGIN_RATE_PER_IP", "100000"),
        # The CRITICAL probe's job type (bench.stamp).
        "JOB_EXTRA_MODULES": "bench.handlers",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
    }
    return env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    print("+", shlex.join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)


def _start(name: str, cmd: list[str], env: dict[str, str], logs: Path):
    log = (logs / f"{name}.log").open("ab")
    print(f"starting {name}: {shlex.join(cmd)}", flush=True)
    return subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped as a whole
    )


def _stop(procs: dict[str, subprocess.Popen], grace: float = 20) -> None:
    for proc in procs.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for name, proc in procs.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{name} did not stop, killing it", flush=True)
        # Kill whatever of the group is left (forked children included).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


def _wait_health(url: str, procs: dict[str, subprocess.Popen], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(url, timeout=2) as resp,  # noqa: S310
        ):
            if resp.status == 200:
                return
        time.sleep(0.5)
    raise TimeoutError(f"{url} not healthy within {timeout:.0f}s")


def _children(pid: int) -> list[int]:
    """The processes ``pid`` forked (from any of its threads)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in task.read_text().split()]
    return sorted(found)


def _memory_kb(pid: int) -> tuple[int, int] | None:
    """(RSS, PSS) of one process in KiB, or None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None

    def field(text: str, name: str) -> int:
        for line in text.splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
        return 0

    return field(status, "VmRSS"), field(rollup, "Pss")


class MemoryWatch:
    """Samples the web workers' memory in a thread until stopped."""

    def __init__(self, master: int, out: Path) -> None:
        self.master, self.out = master, out
        self.every = float(os.environ.get("LOADTEST_MEMORY_SECONDS", "10"))
        self.warmup = float(os.environ.get("LOADTEST_MEMORY_WARMUP", "60"))
        self.samples: list[tuple[float, int, int, int]] = []  # t, pid, rss, pss
        self.done = threading.Event()
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.done.is_set():
            now = time.monotonic() - self.started
            for pid in _children(self.master):
                figures = _memory_kb(pid)
                if figures:
                    self.samples.append((now, pid, *figures))
            self.done.wait(self.every)

    def stop(self) -> None:
        self.done.set()
        self.thread.join()
        lines = ["seconds,pid,rss_kib,pss_kib"]
        lines += [f"{t:.0f},{pid},{rss},{pss}" for t, pid, rss, pss in self.samples]
        (self.out / "memory.csv").write_text("\n".join(lines) + "\n")
        report = []
        for pid in sorted({pid for _, pid, _, _ in self.samples}):
            mine = [s for s in self.samples if s[1] == pid]
            settled = [s for s in mine if s[0] >= self.warmup] or mine
            first, last = settled[0], settled[-1]
            growth = (last[2] - first[2]) / first[2] if first[2] else 0.0
            report.append(
                f"worker {pid}: RSS peak {max(s[2] for s in mine) / 1024:.1f} MiB, "
                f"{first[2] / 1024:.1f} MiB at {first[0]:.0f} s -> "
                f"{last[2] / 1024:.1f} MiB at {last[0]:.0f} s (growth {growth:+.1%}); "
                f"PSS {first[3] / 1024:.1f} -> {last[3] / 1024:.1f} MiB"
            )
        (self.out / "memory.txt").write_text("\n".join(report) + "\n")
        print("\n".join(["", "web worker memory:", *report]), flush=True)


def _summary(out: Path) -> None:
    """Headline figures from locust's stats CSV."""
    import csv

    path = out / "stats_stats.csv"
    if not path.exists():
        return
    print(f"\n{'request':<46}{'count':>8}{'fail':>6}{'p50':>7}{'p95':>7}{'rps':>8}")
    with path.open() as fh:
        for row in csv.DictReader(fh):
            name = (
                f"{row['Type']} {row['Name']}" if row["Name"] != "Aggregated" else "ALL"
            )
            print(
                f"{name[:45]:<46}{row['Request Count']:>8}{row['Failure Count']:>6}"
                f"{row['50%']:>7}{row['95%']:>7}{float(row['Requests/s']):>8.1f}"
            )


def report_dir(profile: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = ROOT / "var" / "loadtest" / f"{profile}-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    return out


def main(profile: str | None = None, out: Path | None = None) -> int:
    """Run ``profile`` (default: $PROFILE, else basic), reports in ``out``."""
    profile = profile or os.environ.get("PROFILE", "basic")
    out = out or report_dir(profile)
    env = {**_env(), "PROFILE": profile, "LOADTEST_REPORT_DIR": str(out)}
    size = os.environ.get(
        "LOADTEST_DEMO_SIZE", "--products 2000 --users 50 --orders 300"
    ).split()
    users = size[size.index("--users") + 1] if "--users" in size else "50"
    env.setdefault("LOADTEST_SHOPPERS", users)
    env.setdefault("LOADTEST_SELLERS", str(max(1, int(users) // 10)))
    host = f"http://127.0.0.1:{env['WEB_PORT']}"

    _run([PY, "scripts/ensure_database.py"], env)
    _run([PY, "manage.py", "migrate", "--noinput", "-v0"], env)
    _run([PY, "manage.py", "sync_schedules"], env)
    _run([PY, "manage.py", "seed_demo", "--if-empty", *size], env)

    procs: dict[str, subprocess.Popen] = {}
    # Ctrl-C raises KeyboardInterrupt even when started with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # SIGTERM (a killed make) unwinds like Ctrl-C, through the finally below.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    code = 1
    memory: MemoryWatch | None = None
    probe: subprocess.Popen | None = None
    try:
        celery = [str(BIN / "celery"), "-A", "config", "worker", "-l", "WARNING"]
        procs["web"] = _start(
            "web",
            [
                str(BIN / "gunicorn"),
                "config.wsgi:application",
                "-c",
                "config/gunicorn.py",
            ],
            env,
            out,
        )
        procs["worker"] = _start(
            "worker",
            [
                *celery,
                "-n",
                f"loadtest-general-{os.getpid()}@%h",
                "-Q",
                "high,medium,low,batch",
                "-c",
                env["WORKER_CONCURRENCY"],
            ],
            env,
            out,
        )
        procs["worker_critical"] = _start(
            "worker_critical",
            [
                *celery,
                "-n",
                f"loadtest-critical-{os.getpid()}@%h",
                "-Q",
                "critical",
                "-c",
                "1",
            ],
            env,
            out,
        )
        procs["relay"] = _start("relay", [PY, "manage.py", "run_relay"], env, out)
        _wait_health(f"{host}/health", procs, timeout=60)
        print(f"stack up at {host} (logs in {out})", flush=True)
        memory = MemoryWatch(procs["web"].pid, out)
        probe = _start("probe", [PY, "-m", "loadtests.probe", str(out)], env, out)

        pin = ["taskset", "-c", "1"] if shutil.which("taskset") else []
        locust = [
            *pin,
            str(BIN / "locust"),
            "--headless",
            "-f",
            "loadtests/locustfile.py",
            "--host",
            host,
            "--html",
            str(out / "report.html"),
            "--csv",
            str(out / "stats"),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ]
        print("+", shlex.join(locust), flush=True)
        runner = subprocess.Popen(locust, cwd=ROOT, env=env)
        try:
            code = runner.wait()
        except KeyboardInterrupt:
            # Let locust stop its users and still write the reports.
            runner.terminate()
            try:
                runner.wait(timeout=30)
            except subprocess.TimeoutExpired:
                runner.kill()
                runner.wait()
            raise
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        code = 130
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C: still clean up
        if memory is not None:
            memory.stop()
        if probe is not None:
            # Before the workers stop: it waits for its last jobs to start.
            _stop({"probe": probe}, grace=90)
        _stop(procs)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    _summary(out)
    print(f"\nreport: {out / 'report.html'}\nstats:  {out}/stats_*.csv")
    for name in ("knee.txt", "critical.txt"):
        if (out / name).exists():
            print((out / name).read_text().strip())
    print(f"locust exit code {code}")
    return code


if __name__ == "__main__":
    sys.exit(main())
