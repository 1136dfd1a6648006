"""The stack under test: private PostgreSQL, Redis and SMTP, plus every process.

Nothing here touches the shared services: PostgreSQL is a fresh ``initdb``
cluster in a temporary directory (run as ``postgres``, since initdb refuses
root), Redis is its own ``redis-server``, and all ports are picked free on
loopback. Each process runs in its own session so it can be stopped, killed
(whole group, main process only, or one pool child) and started again.
``Stack.close`` always runs (``finally`` and ``atexit``) and removes it all.
"""

import asyncio
import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any

import psycopg
import requests
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_BIN = Path(os.environ.get("RESILIENCE_PG_BIN", "/usr/lib/postgresql/15/bin"))
LOG_DIR = ROOT / "var" / "resilience"
DB_NAME = "bazaar_resilience"
PASSWORD = "bazaar-demo-123"  # noqa: S105 - seed_demo's public demo password
# The Procfile's general worker: every queue but critical (worker_critical's).
GENERAL_QUEUES = "high,medium,low,batch"
# What the Procfile runs under scripts/respawn.py.
SUPERVISED = ("worker", "worker_critical", "relay", "beat")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(
    predicate: Callable[[], Any], timeout: float, interval: float = 0.1, what: str = ""
) -> Any:
    """Poll ``predicate`` until it returns something truthy; raise at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            value = predicate()
            if value:
                return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what or 'condition'} not reached within {timeout}s")
        time.sleep(interval)


def as_postgres(*cmd: str) -> list[str]:
    """Run a PostgreSQL binary as the ``postgres`` user when we are root."""
    if os.geteuid() != 0:
        return list(cmd)
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *cmd]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(cmd)]


@dataclass
class Mail:
    message_id: str
    to: list[str]
    subject: str
    at: float


class _SinkHandler:
    def __init__(self, sink: "SmtpSink") -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)
        message = message_from_bytes(envelope.original_content)
        mail = Mail(
            message_id=str(message.get("Message-ID", "")).strip(),
            to=list(envelope.rcpt_tos),
            subject=str(message.get("Subject", "")),
            at=time.time(),
        )
        with self.sink.lock:
            self.sink.mails.append(mail)
        return "250 OK"


class SmtpSink:
    """An in-process SMTP server recording each message's Message-ID.

    ``delay`` holds every message before the 250, so a kill can land while
    messages are in flight (scenario 2)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.delay = 0.0
        self.lock = threading.Lock()
        self.mails: list[Mail] = []
        self.controller = Controller(
            _SinkHandler(self), hostname="127.0.0.1", port=self.port
        )

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.controller.stop()

    def counts(self) -> Counter[str]:
        """How many times each Message-ID arrived."""
        with self.lock:
            return Counter(mail.message_id for mail in self.mails)


@dataclass
class Proc:
    name: str
    cmd: list[str]
    popen: subprocess.Popen | None = None
    starts: int = 0
    pids: list[int] = field(default_factory=list)
    # Started again when it dies on its own, as scripts/respawn.py does for
    # the Procfile's workers, relay and beat; each respawn is recorded.
    supervised: bool = False
    expected_exit: bool = False  # stopped or killed by the harness itself
    respawns: list[str] = field(default_factory=list)

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def children(self) -> list[int]:
        """Direct children (a Celery worker's pool processes)."""
        if self.popen is None:
            return []
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []


class Stack:
    """Private services and the Procfile processes, each startable and killable."""

    def __init__(self, *, web_workers: int = 3, worker_concurrency: int = 2) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="bazaar-resilience-"))
        # postgres must traverse into its own directory below ours.
        self.tmp.chmod(0o755)
        self.pg_dir = self.tmp / "pg"
        self.pg_data = self.pg_dir / "data"
        self.pg_port = free_port()
        self.redis_port = free_port()
        self.web_port = free_port()
        self.sink = SmtpSink()
        self.redis: subprocess.Popen | None = None
        self.pg_running = False
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.logs = LOG_DIR / stamp
        self.logs.mkdir(parents=True, exist_ok=True)
        self.base_url = f"http://127.0.0.1:{self.web_port}"
        self.database_url = f"postgres://postgres@127.0.0.1:{self.pg_port}/{DB_NAME}"
        self.env = self._environment(web_workers, worker_concurrency)
        for sub in ("prom/web", "prom/celery", "media"):
            (self.tmp / sub).mkdir(parents=True)
        celery = [str(BIN / "celery"), "-A", "config"]
        tag = f"resilience{os.getpid()}"
        self.procs: dict[str, Proc] = {
            "web": Proc(
                "web",
                [
                    str(BIN / "gunicorn"),
                    "config.wsgi:application",
                    "-c",
                    "config/gunicorn.py",
                ],
            ),
            # Procfile's two workers: the other queues in priority order, and
            # a dedicated critical one.
            "worker": Proc(
                "worker",
                [
                    *("nice", "-n", os.environ.get("WORKER_NICE") or "10"),
                    *celery,
                    "worker",
                    "-l",
                    "INFO",
                    "-n",
                    f"{tag}-general@%h",
                    "-Q",
                    GENERAL_QUEUES,
                    "-c",
                    str(worker_concurrency),
                ],
            ),
            "worker_critical": Proc(
                "worker_critical",
                [
                    *celery,
                    "worker",
                    "-l",
                    "INFO",
                    "-n",
                    f"{tag}-critical@%h",
                    "-Q",
                    "critical",
                    "-c",
                    "1",
                ],
            ),
            "relay": Proc("relay", [sys.executable, "manage.py", "run_relay"]),
            "beat": Proc(
                "beat",
                [
                    *celery,
                    "beat",
                    "-l",
                    "INFO",
                    "-S",
                    "jobs.scheduler:JobScheduler",
                    "--pidfile",
                    str(self.tmp / "beat.pid"),
                    "-s",
                    str(self.tmp / "beat-schedule"),
                ],
            ),
        }
        for name in SUPERVISED:
            self.procs[name].supervised = True
        self._closed = False
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        atexit.register(self.close)

    # --- environment ---------------------------------------------------------
    def _environment(self, web_workers: int, worker_concurrency: int) -> dict[str, str]:
        """The app's own variables (.env.example), pointed at private services.

        Timings that would make a scenario outlast its bound are shortened
        and stated in the report: a killed job's lease (JOB_LEASE_SECONDS)
        and the stale-message sweep (JOB_STALE_SECONDS). Logs are JSON, as in
        production: the development console format renders each logged
        traceback with rich (locals, syntax highlighting), which costs
        about a CPU-second per error and alone saturates the web workers
        when every request fails."""
        env = {
            key: value
            for key, value in os.environ.items()
            # Never inherit a pointer at the shared services.
            if not key.endswith("_URL") and not key.startswith(("DB_", "JOB_"))
        }
        redis = f"redis://127.0.0.1:{self.redis_port}"
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings.base",
                "DJANGO_READ_DOT_ENV_FILE": "false",
                "SECRET_KEY": "resilience-only-secret-key-0123456789abcdef",
                "DATABASE_URL": self.database_url,
                "DB_POOL_MAX": "10",
                "REDIS_URL": redis,
                "CACHE_URL": f"{redis}/1",
                "SECURITY_CACHE_URL": f"{redis}/2",
                "CELERY_BROKER_URL": f"{redis}/0",
                "EMAIL_URL": f"smtp://127.0.0.1:{self.sink.port}",
                "EMAIL_TIMEOUT": "5",
                "WEB_HOST": "127.0.0.1",
                "WEB_PORT": str(self.web_port),
                "WEB_CONCURRENCY": str(web_workers),
                "WORKER_CONCURRENCY": str(worker_concurrency),
                "LOG_LEVEL": "INFO",
                "LOG_FORMAT": "json",
                "LOGIN_RATE_PER_IP": "100000",
                "PROMETHEUS_MULTIPROC_DIR": str(self.tmp / "prom" / "web"),
                "CELERY_PROMETHEUS_MULTIPROC_DIR": str(self.tmp / "prom" / "celery"),
                "MEDIA_ROOT": str(self.tmp / "media"),
                "MEMORY_SAMPLE_SECONDS": "0",
                "JOB_LEASE_SECONDS": "15",
                "JOB_STALE_SECONDS": "10",
                "JOB_STARTUP_DELAY": "2",
                "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    # --- lifecycle -------------------------------------------------------------
    def start(self, seed: str = "--products 200 --users 12 --orders 0") -> None:
        """Services, schema, a small seed, then every process; wait until ready."""
        self.sink.start()
        self.pg_init()
        self.pg_start()
        self.redis_start()
        self.psql_admin(f"CREATE DATABASE {DB_NAME}")
        self.manage("migrate", "--noinput", "-v0")
        self.manage("sync_schedules")
        self.manage("seed_demo", *seed.split())
        # Plenty of stock: the scenarios test outages, not selling out.
        self.sql("UPDATE catalog_product SET stock = 1000000, is_active = true")
        for name in self.procs:
            self.start_proc(name)
        self._supervisor.start()
        self.wait_ready()

    def _supervise(self) -> None:
        """The Procfile's respawn: a supervised process that died without the
        harness asking is started again (and the death recorded)."""
        while not self._closed:
            for name, proc in list(self.procs.items()):
                if (
                    proc.supervised
                    and proc.popen is not None
                    and not proc.alive
                    and not proc.expected_exit
                    and not self._closed
                ):
                    proc.respawns.append(self.exits().get(name, "exited"))
                    self.start_proc(name)
            time.sleep(0.5)

    def close(self) -> None:
        """Stop everything this stack started and delete its directory."""
        if self._closed:
            return
        self._closed = True
        for proc in self.procs.values():
            self._stop(proc, timeout=10)
        self.redis_stop()
        if self.pg_data.exists():
            # Already stopped (or never started) is fine at teardown.
            with contextlib.suppress(subprocess.CalledProcessError):
                self.pg_stop("immediate")
        self.sink.stop()
        with contextlib.suppress(OSError):
            if self.pg_dir.exists():
                shutil.copy(self.pg_dir / "postgres.log", self.logs / "postgres.log")
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- PostgreSQL ------------------------------------------------------------
    def pg_init(self) -> None:
        self.pg_dir.mkdir()
        shutil.chown(self.pg_dir, "postgres", "postgres")
        self.pg_dir.chmod(0o700)
        subprocess.run(
            as_postgres(
                str(PG_BIN / "initdb"),
                "-D",
                str(self.pg_data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ),
            check=True,
            capture_output=True,
        )

    def pg_start(self) -> None:
        """Start the private cluster and wait until it accepts connections."""
        opts = (
            f"-p {self.pg_port} -k {self.pg_dir} -c listen_addresses=127.0.0.1 "
            "-c max_connections=200 -c fsync=off -c full_page_writes=off"
        )
        subprocess.run(
            as_postgres(
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.pg_data),
                "-o",
                opts,
                "-l",
                str(self.pg_dir / "postgres.log"),
                "-w",
                "-t",
                "60",
                "start",
            ),
            check=True,
            capture_output=True,
        )
        self.pg_running = True

    def pg_stop(self, mode: str = "fast") -> None:
        """Stop the cluster (``fast`` ends every session, as an outage would)."""
        subprocess.run(
            as_postgres(
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.pg_data),
                "-m",
                mode,
                "-w",
                "stop",
            ),
            check=True,
            capture_output=True,
        )
        self.pg_running = False

    def pg_accepts(self) -> bool:
        try:
            with psycopg.connect(self.database_url, connect_timeout=1) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def psql_admin(self, statement: str) -> None:
        url = f"postgres://postgres@127.0.0.1:{self.pg_port}/postgres"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def sql(self, query: str, params: Any = None) -> list[tuple]:
        """Run one statement on the private database; rows if it returns any."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            cur = conn.execute(query, params)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

    # --- Redis -----------------------------------------------------------------
    def redis_start(self) -> None:
        """A fresh, empty Redis without persistence (a restart loses everything,
        as a crashed broker without AOF would)."""
        log = (self.logs / "redis.log").open("ab")
        self.redis = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(lambda: self.redis_cli("PING") == "PONG", 10, what="redis")

    def redis_kill(self) -> None:
        """SIGKILL Redis: no shutdown, every connection reset, data gone."""
        if self.redis is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.redis.pid, signal.SIGKILL)
            self.redis.wait(timeout=10)
            self.redis = None

    def redis_stop(self) -> None:
        self.redis_kill()

    def redis_cli(self, *args: str) -> str:
        out = subprocess.run(
            ["redis-cli", "-p", str(self.redis_port), *args],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        return out.stdout.strip()

    # --- app processes -----------------------------------------------------------
    def manage(self, *args: str) -> None:
        with (self.logs / "manage.log").open("ab") as log:
            subprocess.run(
                [sys.executable, "manage.py", *args],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=True,
            )

    def python(self, code: str, timeout: float = 120) -> str:
        """Run Django code in a fresh process against the stack (``shell -c``)."""
        out = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if out.returncode:
            raise RuntimeError(f"manage.py shell failed: {out.stderr[-2000:]}")
        return out.stdout

    def start_proc(self, name: str) -> Proc:
        proc = self.procs[name]
        if proc.alive:
            return proc
        proc.expected_exit = False
        log = (self.logs / f"{name}.log").open("ab")
        proc.popen = subprocess.Popen(
            proc.cmd,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        proc.starts += 1
        proc.pids.append(proc.popen.pid)
        return proc

    def _stop(self, proc: Proc, timeout: float = 30) -> None:
        if proc.popen is None:
            return
        proc.expected_exit = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.popen.wait(timeout=timeout)
        # Whatever is left of its group (forked children included).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.popen.wait(timeout=5)

    def stop_proc(self, name: str, timeout: float = 30) -> None:
        self._stop(self.procs[name], timeout)

    def kill_main(self, name: str) -> int:
        """SIGKILL only a process's main pid (its children are orphaned)."""
        proc = self.procs[name]
        pid = proc.pid
        proc.expected_exit = True  # the scenario restarts it itself
        os.kill(pid, signal.SIGKILL)
        assert proc.popen is not None
        proc.popen.wait(timeout=10)
        return pid

    def kill_group(self, name: str) -> None:
        """SIGKILL a process and everything in its session."""
        proc = self.procs[name]
        proc.expected_exit = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        assert proc.popen is not None
        proc.popen.wait(timeout=10)

    def reap_group(self, name: str, timeout: float = 20) -> None:
        """After the main process died: wait for its orphans to go, then kill them."""
        proc = self.procs[name]

        def group_gone() -> bool:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return True
            return False

        with contextlib.suppress(TimeoutError):
            wait_for(group_gone, timeout, what=f"{name} orphans exiting")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.procs.items() if p.alive}

    # --- readiness -------------------------------------------------------------
    def ready_status(self) -> int:
        try:
            return requests.get(f"{self.base_url}/ready", timeout=3).status_code
        except requests.RequestException:
            return 0

    def wait_ready(self, timeout: float = 90) -> None:
        """Every process alive, /ready 200 with every check ok, workers answering."""

        def ready() -> bool:
            for proc in self.procs.values():
                if proc.popen is not None and not proc.alive:
                    raise RuntimeError(
                        f"{proc.name} exited with {proc.popen.returncode}; "
                        f"see {self.logs / (proc.name + '.log')}"
                    )
            answer = requests.get(f"{self.base_url}/ready", timeout=3)
            return answer.status_code == 200 and answer.json()["status"] == "ok"

        deadline = time.monotonic() + timeout
        while True:
            try:
                if ready():
                    break
            except (requests.RequestException, ValueError, KeyError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"stack not ready within {timeout}s")
            time.sleep(0.2)
        wait_for(self.workers_consuming, timeout, what="workers consuming")
        self.wait_pools(timeout)

    def wait_pools(self, timeout: float = 60) -> None:
        """Each Celery worker has forked its whole pool (a restarted worker
        consumes only once its pool processes exist)."""
        sizes = {
            "worker": int(self.env["WORKER_CONCURRENCY"]),
            "worker_critical": 1,
        }
        for name, size in sizes.items():
            proc = self.procs[name]
            if proc.alive:
                wait_for(
                    lambda proc=proc, size=size: len(proc.children()) >= size,
                    timeout,
                    what=f"{name} pool",
                )

    def exits(self) -> dict[str, str]:
        """Processes that died, with their exit code and the last critical or
        error line of their log (why a worker gave up, typically)."""
        dead = {}
        for name, proc in self.procs.items():
            if proc.popen is None or proc.alive:
                continue
            reason = ""
            with contextlib.suppress(OSError):
                for line in (self.logs / f"{name}.log").read_text().splitlines():
                    if '"level": "critical"' in line or "Unrecoverable" in line:
                        reason = line[:300]
            dead[name] = f"exit code {proc.popen.returncode}; {reason}".strip("; ")
        return dead

    def workers_consuming(self) -> bool:
        """Both workers have registered as consumers of their queues."""
        for queue in ("critical", "high"):
            reply = self.redis_cli("EXISTS", f"_kombu.binding.{queue}")
            if reply != "1":
                return False
        return True

    # --- jobs and mail ---------------------------------------------------------
    def job_status_counts(self, since: float) -> dict[str, int]:
        rows = self.sql(
            "SELECT status, count(*) FROM jobs_jobrecord "
            "WHERE created_at >= to_timestamp(%s) GROUP BY status",
            [since],
        )
        return {status: count for status, count in rows}

    def wait_jobs_settled(
        self, since: float, timeout: float, types: tuple[str, ...] | None = None
    ) -> bool:
        """Every job created since ``since`` (of ``types``) is finished or failed."""

        def settled() -> bool:
            rows = self.sql(
                "SELECT count(*) FROM jobs_jobrecord WHERE created_at >= "
                "to_timestamp(%s) AND status IN ('queued', 'running') "
                "AND run_at <= now() + interval '5 seconds' "
                "AND (%s::text[] IS NULL OR type = ANY(%s::text[]))",
                [since, list(types) if types else None, list(types or ())],
            )
            return rows[0][0] == 0

        try:
            wait_for(settled, timeout, interval=0.5, what="jobs settled")
            return True
        except TimeoutError:
            return False

    @contextlib.contextmanager
    def mail_delay(self, seconds: float) -> Iterator[None]:
        self.sink.delay = seconds
        try:
            yield
        finally:
            self.sink.delay = 0.0

    def login_tokens(self, count: int) -> list[str]:
        """Access tokens of the seeded shoppers (one session each)."""
        tokens = []
        for n in range(1, count + 1):
            answer = requests.post(
                f"{self.base_url}/api/auth/login",
                json={"email": f"shopper{n}@demo.bazaar.local", "password": PASSWORD},
                timeout=30,
            )
            answer.raise_for_status()
            tokens.append(answer.json()["access"])
        return tokens

    def product_ids(self) -> list[int]:
        """Active products of one currency (an order may not mix currencies)."""
        rows = self.sql(
            "SELECT id FROM catalog_product WHERE is_active AND currency = 'USD' "
            "ORDER BY id LIMIT 200"
        )
        return [row[0] for row in rows]
