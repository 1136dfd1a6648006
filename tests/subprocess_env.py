"""Run Django code in a child process with a chosen environment.

Settings are read from the environment at import time, so settings tests and
tests that need a broken dependency (a closed database port) run a child.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def child_environment(env: dict[str, str | None]) -> dict[str, str]:
    """This process's environment with ``env`` applied; a None value unsets."""
    child = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    for key, value in env.items():
        if value is None:
            child.pop(key, None)
        else:
            child[key] = value
    return child


def run_python(code: str, env: dict[str, str | None], timeout: float = 60) -> Any:
    """Run ``code`` (which prints one JSON document last) and return it decoded."""
    child_env = child_environment(env)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def manage(
    *args: str, env: dict[str, str | None], timeout: float = 120
) -> subprocess.CompletedProcess:
    child_env = child_environment(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
