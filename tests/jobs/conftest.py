"""Fixtures for the job platform: real workers (thread or process), relay, SMTP."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings

from tests.subprocess_env import child_environment, closed_port

ROOT = Path(__file__).resolve().parents[2]
ALL_QUEUES = ["critical", "high", "medium", "low", "batch"]


def wait_until(
    predicate: Callable[[], Any], timeout: float = 20, interval: float = 0.05
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture
def purge_broker() -> None:
    from redis import Redis

    Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


@pytest.fixture
def thread_worker(purge_broker) -> Callable[..., Any]:
    """Start an in-process Celery worker (threads pool) on the given queues."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    stack: list[Any] = []

    def start(queues: list[str] | None = None, concurrency: int = 2) -> Any:
        context = start_worker(
            app,
            pool="threads",
            concurrency=concurrency,
            perform_ping_check=False,
            queues=queues or ALL_QUEUES,
            shutdown_timeout=30,
        )
        worker = context.__enter__()
        stack.append(context)
        return worker

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)


class WorkerProcess:
    """A real ``celery worker`` subprocess against the test database."""

    def __init__(
        self, queues: list[str], concurrency: int, env: dict[str, str]
    ) -> None:
        db = settings.DATABASES["default"]
        url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        child_env = child_environment(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings.test",
                "DATABASE_URL": url,
                **env,
            }
        )
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                ",".join(queues),
                "-c",
                str(concurrency),
                "--pool",
                "prefork",
                "-l",
                "INFO",
                "-n",
                f"test{os.getpid()}-{time.monotonic_ns()}@%h",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env=child_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except FileNotFoundError:
            return []

    def kill(self) -> None:
        """SIGKILL the whole worker: main process and pool children."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def process_worker(purge_broker) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(
        queues: list[str] | None = None, concurrency: int = 1, **env: str
    ) -> WorkerProcess:
        worker = WorkerProcess(queues or ALL_QUEUES, concurrency, env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def relay() -> Iterator[Callable[[], None]]:
    """Run the relay loop in a thread (as ``manage.py run_relay`` would)."""
    from jobs.relay import run_forever

    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start() -> None:
        thread = threading.Thread(target=run_forever, args=(stop,), daemon=True)
        thread.start()
        threads.append(thread)

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=10)


class SmtpSink:
    """A real SMTP server on loopback that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes

        with self.lock:
            self.messages.append(
                {
                    "from": envelope.mail_from,
                    "to": list(envelope.rcpt_tos),
                    "message": message_from_bytes(envelope.original_content),
                }
            )
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        wait_until(lambda: len(self.messages) >= count, timeout=timeout)
        return self.messages


@pytest.fixture
def smtp_sink(settings) -> Iterator[SmtpSink]:
    sink = SmtpSink()
    port = closed_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    controller.stop()
