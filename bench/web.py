"""HTTP benchmarking: gunicorn as in the Procfile, wrk as the load generator.

gunicorn runs pinned to CPU 0 and wrk to CPU 1, so the load generator never
competes with the server for a core; PostgreSQL and Redis are left unpinned.
"""

import argparse
import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from bench.common import ROOT, start, stop
from config import web_server

PORT = int(os.environ.get("BENCH_PORT", "8099"))


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        sys.exit(
            "wrk is not installed: apt-get install wrk (Debian) or brew install wrk"
        )
    return path


# Base URL → the server process serving it, for benchmarks that move a
# running server between cores (pin_tree).
SERVERS: dict[str, subprocess.Popen] = {}


@contextmanager
def serve(
    cmd: list[str], *, port: int, settings: str, timeout: float = 30, **env: str
) -> Iterator[str]:
    """Run a server of the project (``cmd``, listening on ``port``, with
    ``settings``) on CPU 0; yield its base URL once /health answers."""
    base = f"http://127.0.0.1:{port}"
    proc = start(
        cmd, cpus="0", DJANGO_SETTINGS_MODULE=settings, LOG_LEVEL="WARNING", **env
    )
    SERVERS[base] = proc
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"{base}/health", timeout=1).read()  # noqa: S310
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"{shlex.join(cmd)} did not come up") from None
                time.sleep(0.2)
        yield base
    finally:
        SERVERS.pop(base, None)
        stop(proc)


def gunicorn(
    workers: int | None = None,
    *,
    port: int = PORT,
    settings: str = "bench.settings",
    **env: str,
) -> AbstractContextManager[str]:
    """Serve the project (``settings``) with gunicorn on CPU 0: the Procfile's
    server shape (config/web_server.py) unless ``workers`` or ``env`` say
    otherwise."""
    return serve(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "-c",
            "config/gunicorn.py",
            "--workers",
            str(workers or web_server.workers()),
        ],
        port=port,
        settings=settings,
        WEB_PORT=str(port),
        GUNICORN_MAX_REQUESTS="0",
        **env,
    )


def wrk(
    url: str,
    *,
    seconds: int = 10,
    connections: int = 16,
    threads: int = 1,
    headers: dict[str, str] | None = None,
    script: str | None = None,
    timeout: int = 2,
) -> dict[str, float]:
    """Run wrk pinned to CPU 1 (with a Lua ``script`` file if given); return
    requests/s, latency percentiles (ms), requests, bytes read, error answers
    (statuses >= 400: wrk counts no 3xx) and wrk's CPU seconds."""
    cmd = [
        "taskset",
        "-c",
        "1",
        require_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        f"--timeout={timeout}s",
    ]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    if script is not None:
        cmd += ["-s", script]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [*cmd, url], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    figures["cpu_s"] = (after.ru_utime + after.ru_stime) - (
        before.ru_utime + before.ru_stime
    )
    for pct in ("50", "90", "99"):
        match = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(match.group(1)), match.group(2)
        figures[f"p{pct}_ms"] = (
            value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
        )
    total = re.search(r"(\d+) requests in [^,]+, ([\d.]+)([KMGT]?B) read", out)
    figures["requests"] = float(total.group(1))
    # Response bytes (headers included); wrk's units are powers of 1024.
    scale = 1024 ** "BKMGT".index(total.group(3)[0])
    figures["bytes_read"] = float(total.group(2)) * scale
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    figures["non_2xx"] = float(errors.group(1)) if errors else 0.0
    # Connect, read and write errors and timeouts (answers wrk gave up on).
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    figures["socket_errors"] = (
        float(sum(int(value) for value in socket.groups())) if socket else 0.0
    )
    return figures


def parser(doc: str | None) -> argparse.ArgumentParser:
    """The options every HTTP benchmark takes; callers add their own."""
    parsed = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parsed.add_argument("--rounds", type=int, default=5)
    parsed.add_argument("--seconds", type=int, default=10)
    parsed.add_argument("--connections", type=int, default=16)
    parsed.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    return parsed


def alternate(
    base: str,
    arms: dict[str, str],
    headers: dict[str, dict[str, str]],
    *,
    rounds: int,
    seconds: int,
    connections: int,
) -> dict[str, list[dict[str, float]]]:
    """Run wrk on each arm in turn, order reversed every other round, after a
    warm-up of each; refuses results that include error answers (wrk counts
    statuses >= 400, so a 304 passes)."""
    for name, path in arms.items():
        wrk(base + path, seconds=2, connections=4, headers=headers[name])
    figures: dict[str, list[dict[str, float]]] = {name: [] for name in arms}
    for round_no in range(rounds):
        order = list(arms) if round_no % 2 == 0 else list(reversed(arms))
        for name in order:
            result = wrk(
                base + arms[name],
                seconds=seconds,
                connections=connections,
                headers=headers[name],
            )
            if result["non_2xx"]:
                raise SystemExit(f"{name}: {result['non_2xx']:.0f} non-2xx answers")
            figures[name].append(result)
            print(
                f"  round {round_no + 1} {name}: {result['rps']:.0f} req/s, "
                f"p99 {result['p99_ms']:.1f} ms",
                flush=True,
            )
    return figures
