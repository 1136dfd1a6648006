"""Order placement benchmark (issue: POST /api/orders, email off the request path).

    .venv/bin/python bench/orders.py [--write] [--rounds 5] [--orders 200]
        [--clients 4] [--delay 2] [--buyers 50] [--seconds 10]

gunicorn as in the Procfile (config/gunicorn.py; config/web_server.py: gthread,
cores + 1 processes x 4 threads) pinned to CPU 0; the load generator (figure 1:
this process, one thread per buyer, a new connection per request, as a first
visit opens; figure 2: wrk) pinned to CPU 1, and so is the SMTP sink (a mail
server elsewhere, in reality, so at nice 19); PostgreSQL, Redis, the Celery
worker and the relay unpinned. Each run makes its own buyers, seller and
products (emails ``bench-orders-*@bench.bazaar.local``) and deletes them, with
their orders and jobs, at the end (and whatever an earlier run left, at the
start).

1. Email never blocks a request: ``POST /api/orders`` p95 with the worker
   sending through a local SMTP sink that holds every message --delay seconds
   (bench/smtp_delay.py, an asyncio sleep, so deliveries overlap) ÷ p95 with
   the worker's email off (``EMAIL_URL=dummymail://``). Same gunicorn, same
   relay; one Celery worker (threads pool, 32 slots, at the Procfile's niceness
   WORKER_NICE, 10) started per arm per round with the arm's EMAIL_URL and
   stopped after it. --orders orders per arm per
   round from --clients buyers at once, arms alternated over --rounds rounds.
   Every confirmation of the delayed arm must reach the sink (matched by order
   number) before the next arm starts.
2. Hot product: --buyers buyers at once ordering quantity 1 of one product
   (stock far above demand) for --seconds per arm per round, from wrk (one
   connection per buyer, a Lua script makes each request a new order);
   orders/s, p50/p99, and no oversell: stock taken == units ordered ==
   orders, every answer 201.
   Two arms, alternated: gunicorn confined to CPU 0, and gunicorn free on
   both cores (sharing CPU 1 with the load generator, whose CPU use is
   reported). Worker and relay off: the jobs of these orders stay in the
   outbox (deleted at the end).
"""

import http.client
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    CELERY_WORKER,
    percentile,
    pin_self,
    pin_tree,
    setup_django,
    spread,
    start,
    stop,
    wait_until,
    write_section,
)
from bench.web import SERVERS, gunicorn, parser, wrk
from config import web_server

PREFIX = "bench-orders-"
DOMAIN = "bench.bazaar.local"
ENV = {
    # The web server and relay never send mail; only the worker's EMAIL_URL
    # differs between the arms of figure 1.
    "EMAIL_URL": "dummymail://",
    # Tokens are minted once per run, which may outlast the default 15 min.
    "ACCESS_TOKEN_MINUTES": "240",
}
WORKER_SLOTS = "32"
# One database connection per slot (the default pool of 20 would cap the
# overlapping deliveries at 20 and time threads out), all opened as the worker
# starts: else the delayed arm, whose slots all hold a send at once, would
# open some 30 connections (a PostgreSQL backend started for each) during its
# timed orders, and the arm without email, done with each job at once, none.
# The same for both arms.
WORKER_ENV = {
    "DB_POOL_MAX": str(int(WORKER_SLOTS) + 4),
    "DB_POOL_MIN": str(int(WORKER_SLOTS) + 4),
}
WORKER = [
    # At the Procfile's niceness: jobs yield the cores to requests.
    *("nice", "-n", os.environ.get("WORKER_NICE") or "10"),
    *CELERY_WORKER,
    *("-Q", "critical,high,medium,low,batch", "--pool", "threads", "-c", WORKER_SLOTS),
]
RELAY = [sys.executable, "manage.py", "run_relay"]
# At the lowest priority: a mail server elsewhere, in reality, so it must not
# take the load generator's core from it (their core is shared).
SINK = ["nice", "-n", "19", sys.executable, "bench/smtp_delay.py"]
# Helpers run on every core (the load generator's pinning would be inherited).
ALL_CPUS = f"0-{(os.cpu_count() or 1) - 1}"
ADDRESS = {
    "name": "Bench Buyer",
    "line1": "1 Benchmark Street",
    "city": "Testville",
    "postal_code": "12345",
    "country": "US",
}
NUMBER = re.compile(r"BZ-\d{4}-\d+")


# --- data ------------------------------------------------------------------


def reset_data() -> None:
    """Delete every user, order, product and job a run of this benchmark made.

    First their waiting jobs are cancelled (one UPDATE, so a relay never
    publishes the outbox of figure 2, whatever happens next); the deletion
    cascades through every model that points at them, so a model whose table
    is not migrated yet makes it fail: that is reported, not fatal (the rows
    carry this benchmark's own emails and slugs, and the next run retries).
    """
    from django.db import DatabaseError, transaction
    from django.db.models import Q
    from django.utils import timezone

    from accounts.models import User
    from catalog.models import Category, Product
    from jobs.enums import JobStatus
    from jobs.models import EmailLog, JobRecord
    from orders.models import Order

    users = User.objects.filter(email__startswith=PREFIX, email__endswith=f"@{DOMAIN}")
    orders = Order.objects.filter(user__in=users)
    mine = JobRecord.objects.filter(Q(user__in=users) | Q(order__in=orders))
    cancelled = mine.filter(status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED, finished_at=timezone.now()
    )
    count = orders.count()
    try:
        with transaction.atomic():
            EmailLog.objects.filter(user__in=users).delete()
            mine.delete()
            orders.delete()
            Product.objects.filter(seller__in=users).delete()
            Category.objects.filter(slug__startswith=PREFIX).delete()
            users.delete()
    except DatabaseError as exc:
        first = str(exc).splitlines()[0]
        print(
            f"could not delete this benchmark's data ({count:,} orders; their "
            f"{cancelled:,} waiting jobs are cancelled): {first}",
            flush=True,
        )
        return
    _vacuum()
    print(f"deleted this benchmark's data: {count:,} orders", flush=True)


def _vacuum() -> None:
    """VACUUM ANALYZE the tables a run churns, so runs start alike: the
    machine's PostgreSQL may run without autovacuum (these machines' does),
    and each run leaves some 10,000 dead rows per table behind."""
    from django.db import connection

    from accounts.models import Notification
    from catalog.models import Product
    from jobs.models import EmailLog, JobRecord
    from orders.models import IdempotencyKey, Order, OrderItem

    models = (EmailLog, JobRecord, Order, OrderItem, Notification, IdempotencyKey)
    tables = [model._meta.db_table for model in (*models, Product)]
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {', '.join(tables)}")


@dataclass
class Data:
    tokens: list[str]  # one access token per buyer
    products: list[int]  # figure 1: one product per client
    hot: int  # figure 2: the one product everyone buys


def create_data(buyers: int, clients: int, stock: int) -> Data:
    from django.db import transaction
    from django.utils import timezone

    from accounts.client import Client
    from accounts.models import User
    from accounts.services.sessions import session_create
    from catalog.models import Category, Product

    run = uuid.uuid4().hex[:8]
    client = Client(ip="127.0.0.1", user_agent="bench/orders.py")
    with transaction.atomic():
        seller = User.objects.create_user(
            f"{PREFIX}{run}-seller@{DOMAIN}", None, is_seller=True, is_verified=True
        )
        category = Category.objects.create(name="Bench orders", slug=f"{PREFIX}{run}")

        def product(name: str) -> int:
            return Product.objects.create(
                seller=seller,
                category=category,
                name=f"Bench order {name}",
                slug=f"{PREFIX}{run}-{name}",
                price=Decimal("9.99"),
                stock=stock,
            ).pk

        products = [product(f"p{i}") for i in range(clients)]
        hot = product("hot")
    tokens = []
    for i in range(max(buyers, clients)):
        with transaction.atomic():
            user = User.objects.create_user(
                f"{PREFIX}{run}-buyer{i}@{DOMAIN}", None, is_verified=True
            )
            answer = session_create(user=user, client=client, now=timezone.now())
        tokens.append(answer["access"])
    return Data(tokens=tokens, products=products, hot=hot)


# --- the load generator ----------------------------------------------------


def body_for(product_id: int) -> bytes:
    return json.dumps(
        {
            "items": [{"product_id": product_id, "quantity": 1}],
            "shipping_address": ADDRESS,
        }
    ).encode()


def place(netloc: str, token: str, body: bytes) -> tuple[int, float, bytes]:
    """POST /api/orders on a new connection: status, milliseconds, body."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Idempotency-Key": uuid.uuid4().hex,
    }
    started = time.perf_counter()
    connection = http.client.HTTPConnection(netloc, timeout=60)
    try:
        connection.request("POST", "/api/orders", body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    return response.status, (time.perf_counter() - started) * 1000, data


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    created: int = 0
    elapsed: float = 0.0
    started_at: float = 0.0  # wall clock, to compare with the sink's stamps
    ended_at: float = 0.0


def load(
    base: str,
    clients: list[tuple[str, int]],
    *,
    count: int | None = None,
    seconds: float | None = None,
    numbers: bool = False,
) -> Load:
    """One thread per (token, product) client, each placing orders one after
    another until ``count`` orders in all or ``seconds`` have passed. Any
    answer but 201 stops the benchmark."""
    netloc = urlsplit(base).netloc
    result = Load()
    lock = threading.Lock()
    failed: list[str] = []
    tickets = iter(range(count)) if count is not None else None
    barrier = threading.Barrier(len(clients) + 1)
    deadline = [0.0]

    def more() -> bool:
        if failed:
            return False
        if tickets is not None:
            with lock:
                return next(tickets, None) is not None
        return time.perf_counter() < deadline[0]

    def client(token: str, product_id: int) -> None:
        body = body_for(product_id)
        mine: list[float] = []
        got: list[str] = []
        barrier.wait()
        try:
            while more():
                status, elapsed, data = place(netloc, token, body)
                if status != 201:
                    failed.append(f"{status} {data[:300]!r}")
                    break
                mine.append(elapsed)
                if numbers:
                    got.append(json.loads(data)["number"])
        except Exception as exc:
            failed.append(f"{type(exc).__name__}: {exc}")
        with lock:
            result.latencies.extend(mine)
            result.numbers.extend(got)
            result.created += len(mine)

    threads = [
        threading.Thread(target=client, args=pair, daemon=True) for pair in clients
    ]
    for thread in threads:
        thread.start()
    result.started_at = time.time()
    started = time.perf_counter()
    deadline[0] = started + (seconds or 0)
    barrier.wait()
    for thread in threads:
        thread.join()
    result.elapsed = time.perf_counter() - started
    result.ended_at = time.time()
    if failed:
        raise SystemExit(f"POST /api/orders answered other than 201: {failed[0]}")
    return result


# --- figure 1: email never blocks a request ---------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SinkLog:
    """What bench/smtp_delay.py received: order number → delivery time."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def received(self) -> dict[str, float]:
        found = {}
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                if not line.strip():
                    continue
                record = json.loads(line)
                match = NUMBER.search(record["subject"])
                if match:
                    found[match.group(0)] = record["at"]
        return found

    def wait_for(self, numbers: list[str], timeout: float) -> dict[str, float]:
        deadline = time.monotonic() + timeout
        while True:
            received = self.received()
            missing = [number for number in numbers if number not in received]
            if not missing:
                return {number: received[number] for number in numbers}
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"{len(missing)} of {len(numbers)} confirmation emails never "
                    f"reached the SMTP sink within {timeout:.0f} s "
                    f"(e.g. {missing[:3]})"
                )
            time.sleep(0.2)


def jobs_settled(numbers: list[str], timeout: float) -> int:
    """Wait until every email job of these orders has succeeded and no due
    job is left queued or running; fail on a failed email. Returns how many
    of those jobs took more than one attempt."""
    from django.utils import timezone

    from jobs.enums import JobStatus
    from jobs.models import JobRecord

    emails = JobRecord.objects.filter(type="email.send", order__number__in=numbers)

    def settled() -> bool:
        failed = emails.filter(status=JobStatus.FAILED).count()
        if failed:
            raise SystemExit(f"{failed} confirmation email jobs failed")
        done = emails.filter(status=JobStatus.SUCCEEDED).count()
        busy = JobRecord.objects.filter(
            status__in=[JobStatus.QUEUED, JobStatus.RUNNING], run_at__lte=timezone.now()
        ).exists()
        return done >= len(numbers) and not busy

    try:
        wait_until(settled, timeout=timeout, interval=0.2)
        return emails.filter(attempts__gt=1).count()
    except TimeoutError:
        done = emails.filter(status=JobStatus.SUCCEEDED).count()
        raise SystemExit(
            f"jobs not settled within {timeout:.0f} s: {done} of {len(numbers)} "
            "confirmation emails sent (or other due jobs still queued)"
        ) from None


@dataclass
class ArmRound:
    latencies: list[float]
    emails_during: int = 0  # delayed arm: confirmations the sink had by the end
    retried: int = 0  # email jobs that needed more than one attempt
    drain: float = 0.0  # seconds from the last answer to the last email


def figure_1(base: str, data: Data, args: Any) -> dict[str, Any]:
    port = free_port()
    sink_path = Path(tempfile.mkdtemp(prefix="bench-orders-")) / "sink.jsonl"
    sink_log = SinkLog(sink_path)
    delayed, off = f"SMTP sink, {args.delay:g} s a message", "email off (dummymail)"
    arms = {delayed: f"smtp://127.0.0.1:{port}", off: "dummymail://"}
    clients = list(zip(data.tokens[: args.clients], data.products, strict=True))
    drain_timeout = 60 + args.orders * args.delay / int(WORKER_SLOTS) * 3
    results: dict[str, list[ArmRound]] = {name: [] for name in arms}
    # The sink stands in for a mail server elsewhere: on the load generator's
    # core, like the other party outside the system under test.
    sink = start(
        [*SINK, "--port", str(port), "--delay", str(args.delay), "--log", sink_path],
        cpus="1",
    )
    # The relay's start-up jobs (cache warming) due at once, so the first
    # warm-up waits them out instead of a timed round meeting them.
    relay = start(RELAY, cpus=ALL_CPUS, JOB_STARTUP_DELAY="0")
    try:
        wait_until(lambda: _accepts(port), timeout=20, interval=0.1)
        # Warm-up of the whole stack, not timed: a few seconds of orders with
        # the email off, every job of them done before round 1.
        worker = start(
            [*WORKER, "-n", "bench-orders-warm@%h"],
            cpus=ALL_CPUS,
            EMAIL_URL="dummymail://",
            **WORKER_ENV,
        )
        try:
            warm = load(base, clients, seconds=3, numbers=True)
            jobs_settled(warm.numbers, drain_timeout)
        finally:
            stop(worker)
        for round_no in range(args.rounds):
            order = list(arms) if round_no % 2 == 0 else list(reversed(arms))
            for name in order:
                worker = start(
                    [*WORKER, "-n", f"bench-orders-{round_no}-{len(name)}@%h"],
                    cpus=ALL_CPUS,
                    EMAIL_URL=arms[name],
                    **WORKER_ENV,
                )
                try:
                    # Warm-up, also the worker's readiness check: one order a
                    # client, its email through this arm's destination.
                    warm = load(base, clients, count=len(clients), numbers=True)
                    if name == delayed:
                        sink_log.wait_for(warm.numbers, drain_timeout)
                    jobs_settled(warm.numbers, drain_timeout)
                    run = load(base, clients, count=args.orders, numbers=True)
                    arm_round = ArmRound(run.latencies)
                    if name == delayed:
                        delivered = sink_log.wait_for(run.numbers, drain_timeout)
                        arm_round.emails_during = sum(
                            at <= run.ended_at for at in delivered.values()
                        )
                        arm_round.drain = max(delivered.values()) - run.ended_at
                    arm_round.retried = jobs_settled(run.numbers, drain_timeout)
                finally:
                    stop(worker)
                results[name].append(arm_round)
                extra = (
                    f", {arm_round.emails_during} of {len(run.numbers)} emails "
                    f"delivered by the last answer, the rest {arm_round.drain:.1f} s "
                    "later"
                    if name == delayed
                    else ""
                )
                print(
                    f"  round {round_no + 1} {name}: p50 "
                    f"{percentile(run.latencies, 50):.1f} ms, p95 "
                    f"{percentile(run.latencies, 95):.1f} ms{extra}; "
                    f"{arm_round.retried} email jobs retried",
                    flush=True,
                )
            ratio = percentile(results[delayed][-1].latencies, 95) / percentile(
                results[off][-1].latencies, 95
            )
            print(f"  round {round_no + 1} p95 ratio: {ratio:.2f}", flush=True)
    finally:
        stop(relay)
        stop(sink)
        shutil.rmtree(sink_path.parent, ignore_errors=True)
    return {"arms": results, "delayed": delayed, "off": off}


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def figure_1_table(f1: dict[str, Any], args: Any) -> list[str]:
    delayed, off = f1["delayed"], f1["off"]
    arms: dict[str, list[ArmRound]] = f1["arms"]

    def every(name: str) -> list[float]:
        return [value for arm in arms[name] for value in arm.latencies]

    def per_round(name: str, q: float) -> list[float]:
        return [percentile(arm.latencies, q) for arm in arms[name]]

    ratios = [
        a / b for a, b in zip(per_round(delayed, 95), per_round(off, 95), strict=True)
    ]
    overall = percentile(every(delayed), 95) / percentile(every(off), 95)
    during = sum(arm.emails_during for arm in arms[delayed])
    sent = sum(len(arm.latencies) for arm in arms[delayed])
    retried = sum(arm.retried for name in arms for arm in arms[name])
    lines = [
        f"**1. Email never blocks a request.** {args.orders} orders per arm per "
        f"round from {args.clients} buyers at once (each its own product, "
        f"quantity 1), {args.rounds} rounds after a 3 s warm-up, arms alternated "
        "(order reversed every other round), each after one order a buyer that "
        "checks its worker is up. Same gunicorn and relay for both arms; per arm and "
        f"round a fresh Celery worker (threads pool, {WORKER_SLOTS} slots, "
        f"DB_POOL_MIN=DB_POOL_MAX={WORKER_ENV['DB_POOL_MAX']}: its connections "
        f"opened before the timed orders; nice {WORKER[2]}) whose "
        "EMAIL_URL is the only difference: a local aiosmtpd sink that holds every "
        f"message {args.delay:g} s (asyncio.sleep) or `dummymail://`. Every "
        f"confirmation of the delayed arm reached the sink ({sent} of {sent}, "
        "matched by order number) before the next arm started; "
        f"{during} of them while the requests were still running; "
        f"{retried} email jobs of either arm needed a retry.",
        "",
        "| arm | orders | p50 ms | p95 ms | p99 ms | p95 per round, median "
        "(min, max) ms |",
        "|---|---|---|---|---|---|",
    ]
    for name in (delayed, off):
        values = every(name)
        lines.append(
            f"| {name} | {len(values)} | {percentile(values, 50):.1f} | "
            f"{percentile(values, 95):.1f} | {percentile(values, 99):.1f} | "
            f"{spread(per_round(name, 95))} |"
        )
    lines.append(
        f"| **p95 ratio delayed ÷ off** | | | **{overall:.2f}** over all | | "
        f"**{spread(ratios)}** per round (goal ≤ 1.2) |"
    )
    lines.append("")
    lines.append(
        f"Per round (p95s of {args.orders} samples each, indicative; the "
        f"overall figures rest on {len(every(off))} per arm), p95 ratio: "
        + ", ".join(f"{ratio:.2f}" for ratio in ratios)
        + "; p50 delayed ÷ off: "
        + ", ".join(
            f"{a / b:.2f}"
            for a, b in zip(per_round(delayed, 50), per_round(off, 50), strict=True)
        )
        + "."
    )
    return lines


# --- figure 2: hot product --------------------------------------------------


def hot_state(product_id: int) -> tuple[int, int, int]:
    """Stock, units ordered, and orders holding the product."""
    from django.db.models import Count, Sum

    from catalog.models import Product
    from orders.models import OrderItem

    stock = Product.objects.values_list("stock", flat=True).get(pk=product_id)
    figures = OrderItem.objects.filter(product_id=product_id).aggregate(
        units=Sum("quantity"), orders=Count("order_id", distinct=True)
    )
    return stock, figures["units"] or 0, figures["orders"]


def hot_settled(product_id: int) -> tuple[int, int, int]:
    """``hot_state`` once the requests wrk's clock cut off have finished
    (answered after it stopped): the same figures twice, 0.3 s apart."""
    seen = [hot_state(product_id)]

    def still() -> bool:
        time.sleep(0.3)
        seen.append(hot_state(product_id))
        return seen[-1] == seen[-2]

    wait_until(still, timeout=30)
    return seen[-1]


class StockWatch:
    """Samples the hot product's stock every 0.2 s; keeps the lowest seen."""

    def __init__(self, product_id: int) -> None:
        self.product_id = product_id
        self.lowest: int | None = None
        self.samples = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        from django.db import connection

        from catalog.models import Product

        try:
            while not self.done.wait(0.2):
                stock = Product.objects.values_list("stock", flat=True).get(
                    pk=self.product_id
                )
                self.samples += 1
                self.lowest = stock if self.lowest is None else min(self.lowest, stock)
        finally:
            connection.close()

    def __enter__(self) -> "StockWatch":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()


# Figure 2's arms: the cores gunicorn (master and workers) may run on. The
# load generator stays on CPU 1 throughout; PostgreSQL and Redis unpinned.
ARMS = {"one core": {0}, "both cores": {0, 1}}


def hot_script(tokens: list[str], product_id: int) -> str:
    """A wrk Lua script: every request a new order of one unit of the
    product, the buyers' tokens in turn, a fresh Idempotency-Key each time.
    Returns the script's path (a temporary file; the caller removes it)."""
    prefix = uuid.uuid4().hex
    lines = [
        "local tokens = {" + ", ".join(json.dumps(t) for t in tokens) + "}",
        f"local body = {json.dumps(body_for(product_id).decode())}",
        "local n = 0",
        "request = function()",
        "  n = n + 1",
        "  return wrk.format('POST', '/api/orders', {",
        "    ['Authorization'] = 'Bearer ' .. tokens[n % #tokens + 1],",
        "    ['Content-Type'] = 'application/json',",
        f"    ['Idempotency-Key'] = '{prefix}-' .. n,",
        "  }, body)",
        "end",
    ]
    handle, path = tempfile.mkstemp(prefix="bench-orders-", suffix=".lua")
    with os.fdopen(handle, "w") as out:
        out.write("\n".join(lines) + "\n")
    return path


def hot_load(base: str, data: Data, args: Any, seconds: int) -> dict[str, float]:
    """wrk with --buyers connections on the hot product for ``seconds``."""
    script = hot_script(data.tokens[: args.buyers], data.hot)
    try:
        return wrk(
            base + "/api/orders",
            seconds=seconds,
            connections=args.buyers,
            script=script,
            # An answer queued behind 49 others on one core may take seconds.
            timeout=30,
        )
    finally:
        os.unlink(script)


def figure_2(base: str, data: Data, args: Any) -> dict[str, Any]:
    server = SERVERS[base].pid
    hot_load(base, data, args, seconds=2)  # warm-up, not counted
    rounds: dict[str, list[dict[str, Any]]] = {arm: [] for arm in ARMS}
    for round_no in range(args.rounds):
        order = list(ARMS) if round_no % 2 == 0 else list(reversed(ARMS))
        for arm in order:
            pin_tree(server, ARMS[arm])
            # After the requests the last run's clock cut off.
            stock0, units0, orders0 = hot_settled(data.hot)
            with StockWatch(data.hot) as watch:
                run = hot_load(base, data, args, seconds=args.seconds)
            stock1, units1, orders1 = hot_settled(data.hot)
            orders = orders1 - orders0
            checks = {
                "every answer 201": run["non_2xx"] == run["socket_errors"] == 0,
                "stock taken == units ordered": stock0 - stock1 == units1 - units0,
                "units ordered == orders (quantity 1)": units1 - units0 == orders,
                "orders == answers, give or take the requests cut off": run["requests"]
                <= orders
                <= run["requests"] + args.buyers,
                "stock never negative": stock1 >= 0 and (watch.lowest or 0) >= 0,
            }
            broken = [name for name, ok in checks.items() if not ok]
            if broken:
                raise SystemExit(
                    f"hot product round {round_no + 1} ({arm}): {', '.join(broken)} "
                    f"(stock {stock0} → {stock1}, units {units1 - units0}, orders "
                    f"{orders}, answers {run['requests']:.0f}, non-2xx "
                    f"{run['non_2xx']:.0f})"
                )
            generator = run["cpu_s"] / args.seconds
            rounds[arm].append(
                {
                    "run": run,
                    "orders": orders,
                    "stock": (stock0, stock1),
                    "gen": generator,
                }
            )
            print(
                f"  round {round_no + 1}, {arm}: {run['requests']:.0f} orders "
                f"answered = {run['rps']:.0f} orders/s, p50 {run['p50_ms']:.1f} ms, "
                f"p99 {run['p99_ms']:.1f} ms; load generator {generator:.0%} of "
                f"CPU 1; stock {stock0:,} → {stock1:,} (lowest seen "
                f"{watch.lowest:,}); no oversell",
                flush=True,
            )
    pin_tree(server, ARMS["one core"])
    return {"rounds": rounds}


def figure_2_table(f2: dict[str, Any], args: Any) -> list[str]:
    every = [r for arm in f2["rounds"].values() for r in arm]
    total = sum(r["orders"] for r in every)
    first = min(r["stock"][0] for r in every)
    last = min(r["stock"][1] for r in every)
    rows = []
    for arm, rounds in f2["rounds"].items():
        runs = [r["run"] for r in rounds]
        answered = sum(run["requests"] for run in runs)
        few = " (fewer than 500 samples: indicative)" if answered < 500 else ""
        goal = " (goal ≥ 100)" if arm == "both cores" else ""
        rows.append(
            f"| {arm} | **{spread([run['rps'] for run in runs])}**{goal} | "
            f"{answered:,.0f} | {spread([run['p50_ms'] for run in runs])} | "
            f"{spread([run['p99_ms'] for run in runs])}{few} "
            f"| {spread([100 * r['gen'] for r in rounds])} |"
        )
    return [
        f"**2. Hot product.** {args.buyers} buyers at once: wrk (C, pinned to "
        f"CPU 1) with {args.buyers} connections, each request a new order of "
        "one unit of one product with "
        f"{first:,} in stock, by the {args.buyers} buyers' tokens in turn, each "
        "with a fresh Idempotency-Key (bench/orders.py writes the Lua script); "
        f"{args.seconds} s per arm per round, {args.rounds} rounds after a 2 s "
        "warm-up, arms alternated (the running gunicorn's master and workers "
        "moved between cores with sched_setaffinity): *one core*, gunicorn "
        "confined to CPU 0 (what one core of web serving does); *both cores*, "
        "gunicorn free on CPUs 0-1, sharing CPU 1 with the load generator "
        "(wrk's own CPU use is in the last column). PostgreSQL and Redis "
        "unpinned in both. Celery worker and relay off: the orders' jobs "
        "(confirmation emails, notifications) stay in the outbox and are "
        "deleted at the end. A Python generator (a thread per buyer) was "
        "tried first: paired with wrk in one run it reached 0.8-0.9 of "
        "wrk's rate, as gunicorn's sync workers (the default then) wait for "
        "each client to close its connection (RFC 9112 graceful close) and "
        "50 threads under one GIL close late.",
        "",
        "| gunicorn on | **orders/s**, median (min, max) | orders answered | "
        "p50 ms, median (min, max) | p99 ms, median (min, max) | load "
        "generator, % of CPU 1, median (min, max) |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "Oversell: none. In every round of both arms every answer was 201, "
        "stock taken == units ordered == orders in the database (quantity "
        "1; orders exceed wrk's count of answers only by the requests its "
        "clock cut off, at most one per connection), and the stock, "
        f"sampled every 0.2 s, never went negative ({first:,} → {last:,}); "
        f"{total:,} orders in all.",
    ]


# --- main ------------------------------------------------------------------


def main() -> None:
    options = parser(__doc__)
    options.set_defaults(seconds=10)
    options.add_argument(
        "--orders", type=int, default=200, help="figure 1: orders per arm per round"
    )
    options.add_argument(
        "--clients", type=int, default=4, help="figure 1: buyers at once"
    )
    options.add_argument(
        "--delay", type=float, default=2.0, help="figure 1: SMTP sink delay, seconds"
    )
    options.add_argument(
        "--buyers", type=int, default=50, help="figure 2: buyers at once"
    )
    options.add_argument(
        "--stock", type=int, default=10_000_000, help="initial stock of each product"
    )
    options.add_argument("--figures", default="1,2", help="which figures to run")
    args = options.parse_args()
    figures = {int(part) for part in args.figures.split(",") if part.strip()}
    began = time.monotonic()

    setup_django(ENV)
    pinned = pin_self(1)
    print(pinned, flush=True)
    reset_data()
    data = create_data(args.buyers, args.clients, args.stock)
    sections = []
    try:
        with gunicorn(**ENV) as base:
            if 1 in figures:
                print("1. email never blocks a request", flush=True)
                sections.append(figure_1_table(figure_1(base, data, args), args))
            if 2 in figures:
                print("2. hot product", flush=True)
                sections.append(figure_2_table(figure_2(base, data, args), args))
    finally:
        reset_data()
    minutes = (time.monotonic() - began) / 60
    body = "\n".join(
        [
            f"{pinned}; gunicorn as the Procfile's web process (config/gunicorn.py, "
            f"{web_server.describe()}) pinned to CPU 0 (figure "
            "2 also on both cores, see there); "
            "the SMTP sink (a mail server elsewhere, in reality) on CPU 1 too, "
            "at nice 19; PostgreSQL, Redis, the Celery worker and the relay "
            "unpinned. Figure 1's latency is each request's wall time in the "
            "client, from "
            "before the connect to the last byte (a new connection per request, "
            f"as a first visit opens). Run time {minutes:.1f} min.",
            *["\n" + "\n".join(section) for section in sections],
        ]
    )
    print(body)
    if args.write:
        write_section("orders", body)


if __name__ == "__main__":
    main()
