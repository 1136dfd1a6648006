"""Start the local PostgreSQL and Redis when installed but not answering.

Used by `make run`, `make test` and CI. Only services configured on loopback
are touched; a remote DATABASE_URL or REDIS_URL is left to its operator.
Standard library only: it runs before anything is installed.
"""

import glob
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

LOOPBACK = {"127.0.0.1", "localhost", "::1", ""}
ROOT = Path(__file__).resolve().parent.parent


def read_dotenv() -> dict[str, str]:
    """The project's .env, so the script sees what the app will see."""
    values: dict[str, str] = {}
    path = ROOT / ".env"
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip().strip("'\"")
    return values


def setting(name: str, default: str) -> str:
    return os.environ.get(name) or read_dotenv().get(name) or default


def answering(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host or "127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for(host: str, port: int, name: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if answering(host, port):
            print(f"{name}: answering on {host}:{port}")
            return
        time.sleep(0.25)
    sys.exit(f"{name}: still not answering on {host}:{port} after {seconds:.0f}s")


def start_postgres(port: int) -> None:
    versions = sorted(os.path.basename(p) for p in glob.glob("/etc/postgresql/*"))
    if not versions or not shutil.which("pg_ctlcluster"):
        sys.exit(
            f"PostgreSQL is not answering on port {port} and is not installed here."
        )
    for version in versions:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            check=False,
        )


def start_redis(port: int) -> None:
    if not shutil.which("redis-server"):
        sys.exit(f"Redis is not answering on port {port} and is not installed here.")
    workdir = "/var/lib/redis" if os.access("/var/lib/redis", os.W_OK) else "/tmp"
    subprocess.run(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "-::1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        check=True,
    )


def main() -> None:
    db = urlsplit(setting("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bazaar"))
    redis = urlsplit(setting("REDIS_URL", "redis://127.0.0.1:6379"))
    services = [
        ("PostgreSQL", db.hostname or "", db.port or 5432, start_postgres),
        ("Redis", redis.hostname or "", redis.port or 6379, start_redis),
    ]
    for name, host, port, start in services:
        if answering(host, port):
            continue
        if host not in LOOPBACK:
            sys.exit(
                f"{name} at {host}:{port} is not answering (remote: not starting it)."
            )
        print(f"{name}: not answering on port {port}, starting it")
        start(port)
        wait_for(host, port, name)


if __name__ == "__main__":
    main()
