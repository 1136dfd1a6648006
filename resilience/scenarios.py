"""One function per fault scenario, each returning a ``Result``.

A scenario puts the stack under a stated load, breaks one thing, repairs it,
then counts from the client's records, the database and the SMTP sink. The
verdict is the conjunction of its checks; every failed check is a reason.
The outage durations are the scenario (fixed sleeps); everything else waits
on a condition with a deadline.
"""

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from config import web_server
from resilience.harness import Stack, wait_for
from resilience.load import LoadClient

MIN_RPS = 20.0
MIN_OUTAGE_ORDERS = 100
RECOVERY_BOUND_S = 5.0


@dataclass
class Result:
    number: int
    title: str
    load: str = ""
    broken: str = ""
    counts: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)  # failed checks
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.reasons

    def check(self, ok: bool, reason: str) -> bool:
        if not ok:
            self.reasons.append(reason)
        return ok


class Probe:
    """Polls /ready in the background: when it answered what."""

    def __init__(self, stack: Stack, interval: float = 0.25) -> None:
        self.stack = stack
        self.interval = interval
        self.records: list[tuple[float, int, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            at = time.time()
            try:
                answer = requests.get(f"{self.stack.base_url}/ready", timeout=2)
                record = (at, answer.status_code, answer.text[:200])
            except requests.RequestException as exc:
                record = (at, 0, type(exc).__name__)
            self.records.append(record)
            self._stop.wait(self.interval)

    def __enter__(self) -> "Probe":
        self._thread.start()
        ACTIVE.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.join(5)

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def first(
        self, since: float, predicate: Callable[[int, str], bool]
    ) -> float | None:
        for at, status, text in self.records:
            if at >= since and predicate(status, text):
                return at
        return None


ACTIVE: list[LoadClient | Probe] = []


def _load(stack: Stack, **kwargs: Any) -> LoadClient:
    tokens = stack.login_tokens(10)
    load = LoadClient(stack.base_url, tokens, stack.product_ids(), **kwargs)
    ACTIVE.append(load)
    return load


def stop_background() -> None:
    """Stop the load and probes of a scenario that ended early (an exception),
    so they never run into the next one."""
    while ACTIVE:
        item = ACTIVE.pop()
        item.stop()
        item.join(30)


def _describe(load: LoadClient) -> str:
    return (
        f"{load.rate:g} req/s for {load.duration:g} s "
        f"({100 * load.order_share:.0f} % POST /api/orders with Idempotency-Key, "
        f"the rest catalog GETs), {load.threads} client threads, retries up to "
        f"{load.drain:g} s after"
    )


def _wait_orders(load: LoadClient, count: int, timeout: float = 30) -> None:
    """Warm-up: the load has placed ``count`` orders (the stack serves)."""
    wait_for(lambda: load.outcome()["placed"] >= count, timeout, what=f"{count} orders")


def _check_load_floor(
    result: Result, load: LoadClient, since: float, until: float
) -> None:
    window = load.summary(since, until)
    result.counts["outage_window"] = window
    result.check(
        window["requests_per_s"] >= MIN_RPS,
        f"load during the outage was {window['requests_per_s']} req/s (< {MIN_RPS:g})",
    )
    result.check(
        window["order_intents"] >= MIN_OUTAGE_ORDERS,
        f"only {window['order_intents']} orders attempted during the outage "
        f"(< {MIN_OUTAGE_ORDERS})",
    )


def _check_orders(
    result: Result,
    stack: Stack,
    load: LoadClient,
    since: float,
    excused: set[str] | None = None,
) -> None:
    """Nothing lost, nothing doubled: every intent has one order, every order
    one confirmation email job that succeeded and one message in the sink.
    ``excused``: Message-IDs in flight when a fault hit, which may arrive
    twice (at-least-once delivery, the same Message-ID)."""
    excused = excused or set()
    outcome = load.outcome()
    result.counts["orders"] = outcome
    result.check(outcome["lost"] == 0, f"{outcome['lost']} order intents never placed")
    result.check(
        outcome["refused"] == 0, f"{outcome['refused']} orders refused with a 4xx"
    )
    created = stack.sql(
        "SELECT count(*) FROM orders_order WHERE created_at >= to_timestamp(%s)",
        [since],
    )[0][0]
    result.counts["orders_in_database"] = created
    result.check(
        created == outcome["distinct_order_ids"],
        f"{created} orders in the database for {outcome['distinct_order_ids']} "
        "placed by the client (a duplicate or a ghost order)",
    )
    rows = stack.sql(
        "SELECT o.id, j.id, j.status, l.message_id FROM orders_order o "
        "LEFT JOIN jobs_jobrecord j ON j.order_id = o.id AND j.type = 'email.send' "
        "AND j.payload->>'template' = 'order_confirmation' "
        "LEFT JOIN jobs_emaillog l ON l.job_id = j.id "
        "WHERE o.created_at >= to_timestamp(%s)",
        [since],
    )
    sink = stack.sink.counts()
    jobs_per_order: dict[int, int] = {}
    not_succeeded = mails_missing = mails_doubled = mails_excused = 0
    for order_id, job_id, status, message_id in rows:
        jobs_per_order[order_id] = jobs_per_order.get(order_id, 0) + (
            1 if job_id else 0
        )
        if job_id and status != "succeeded":
            not_succeeded += 1
        seen = sink.get(message_id or "", 0)
        if seen == 0:
            mails_missing += 1
        elif seen > 2 or (seen == 2 and message_id not in excused):
            mails_doubled += 1
        elif seen == 2:
            mails_excused += 1
    wrong_jobs = sum(1 for n in jobs_per_order.values() if n != 1)
    result.counts["confirmation_emails"] = {
        "orders": len(jobs_per_order),
        "orders_without_exactly_one_job": wrong_jobs,
        "jobs_not_succeeded": not_succeeded,
        "missing_in_sink": mails_missing,
        "duplicated_in_sink": mails_doubled,
        "duplicated_in_flight_at_fault": mails_excused,
    }
    result.check(wrong_jobs == 0, f"{wrong_jobs} orders without exactly one email job")
    result.check(not_succeeded == 0, f"{not_succeeded} confirmation jobs not succeeded")
    result.check(
        mails_missing == 0, f"{mails_missing} confirmation emails never arrived"
    )
    result.check(
        mails_doubled == 0,
        f"{mails_doubled} confirmation emails arrived twice without being in "
        "flight at the fault",
    )


def _check_jobs(result: Result, stack: Stack, since: float, timeout: float) -> None:
    """Every job created since ``since`` ends succeeded, and no Message-ID
    reached the sink twice."""
    settled = stack.wait_jobs_settled(since, timeout)
    statuses = stack.job_status_counts(since)
    result.counts["jobs"] = statuses
    result.check(settled, f"jobs still queued or running {timeout:g} s after repair")
    bad = stack.sql(
        "SELECT type, status, attempts, left(error, 160) FROM jobs_jobrecord "
        "WHERE created_at >= to_timestamp(%s) AND status <> 'succeeded' "
        "AND run_at <= now() + interval '5 seconds' LIMIT 10",
        [since],
    )
    for job_type, status, attempts, error in bad:
        result.reasons.append(
            f"job {job_type} ended {status} after {attempts} attempts: {error}"
        )
    retried = stack.sql(
        "SELECT type, count(*) FROM jobs_jobrecord WHERE created_at >= "
        "to_timestamp(%s) AND attempts > 1 GROUP BY type",
        [since],
    )
    if retried:
        result.notes.append(
            "jobs that needed more than one attempt (allowed; each still succeeded "
            f"once): {dict(retried)}"
        )


def _check_processes(result: Result, stack: Stack, pids: dict[str, int]) -> None:
    """No process died of the fault and stayed dead. One the Procfile runs
    under scripts/respawn.py may have been started again by it (the harness
    does the same): that is counted and noted, not a failure."""
    dead = stack.exits()
    respawned = {
        name: proc.respawns for name, proc in stack.procs.items() if proc.respawns
    }
    replaced = {
        n
        for n, pid in stack.pids().items()
        if pids.get(n) not in (None, pid) and n not in respawned
    }
    result.counts["processes_died"] = dead
    result.counts["respawned"] = {name: len(why) for name, why in respawned.items()}
    for name, why in dead.items():
        result.reasons.append(f"{name} exited and needs a restart: {why}")
    for name, why in respawned.items():
        result.notes.append(
            f"{name} died and was respawned (as the Procfile's "
            f"scripts/respawn.py does): {why}"
        )
    result.check(not replaced, f"processes replaced: {sorted(replaced)}")


def _in_flight(stack: Stack) -> set[str]:
    """Message-IDs of email jobs running right now (a fault may double them)."""
    rows = stack.sql(
        "SELECT l.message_id FROM jobs_emaillog l JOIN jobs_jobrecord j "
        "ON j.id = l.job_id WHERE j.status = 'running'"
    )
    return {row[0] for row in rows}


def _ensure_stack(stack: Stack) -> None:
    """Start any process a previous scenario left dead; wait until ready.
    Respawns counted from here on are this scenario's."""
    for proc in stack.procs.values():
        proc.respawns.clear()
    if not stack.pg_running:
        stack.pg_start()
    if stack.redis is None:
        stack.redis_start()
    for name in stack.procs:
        stack.start_proc(name)
    stack.wait_ready()


# --- 3 ----------------------------------------------------------------------------
def scenario_postgres_down(stack: Stack, outage: float = 10.0) -> Result:
    """PostgreSQL stopped for ``outage`` s: /ready 503, the API 503 JSON, no
    restart needed, back within 5 s of PostgreSQL."""
    result = Result(3, f"PostgreSQL stopped for {outage:g} s")
    started = time.time()
    _ensure_stack(stack)
    pids = stack.pids()
    load = _load(stack, rate=25, order_share=0.44, duration=outage + 25, drain=45)
    result.load = _describe(load)
    since = time.time()
    with Probe(stack) as probe:
        load.start()
        _wait_orders(load, 30)
        excused = _in_flight(stack)
        t_down = time.time()
        stack.pg_stop("fast")
        t_stopped = time.time()
        time.sleep(outage)  # the outage itself
        stack.pg_start()
        t_back = time.time()
        result.broken = (
            f"`pg_ctl stop -m fast` (every session ended), restarted {outage:g} s "
            f"later (down {t_back - t_down:.1f} s in all)"
        )
        # Recorded, not required here: the checks below judge the time.
        with contextlib.suppress(TimeoutError):
            wait_for(
                lambda: probe.first(t_back, lambda status, _: status == 200),
                60,
                what="/ready 200 after PostgreSQL returned",
            )
        load.join()
    _check_load_floor(result, load, t_stopped, t_back)

    # /ready during the outage (1 s in: sessions already gone).
    ready_down = [r for r in probe.records if t_stopped + 1 <= r[0] < t_back]
    ready_503 = [r for r in ready_down if r[1] == 503]
    result.counts["ready_during_outage"] = {
        "probes": len(ready_down),
        "503": len(ready_503),
        "other": sorted({r[1] for r in ready_down if r[1] != 503}),
    }
    result.check(
        bool(ready_down) and len(ready_503) == len(ready_down),
        "/ready did not answer 503 throughout the outage: "
        f"{result.counts['ready_during_outage']}",
    )
    # Every failed API answer during the outage is a JSON 503 service_unavailable.
    window = load.window(t_down, t_back + 1)
    failed = [s for s in window if s.status >= 400 or s.status == 0]
    proper = [
        s
        for s in failed
        if s.status == 503 and s.is_json and s.code == "service_unavailable"
    ]
    improper: dict[str, int] = {}
    for s in failed:
        if s not in proper:
            label = (
                f"{s.kind} {s.status} {s.code or ('json' if s.is_json else 'not json')}"
            )
            improper[label] = improper.get(label, 0) + 1
    result.counts["api_during_outage"] = {
        "answers": len(window),
        "503_service_unavailable": len(proper),
        "other_failures": improper,
        "ok": len(window) - len(failed),
    }
    result.check(bool(proper), "no 503 service_unavailable seen during the outage")
    result.check(
        not improper, f"failures other than a JSON 503 during the outage: {improper}"
    )
    # Recovery, measured from PostgreSQL accepting connections again.
    ready_at = probe.first(t_back, lambda status, _: status == 200)
    first_order = min(
        (
            s.at + s.latency
            for s in load.window(t_back, time.time())
            if s.kind == "order" and s.status == 201
        ),
        default=None,
    )
    recovery = {
        "ready_200_after_s": round(ready_at - t_back, 2) if ready_at else None,
        "first_order_201_after_s": round(first_order - t_back, 2)
        if first_order
        else None,
    }
    result.counts["recovery"] = recovery
    for label, value in recovery.items():
        result.check(
            value is not None and value <= RECOVERY_BOUND_S,
            f"{label} = {value} (bound {RECOVERY_BOUND_S:g} s)",
        )
    after = stack.pids()
    result.counts["process_restarts"] = {
        name: pid for name, pid in after.items() if pids.get(name) != pid
    }
    result.check(
        after == pids, f"processes died or were replaced: before {pids}, after {after}"
    )
    result.counts["load_total"] = load.summary()
    if not result.passed:
        workers = int(stack.env["WEB_CONCURRENCY"])
        threads = int(stack.env.get("GUNICORN_THREADS") or web_server.THREADS)
        wait = float(stack.env.get("DB_POOL_TIMEOUT") or 2)
        result.notes.append(
            "capacity while PostgreSQL is down: a request that needs the database "
            f"waits DB_POOL_TIMEOUT ({wait:g} s) in psycopg_pool's getconn before "
            f"its 503 (stack dumps of the web workers show them there, e.g. under "
            "orders/services/idempotency.py _insert_claim), and gunicorn has "
            f"{workers} processes x {threads} threads, so at most "
            f"{workers * threads / wait:.1f} such requests/s "
            "are answered; the rest queue in the accept backlog (catalog requests "
            "that Redis could answer included) until clients time out, and the "
            "backlog delays recovery after PostgreSQL returns"
        )
    _check_jobs(result, stack, since, timeout=60)
    _check_orders(result, stack, load, since, excused)
    result.seconds = time.time() - started
    return result


# --- 4 ----------------------------------------------------------------------------
def scenario_redis_flushall(stack: Stack) -> Result:
    """FLUSHALL while jobs wait in the broker: every job still runs, once."""
    result = Result(4, "Redis FLUSHALL with jobs queued")
    started = time.time()
    _ensure_stack(stack)
    load = _load(stack, rate=25, order_share=0.45, duration=45, drain=60)
    result.load = _describe(load)
    since = time.time()
    load.start()
    _wait_orders(load, 10)
    pids = stack.pids()
    # Workers down, so the orders' confirmation emails pile up in the broker.
    stack.stop_proc("worker")
    stack.stop_proc("worker_critical")
    t_workers_down = time.time()

    def queued_published() -> int:
        return stack.sql(
            "SELECT count(*) FROM jobs_jobrecord WHERE status = 'queued' "
            "AND published_at IS NOT NULL AND created_at >= to_timestamp(%s)",
            [since],
        )[0][0]

    wait_for(
        lambda: queued_published() >= 100, 40, what="100 jobs waiting in the broker"
    )
    in_broker = {
        queue: int(stack.redis_cli("-n", "0", "LLEN", queue) or 0)
        for queue in ("critical", "high", "medium", "low", "batch")
    }
    waiting = queued_published()
    t_flush = time.time()
    stack.redis_cli("FLUSHALL")
    after_flush = int(stack.redis_cli("-n", "0", "DBSIZE") or 0)
    result.broken = (
        f"both workers stopped; once {waiting} published jobs waited in the broker "
        f"(queue lengths {in_broker}), `FLUSHALL` (broker db keys left: "
        f"{after_flush}); workers started again at once"
    )
    stack.start_proc("worker")
    stack.start_proc("worker_critical")
    load.join()
    _check_processes(
        result,
        stack,
        {n: p for n, p in pids.items() if n not in ("worker", "worker_critical")},
    )
    _check_load_floor(result, load, t_workers_down, time.time())
    result.counts["load_total"] = load.summary()
    summary = result.counts["load_total"]
    result.check(summary["5xx"] == 0, f"{summary['5xx']} 5xx answers")
    _check_jobs(result, stack, since, timeout=90)
    _check_orders(result, stack, load, since)
    recovered = stack.sql(
        "SELECT max(finished_at) FROM jobs_jobrecord "
        "WHERE created_at >= to_timestamp(%s)",
        [since],
    )[0][0]
    if recovered:
        result.counts["last_job_finished_after_flush_s"] = round(
            recovered.timestamp() - t_flush, 1
        )
    result.seconds = time.time() - started
    return result


# --- 1 ----------------------------------------------------------------------------
def scenario_redis_down(stack: Stack, outage: float = 20.0) -> Result:
    """Redis killed for ``outage`` s under mixed load: the API keeps serving,
    and once Redis is back every order gets one email and every job runs once."""
    result = Result(1, f"Redis killed for {outage:g} s during mixed load")
    started = time.time()
    _ensure_stack(stack)
    load = _load(stack, rate=30, order_share=0.3, duration=outage + 20, drain=60)
    result.load = _describe(load)
    since = time.time()
    load.start()
    _wait_orders(load, 20)
    t_down = time.time()
    pids = stack.pids()
    stack.redis_kill()
    time.sleep(outage)  # the outage itself
    stack.redis_start()
    t_back = time.time()
    result.broken = (
        f"redis-server SIGKILLed (no persistence: queued messages, cache, "
        f"sessions' cache and rate limits all lost), an empty one started on "
        f"the same port {t_back - t_down:.1f} s later"
    )
    load.join()
    _check_processes(result, stack, pids)
    _check_load_floor(result, load, t_down, t_back)
    summary = load.summary()
    result.counts["load_total"] = summary
    for kind in ("catalog", "order"):
        rate = summary[f"{kind}_error_rate_pct"]
        result.check(rate < 0.1, f"{kind} error rate {rate} % (bound 0.1 %)")
    result.check(summary["5xx"] == 0, f"{summary['5xx']} 5xx answers")
    result.check(
        summary["5xx_not_json"] == 0, f"{summary['5xx_not_json']} 5xx HTML pages"
    )
    _check_jobs(result, stack, since, timeout=90)
    _check_orders(result, stack, load, since)
    # Evidence the outage mattered: jobs committed while Redis was down could
    # only be published after it returned (or re-published by the sweep).
    held = stack.sql(
        "SELECT count(*), count(*) FILTER (WHERE started_at >= to_timestamp(%s)) "
        "FROM jobs_jobrecord WHERE created_at BETWEEN to_timestamp(%s) "
        "AND to_timestamp(%s)",
        [t_back, t_down, t_back],
    )[0]
    result.counts["jobs_committed_during_outage"] = {
        "jobs": held[0],
        "started_after_redis_returned": held[1],
    }
    result.seconds = time.time() - started
    return result


# --- 2 ----------------------------------------------------------------------------
BULK_ENQUEUE = """
from django.db import transaction
import jobs
from jobs.mail import email_payload
with transaction.atomic():
    ids = [
        str(jobs.enqueue("email.send", email_payload(
            to=f"bulk{n}@resilience.test", template="welcome",
            context={"user_name": f"Bulk {n}", "site_name": "Bazaar"}, secret=None,
        ), dedupe_key=f"resilience-bulk:%(tag)s:{n}").pk)
        for n in range(%(count)d)
    ]
print(json.dumps(ids))
"""


def scenario_worker_killed(stack: Stack, count: int = 1000) -> Result:
    """A worker SIGKILLed mid-way through ``count`` email jobs, first one pool
    child, then the main process: every job succeeds once; a duplicate email
    only for a message in flight at a kill, at most one per killed slot."""
    result = Result(2, f"Worker SIGKILLed during {count} email jobs")
    started = time.time()
    _ensure_stack(stack)
    # duration is a bound: the load winds down 15 s after the second kill.
    load = _load(stack, rate=22, order_share=0.3, duration=150, drain=60)
    result.load = (
        _describe(load).replace("for 150 s", "until 15 s after the second kill")
        + f"; plus {count} email.send jobs enqueued at once"
    )
    since = time.time()
    slots = int(stack.env["WORKER_CONCURRENCY"])
    with stack.mail_delay(0.05):
        load.start()
        _wait_orders(load, 10)
        code = "import json\n" + BULK_ENQUEUE % {"tag": int(since), "count": count}
        job_ids: list[str] = json.loads(stack.python(code).strip().splitlines()[-1])

        def succeeded() -> int:
            return stack.sql(
                "SELECT count(*) FROM jobs_jobrecord WHERE id::text = ANY(%s) "
                "AND status = 'succeeded'",
                [job_ids],
            )[0][0]

        wait_for(lambda: succeeded() >= count * 0.25, 90, what="a quarter done")
        children = stack.procs["worker"].children()
        victim = children[0]
        # In flight: running just before the kill, or still marked running
        # just after it (the killed slot's job keeps its lease).
        flight_child = _in_flight(stack)
        os.kill(victim, signal.SIGKILL)
        t_child = time.time()
        flight_child |= _in_flight(stack)
        done_child = succeeded()
        wait_for(lambda: succeeded() >= count * 0.55, 120, what="over half done")
        flight_main = _in_flight(stack)
        main_pid = stack.kill_main("worker")
        t_main = time.time()
        flight_main |= _in_flight(stack)
        done_main = succeeded()
        stack.reap_group("worker")
        stack.start_proc("worker")
        wait_for(lambda: time.time() >= t_main + 15, 30, what="15 s after the kill")
        load.wind_down()
        result.broken = (
            f"general worker ({slots} pool slots, SMTP answering after 50 ms): pool "
            f"child {victim} SIGKILLed at {done_child}/{count} succeeded; then the "
            f"main process {main_pid} SIGKILLed at {done_main}/{count} (its orphaned "
            "children left to exit, then the worker started again); "
            f"JOB_LEASE_SECONDS={stack.env['JOB_LEASE_SECONDS']}"
        )
        settled = stack.wait_jobs_settled(since, 150)
        load.join()
    _check_load_floor(result, load, t_child, t_main + 15)
    result.counts["load_total"] = load.summary()
    rows = stack.sql(
        "SELECT j.status, j.attempts, l.message_id FROM jobs_jobrecord j "
        "LEFT JOIN jobs_emaillog l ON l.job_id = j.id WHERE j.id::text = ANY(%s)",
        [job_ids],
    )
    sink = stack.sink.counts()
    ok = sum(1 for status, _, _ in rows if status == "succeeded")
    missing = [mid for _, _, mid in rows if sink.get(mid, 0) == 0]
    doubled = {mid: sink[mid] for _, _, mid in rows if sink.get(mid, 0) > 1}
    killed_slots = 1 + slots
    excused = flight_child | flight_main
    result.counts["bulk"] = {
        "jobs": len(rows),
        "succeeded": ok,
        "attempts>1": sum(1 for _, attempts, _ in rows if attempts > 1),
        "emails_missing": len(missing),
        "emails_duplicated": len(doubled),
        "killed_slots": killed_slots,
        "in_flight_at_kills": len(excused),
    }
    result.check(settled, "jobs still queued or running 150 s after the kills")
    result.check(ok == count, f"{count - ok} of {count} jobs did not succeed")
    result.check(not missing, f"{len(missing)} emails never reached the sink")
    result.check(
        len(doubled) <= killed_slots,
        f"{len(doubled)} duplicated emails for {killed_slots} killed slots",
    )
    result.check(
        all(n == 2 for n in doubled.values()), f"an email arrived 3+ times: {doubled}"
    )
    result.check(
        set(doubled) <= excused,
        f"duplicates of messages not in flight at a kill: {set(doubled) - excused}",
    )
    _check_jobs(result, stack, since, timeout=30)
    _check_orders(result, stack, load, since, excused)
    result.seconds = time.time() - started
    return result


SCENARIOS: dict[int, Callable[[Stack], Result]] = {
    1: scenario_redis_down,
    2: scenario_worker_killed,
    3: scenario_postgres_down,
    4: scenario_redis_flushall,
}
