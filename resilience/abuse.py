"""Abuse scenarios of the resilience suite (issue 10: 8, 9 and 11).

8. Concurrency: many buyers race for a small stock, and many copies of one
   order race under one Idempotency-Key, while the harness's load runs.
9. Brute force: wrong passwords for one account from many client addresses,
   with Redis up, killed while a lock holds, and down from the start.
11. Two beat processes side by side: each periodic slot runs once.

Each function takes a started ``Stack`` and returns a ``scenarios.Result``;
``python -m resilience.run --only 8,9,11`` runs them on a fresh stack.
"""

import http.client
import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from resilience.harness import PASSWORD, Proc, Stack, wait_for
from resilience.load import LoadClient
from resilience.scenarios import (
    ACTIVE,
    MIN_RPS,
    Result,
    _describe,
    _ensure_stack,
    _wait_orders,
)

ADDRESS = {
    "name": "Resilience Test",
    "line1": "1 Loopback Road",
    "city": "Localhost",
    "postal_code": "12345",
    "country": "US",
}


# --- helpers -----------------------------------------------------------------------
def create_users(stack: Stack, prefix: str, count: int) -> list[str]:
    """``count`` active users ``<prefix><n>@resilience.local`` with the demo
    password, hashed once (Argon2 per user would cost seconds)."""
    emails = [f"{prefix}{n}@resilience.local" for n in range(1, count + 1)]
    stack.python(
        "from django.contrib.auth.hashers import make_password\n"
        "from accounts.models import User\n"
        f"h = make_password({PASSWORD!r})\n"
        f"emails = {emails!r}\n"
        "User.objects.bulk_create([User(email=e, password=h, "
        "is_active=True) for e in emails], ignore_conflicts=True)\n"
    )
    return emails


def login(stack: Stack, email: str, password: str = PASSWORD) -> str:
    answer = requests.post(
        f"{stack.base_url}/api/auth/login",
        json={"email": email, "password": password},
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["access"])


@dataclass
class Answer:
    at: float
    status: int  # 0: no HTTP answer
    code: str = ""
    order_id: int | None = None
    replayed: bool = False
    retry_after: str = ""
    source: str = ""


def post_order(
    stack: Stack, token: str, key: str, body: dict[str, Any], timeout: float = 30
) -> Answer:
    at = time.time()
    try:
        answer = requests.post(
            f"{stack.base_url}/api/orders",
            json=body,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
            timeout=timeout,
        )
    except requests.RequestException:
        return Answer(at, 0)
    try:
        data = answer.json()
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    return Answer(
        at,
        answer.status_code,
        code=str(data.get("code", "")) if answer.status_code >= 400 else "",
        order_id=data.get("id") if answer.status_code == 201 else None,
        replayed=answer.headers.get("Idempotent-Replayed", "").lower() == "true",
    )


def in_parallel(calls: list[Callable[[], Answer]]) -> list[Answer]:
    """Run every call in its own thread, released together by a barrier so
    they really race."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Answer]) -> Answer:
        barrier.wait(timeout=60)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def tally(answers: list[Answer]) -> dict[str, int]:
    counts = Counter(f"{a.status}{' ' + a.code if a.code else ''}" for a in answers)
    return dict(sorted(counts.items()))


# --- 8 -------------------------------------------------------------------------------
def scenario_oversell(
    stack: Stack, stock: int = 40, buyers: int = 100, racers: int = 50
) -> Result:
    """Scenario 8; the raced product gets its plenty of stock back afterwards,
    as the load of later scenarios orders it too."""
    try:
        return _oversell(stack, stock, buyers, racers)
    finally:
        if stack.pg_running:
            stack.sql(
                "UPDATE catalog_product SET stock = 1000000 WHERE id = %s",
                [stack.product_ids()[-1]],
            )


def _oversell(stack: Stack, stock: int, buyers: int, racers: int) -> Result:
    """``buyers`` users each order 1 of a product with ``stock`` left, all at
    once, under load: exactly ``stock`` win. Then ``racers`` copies of one
    order under one Idempotency-Key: one order, replays, never a second."""
    result = Result(8, "Concurrency: oversell and idempotency under load")
    started = time.time()
    _ensure_stack(stack)
    product = stack.product_ids()[-1]
    stack.sql("UPDATE catalog_product SET stock = %s WHERE id = %s", [stock, product])
    emails = create_users(stack, "buyer", buyers)
    tokens = [login(stack, email) for email in emails]
    others = [pid for pid in stack.product_ids() if pid != product]
    load = LoadClient(
        stack.base_url,
        stack.login_tokens(10),
        others,
        rate=25,
        order_share=0.4,
        duration=45,
        drain=45,
    )
    ACTIVE.append(load)
    result.load = (
        f"{_describe(load)}; on top: {buyers} buyers (distinct users) racing for "
        f"a product with stock {stock}, then {racers} copies of one order"
    )
    result.broken = (
        "nothing: contention. One product's stock set to "
        f"{stock}, {buyers} concurrent POST /api/orders of quantity 1 released "
        "by a barrier; then one Idempotency-Key sent concurrently"
    )
    since = time.time()
    load.start()
    _wait_orders(load, 10)

    # Oversell: every buyer its own key, one try (a transport error or 5xx is
    # retried with the same key, as a client would; every attempt is kept).
    attempts: list[Answer] = []

    def buy(token: str) -> Callable[[], Answer]:
        key = str(uuid.uuid4())
        body = {
            "items": [{"product_id": product, "quantity": 1}],
            "shipping_address": ADDRESS,
        }

        def call() -> Answer:
            answer = post_order(stack, token, key, body)
            attempts.append(answer)
            for _ in range(5):
                retry = answer.status == 0 or answer.status >= 500
                retry |= answer.code == "idempotency_request_in_progress"
                if not retry:
                    break
                time.sleep(1)  # a client's backoff
                answer = post_order(stack, token, key, body)
                attempts.append(answer)
            return answer

        return call

    # The stock as the database sees it while the burst runs: never below 0.
    lowest: list[int] = []
    burst_over = threading.Event()

    def watch_stock() -> None:
        while not burst_over.is_set():
            lowest.append(
                stack.sql("SELECT stock FROM catalog_product WHERE id = %s", [product])[
                    0
                ][0]
            )
            burst_over.wait(0.05)

    watcher = threading.Thread(target=watch_stock, daemon=True)
    watcher.start()
    t_burst = time.time()
    try:
        answers = in_parallel([buy(token) for token in tokens])
    finally:
        burst_over.set()
        watcher.join(10)
    t_burst_end = time.time()
    won = [a for a in answers if a.status == 201]
    refused = [a for a in answers if a.status == 409 and a.code == "insufficient_stock"]
    left = stack.sql("SELECT stock FROM catalog_product WHERE id = %s", [product])[0][0]
    # Orders of this product since the burst began (earlier scenarios' load
    # may have bought it before; this scenario's load buys only the others).
    db_orders, db_units = stack.sql(
        "SELECT count(DISTINCT o.id), coalesce(sum(i.quantity), 0) FROM "
        "orders_order o JOIN orders_orderitem i ON i.order_id = o.id "
        "WHERE i.product_id = %s AND o.created_at >= to_timestamp(%s)",
        [product, t_burst],
    )[0]
    result.counts["oversell"] = {
        "stock_before": stock,
        "buyers": buyers,
        "burst_seconds": round(t_burst_end - t_burst, 1),
        "attempts_with_retries": tally(attempts),
        "stock_samples_during_burst": len(lowest),
        "lowest_stock_seen": min(lowest, default=None),
        "answers": tally(answers),
        "created_201": len(won),
        "refused_409_insufficient_stock": len(refused),
        "distinct_order_ids": len({a.order_id for a in won}),
        "stock_after": left,
        "orders_in_database": db_orders,
        "units_in_database": int(db_units),
    }
    result.check(len(won) == stock, f"{len(won)} buyers got a 201 for stock {stock}")
    result.check(
        len(refused) == buyers - stock,
        f"{len(refused)} 409 insufficient_stock, expected {buyers - stock}: "
        f"{tally(answers)}",
    )
    result.check(left == 0, f"stock ended at {left}, not 0")
    result.check(
        min(lowest, default=0) >= 0, f"stock seen at {min(lowest)} during the burst"
    )
    result.check(
        db_orders == stock and db_units == stock,
        f"{db_orders} orders / {db_units} units in the database for stock {stock}",
    )

    # Idempotency: one key, one body, ``racers`` copies at once.
    token = tokens[0]
    key = f"race-{uuid.uuid4()}"
    other = [p for p in others if p != product][:2]
    body = {
        "items": [{"product_id": other[0], "quantity": 1}],
        "shipping_address": ADDRESS,
    }
    t_race = time.time()
    race = in_parallel([lambda: post_order(stack, token, key, body)] * racers)
    final = post_order(stack, token, key, body)  # after every racer answered
    ids = {a.order_id for a in [*race, final] if a.status == 201}
    originals = [a for a in race if a.status == 201 and not a.replayed]
    unexpected = [
        a
        for a in race
        if not (
            a.status == 201
            or (a.status == 409 and a.code == "idempotency_request_in_progress")
        )
    ]
    changed = dict(body, items=[{"product_id": other[1], "quantity": 1}])
    reused = post_order(stack, token, key, changed)
    key_orders = stack.sql(
        "SELECT count(*) FROM orders_idempotencykey WHERE key = %s", [key]
    )[0][0]
    user_orders = stack.sql(
        "SELECT count(*) FROM orders_order o JOIN accounts_user u ON u.id = o.user_id "
        "WHERE u.email = %s AND o.created_at >= to_timestamp(%s)",
        [emails[0], t_race],
    )[0][0]

    # Same key, two bodies racing: one order; the loser's body gets 422 or 409.
    key2 = f"race2-{uuid.uuid4()}"
    mixed = in_parallel(
        [lambda: post_order(stack, token, key2, body)] * (racers // 2)
        + [lambda: post_order(stack, token, key2, changed)] * (racers // 2)
    )
    mixed_ids = {a.order_id for a in mixed if a.status == 201}
    mixed_bad = [
        a
        for a in mixed
        if a.status != 201
        and a.code not in ("idempotency_request_in_progress", "idempotency_key_reused")
    ]
    user_orders_after = stack.sql(
        "SELECT count(*) FROM orders_order o JOIN accounts_user u ON u.id = o.user_id "
        "WHERE u.email = %s AND o.created_at >= to_timestamp(%s)",
        [emails[0], t_race],
    )[0][0]
    result.counts["idempotency"] = {
        "same_key_same_body_racers": racers,
        "answers": tally(race),
        "distinct_order_ids": len(ids),
        "first_201_without_replay_header": len(originals),
        "replayed_201": sum(1 for a in race if a.status == 201 and a.replayed),
        "after_all": f"{final.status} replayed={final.replayed}",
        "same_key_other_body": f"{reused.status} {reused.code}",
        "orders_in_database": user_orders,
        "key_rows": key_orders,
        "same_key_two_bodies_racers": len(mixed),
        "two_bodies_answers": tally(mixed),
        "two_bodies_distinct_order_ids": len(mixed_ids),
        "orders_in_database_after_two_bodies": user_orders_after,
    }
    result.check(len(ids) == 1, f"{len(ids)} distinct order ids under one key")
    result.check(user_orders == 1, f"{user_orders} orders created under one key")
    result.check(
        len(originals) <= 1, f"{len(originals)} 201s without Idempotent-Replayed"
    )
    result.check(not unexpected, f"unexpected answers to the race: {tally(unexpected)}")
    result.check(
        final.status == 201 and final.replayed and final.order_id in ids,
        f"the replay after the race answered {final.status} "
        f"(replayed={final.replayed}, id {final.order_id})",
    )
    result.check(
        reused.status == 422 and reused.code == "idempotency_key_reused",
        f"same key with another body answered {reused.status} {reused.code}",
    )
    result.check(
        len(mixed_ids) == 1 and user_orders_after == 2,
        f"two bodies under one key: {len(mixed_ids)} order ids, "
        f"{user_orders_after - user_orders} orders created",
    )
    result.check(not mixed_bad, f"two bodies under one key: {tally(mixed_bad)}")
    race_end = time.time()

    load.join()
    ACTIVE.remove(load)
    window = load.summary(t_burst, max(race_end, t_burst + 5))
    result.counts["load_during_bursts"] = window
    result.counts["load_total"] = load.summary()
    result.counts["load_orders"] = load.outcome()
    result.check(
        window["requests_per_s"] >= MIN_RPS,
        f"background load during the bursts was {window['requests_per_s']} req/s",
    )
    fivexx = [a for a in attempts + race + mixed if a.status >= 500 or a.status == 0]
    result.check(not fivexx, f"{len(fivexx)} 5xx or unanswered in the bursts")
    result.check(load.summary()["5xx"] == 0, f"{load.summary()['5xx']} 5xx in the load")
    result.counts["seconds_since_start"] = round(time.time() - since, 1)
    result.seconds = time.time() - started
    return result


# --- 9 -------------------------------------------------------------------------------
def _login_from(
    stack: Stack, email: str, password: str, source: str, forged: str = ""
) -> Answer:
    """POST login from loopback address ``source`` (any 127.x.y.z is ours on
    Linux), so REMOTE_ADDR differs per attempt. ``forged`` goes in
    X-Forwarded-For, which the app must ignore."""
    at = time.time()
    conn = http.client.HTTPConnection(
        "127.0.0.1", stack.web_port, timeout=30, source_address=(source, 0)
    )
    headers = {"Content-Type": "application/json"}
    if forged:
        headers["X-Forwarded-For"] = forged
    try:
        conn.request(
            "POST",
            "/api/auth/login",
            body=json.dumps({"email": email, "password": password}),
            headers=headers,
        )
        answer = conn.getresponse()
        raw = answer.read()
        status = answer.status
        retry_after = answer.getheader("Retry-After") or ""
    except OSError:
        return Answer(at, 0, source=source)
    finally:
        conn.close()
    try:
        data = json.loads(raw)
    except ValueError:
        data = {}
    code = str(data.get("code", "")) if isinstance(data, dict) else ""
    return Answer(at, status, code=code, retry_after=retry_after, source=source)


def _addresses(block: int, count: int) -> list[str]:
    return [f"127.{block}.{n // 250}.{n % 250 + 1}" for n in range(count)]


def _hammer(stack: Stack, email: str, block: int, count: int) -> list[Answer]:
    """``count`` wrong passwords, one after another, each from its own address."""
    return [
        _login_from(stack, email, f"wrong-{n}", source, forged=f"10.9.{block}.{n}")
        for n, source in enumerate(_addresses(block, count))
    ]


def _lock_profile(answers: list[Answer], threshold: int) -> dict[str, Any]:
    statuses = [a.status for a in answers]
    first_429 = next((n for n, s in enumerate(statuses) if s == 429), None)
    return {
        "attempts": len(answers),
        "answers": tally(answers),
        "first_429_at_attempt": None if first_429 is None else first_429 + 1,
        "401_before_lock": statuses[:threshold].count(401),
        "after_lock_not_429": len(answers)
        - threshold
        - statuses[threshold:].count(429),
        "http_200": statuses.count(200),
        "retry_after_seen": sorted({a.retry_after for a in answers if a.retry_after})[
            :3
        ],
    }


def _seen_addresses(stack: Stack, email: str) -> tuple[int, int]:
    """Distinct client addresses the app recorded for failed logins, and how
    many of them were forged X-Forwarded-For values (10.9.x.x)."""
    rows = stack.sql(
        "SELECT DISTINCT host(e.ip) FROM accounts_securityevent e JOIN accounts_user "
        "u ON u.id = e.user_id WHERE u.email = %s AND e.kind = 'login_failed'",
        [email],
    )
    ips = [row[0] for row in rows if row[0]]
    return len(ips), sum(1 for ip in ips if ip.startswith("10.9."))


def _wait_login(
    stack: Stack, email: str, not_before: float, timeout: float
) -> tuple[Answer, list[Answer]]:
    """Sleep out the lock (the window is the point), then try the right
    password each second until something other than 429 answers."""
    time.sleep(max(0.0, not_before - time.time()))
    tries: list[Answer] = []
    deadline = time.time() + timeout
    while True:
        answer = _login_from(stack, email, PASSWORD, "127.0.0.1")
        tries.append(answer)
        if answer.status != 429 or time.time() > deadline:
            return answer, tries
        time.sleep(1)


def scenario_brute_force(
    stack: Stack, attempts: int = 100, lock_minutes: int = 1
) -> Result:
    """Lockout after ``LOGIN_LOCK_THRESHOLD`` failures from any number of
    addresses; with Redis killed it must hold or fail closed, never open.

    The web process is restarted with ``LOGIN_LOCK_MINUTES=lock_minutes``
    (the window is what the scenario waits out) and restored afterwards."""
    result = Result(9, "Brute force: lockout from many addresses, Redis up and down")
    started = time.time()
    threshold = 5
    lock_s = lock_minutes * 60
    result.load = (
        f"{attempts} wrong passwords per account, sequential, each from its own "
        "loopback source address (127.B.x.y, so REMOTE_ADDR differs) with a forged "
        "X-Forwarded-For; no background load"
    )
    result.broken = (
        f"web restarted with LOGIN_LOCK_MINUTES={lock_minutes} "
        "(LOGIN_LOCK_THRESHOLD=5); Redis SIGKILLed while an account was locked, "
        "then restarted empty"
    )
    _ensure_stack(stack)
    saved = {k: stack.env.get(k) for k in ("LOGIN_LOCK_MINUTES", "LOGIN_RATE_PER_IP")}
    stack.stop_proc("web")
    stack.env.update({"LOGIN_LOCK_MINUTES": str(lock_minutes)})
    stack.start_proc("web")
    stack.wait_ready()
    try:
        a, b, c, d = create_users(stack, f"brute{int(started)}-", 4)

        # A: Redis up.
        hammer = _hammer(stack, a, 1, attempts)
        t_lock = hammer[threshold - 1].at
        profile = _lock_profile(hammer, threshold)
        right = _login_from(stack, a, PASSWORD, "127.1.9.9")
        ips, forged = _seen_addresses(stack, a)
        after, tries = _wait_login(stack, a, t_lock + lock_s - 2, 30)
        early = [t for t in tries if t.status == 200 and t.at < t_lock + lock_s - 1]
        result.counts["A_redis_up"] = {
            **profile,
            "client_addresses_recorded": ips,
            "forged_xff_recorded": forged,
            "right_password_while_locked": f"{right.status} {right.code}",
            "right_password_after_window": after.status,
            "accepted_seconds_after_lock_began": round(after.at - t_lock, 1),
        }
        result.check(
            profile["401_before_lock"] == threshold
            and profile["first_429_at_attempt"] == threshold + 1,
            f"Redis up: not locked after {threshold}: {profile['answers']}",
        )
        result.check(
            profile["after_lock_not_429"] == 0 and profile["http_200"] == 0,
            f"Redis up: attempts after the lock not all 429: {profile['answers']}",
        )
        result.check(
            right.status == 429,
            f"Redis up: right password while locked answered {right.status}",
        )
        result.check(
            after.status == 200 and not early,
            f"Redis up: right password after the window answered "
            f"{after.status} (early 200s: {len(early)})",
        )
        result.check(
            ips >= attempts - 1 and forged == 0,
            f"Redis up: app recorded {ips} addresses ({forged} forged)",
        )

        # B: lock taken with Redis up, then Redis killed.
        first = _hammer(stack, b, 2, threshold)
        t_lock_b = first[-1].at
        stack.redis_kill()
        t_kill = time.time()
        right_b = _login_from(stack, b, PASSWORD, "127.2.9.9")
        rest = _hammer(stack, b, 3, attempts - threshold)
        right_b2 = _login_from(stack, b, PASSWORD, "127.2.9.10")

        # C: Redis down from the first attempt.
        hammer_c = _hammer(stack, c, 4, attempts)
        profile_c = _lock_profile(hammer_c, threshold)
        right_c = _login_from(stack, c, PASSWORD, "127.4.9.9")

        # B's window ends with Redis still down.
        after_b, _ = _wait_login(stack, b, t_lock_b + lock_s - 2, 30)
        result.counts["B_locked_then_redis_killed"] = {
            "answers_before_kill": tally(first),
            "right_password_after_kill": f"{right_b.status} {right_b.code}",
            "wrong_after_kill": tally(rest),
            "right_password_after_wrong_ones": f"{right_b2.status} {right_b2.code}",
            "right_password_after_window_redis_down": after_b.status,
            "accepted_seconds_after_lock_began": round(after_b.at - t_lock_b, 1),
            "seconds_redis_down_when_window_ended": round(after_b.at - t_kill, 1),
        }
        result.check(
            right_b.status in (401, 429, 503),
            f"Redis killed: right password of a locked account answered "
            f"{right_b.status}",
        )
        result.check(
            all(r.status in (401, 429, 503) for r in rest),
            f"Redis killed: wrong passwords answered {tally(rest)}",
        )
        result.check(
            right_b2.status in (429, 503),
            f"Redis killed: right password after 95 more failures "
            f"answered {right_b2.status}",
        )
        result.check(
            after_b.status in (200, 503) and after_b.at >= t_lock_b + lock_s - 1,
            f"Redis down: right password after the window answered {after_b.status}"
            f" {after_b.at - t_lock_b:.0f} s after the lock began",
        )
        result.counts["C_redis_down_throughout"] = {
            **profile_c,
            "right_password_while_locked": f"{right_c.status} {right_c.code}",
        }
        result.check(
            profile_c["http_200"] == 0,
            f"Redis down: a wrong password got 200: {profile_c['answers']}",
        )
        result.check(
            profile_c["first_429_at_attempt"] == threshold + 1
            and profile_c["after_lock_not_429"] == 0,
            f"Redis down: not locked after {threshold}: {profile_c['answers']}",
        )
        result.check(
            right_c.status in (429, 503),
            f"Redis down: right password while locked answered {right_c.status}",
        )

        # D: a fresh lock taken with Redis down, then Redis back (empty): the
        # lock should run its full window whatever Redis forgot.
        locked_d = _hammer(stack, d, 5, threshold + 1)
        t_lock_d = locked_d[threshold - 1].at
        right_d_down = _login_from(stack, d, PASSWORD, "127.5.9.9")
        stack.redis_start()
        t_back = time.time()
        right_d = _login_from(stack, d, PASSWORD, "127.5.9.10")
        d_left = t_lock_d + lock_s - right_d.at
        result.counts["D_locked_redis_down_then_redis_restarted_empty"] = {
            "answers_redis_down": tally(locked_d),
            "right_password_redis_down": f"{right_d_down.status} {right_d_down.code}",
            "right_password_redis_back": f"{right_d.status} {right_d.code}",
            "lock_seconds_left_then": round(d_left, 1),
            "seconds_after_redis_back": round(right_d.at - t_back, 1),
        }
        result.check(
            right_d_down.status in (429, 503),
            f"Redis down: right password while locked answered {right_d_down.status}",
        )
        result.check(
            right_d.status != 200 or d_left <= 1,
            f"Redis restarted empty: the right password of an account locked "
            f"for {d_left:.0f} s more answered 200 (the lock lived only in Redis "
            "once Redis answered again)",
        )
    finally:
        if stack.redis is None:
            stack.redis_start()
        stack.stop_proc("web")
        for key, value in saved.items():
            if value is None:
                stack.env.pop(key, None)
            else:
                stack.env[key] = value
        _ensure_stack(stack)
    result.seconds = time.time() - started
    return result


# --- 11 ------------------------------------------------------------------------------
_SLOT_KEY = re.compile(r"^periodic:(?P<name>.+):(?P<slot>\d{4}-\d\d-\d\dT[^:]+:.+Z)$")


def _beat_events(path: Path, since: float, until: float) -> list[dict[str, Any]]:
    """``periodic_slot`` lines a beat logged (JSON) for slots in (since, until]."""
    events: list[dict[str, Any]] = []
    if not path.exists():
        return events
    for line in path.read_text(errors="replace").splitlines():
        if "periodic_slot" not in line:
            continue
        try:
            event = json.loads(line)
            slot = datetime.fromisoformat(event["slot"]).timestamp()
        except (ValueError, KeyError, TypeError):
            continue
        if event.get("event") in ("periodic_slot", "periodic_slot_skipped") and (
            since < slot <= until
        ):
            events.append(event)
    return events


def scenario_two_beats(stack: Stack, seconds: float = 600) -> Result:
    """A second beat beside the first for ``seconds``: every interval slot of
    every schedule ran exactly once (none doubled, none missing)."""
    result = Result(11, f"Two beat processes for {seconds:g} s")
    started = time.time()
    _ensure_stack(stack)
    first = stack.procs["beat"]
    second = Proc(
        "beat2",
        [
            *first.cmd[: first.cmd.index("--pidfile")],
            "--pidfile",
            str(stack.tmp / "beat2.pid"),
            "-s",
            str(stack.tmp / "beat2-schedule"),
        ],
    )
    stack.procs["beat2"] = second
    result.load = "none besides the periodic jobs themselves"
    result.broken = (
        f"a second `celery beat -S jobs.scheduler:JobScheduler` (own pidfile and "
        f"schedule file) run beside the first for {seconds:g} s"
    )
    log2 = stack.logs / "beat2.log"
    intervals = {
        name: every
        * {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}[period]
        for name, every, period in stack.sql(
            "SELECT p.name, i.every, i.period FROM django_celery_beat_periodictask p "
            "JOIN django_celery_beat_intervalschedule i ON i.id = p.interval_id "
            "WHERE p.enabled"
        )
    }
    skipped_before = dict(
        stack.sql("SELECT name, skipped_slots FROM jobs_schedulestate")
    )
    try:
        stack.start_proc("beat2")
        t0 = time.time()
        wait_for(
            lambda: (
                not second.alive or "beat: Starting" in log2.read_text(errors="replace")
            ),
            60,
            what="second beat started",
        )
        # The duration of both beats side by side is the point.
        deadline = t0 + seconds
        while time.time() < deadline:
            if not (second.alive and first.alive):
                break
            time.sleep(min(5.0, max(0.0, deadline - time.time())))
        both_alive = second.alive and first.alive
        t_end = time.time()
    finally:
        stack.stop_proc("beat2")
        stack.procs.pop("beat2", None)
    # Let the window's last runs finish, so each can be seen to have run.
    settled = stack.wait_jobs_settled(t0, 60)
    # Jobs of slots inside the window (a slot is enqueued within seconds).
    last_slot = t_end - 10
    rows = stack.sql(
        "SELECT dedupe_key, type, status FROM jobs_jobrecord "
        "WHERE dedupe_key LIKE 'periodic:%%' AND created_at >= to_timestamp(%s)",
        [t0 - 120],
    )
    per_slot: Counter[tuple[str, str]] = Counter()
    statuses: Counter[str] = Counter()
    for key, _type, status in rows:
        match = _SLOT_KEY.match(key)
        if not match:
            continue
        slot = datetime.fromisoformat(match["slot"].replace("Z", "+00:00"))
        if t0 < slot.timestamp() <= last_slot:
            per_slot[(match["name"], match["slot"])] += 1
            statuses[status] += 1
    skipped_after = dict(
        stack.sql("SELECT name, skipped_slots FROM jobs_schedulestate")
    )
    skipped = {
        name: n - skipped_before.get(name, 0)
        for name, n in skipped_after.items()
        if n != skipped_before.get(name, 0)
    }
    # Expected slots of each interval schedule: multiples of ``every`` since
    # the epoch, inside (t0, last_slot].
    missing: dict[str, int] = {}
    expected_total = 0
    for name, every in intervals.items():
        expected = {
            datetime.fromtimestamp(s, UTC).isoformat().replace("+00:00", "Z")
            for s in range(int(t0 // every + 1) * every, int(last_slot) + 1, every)
        }
        expected_total += len(expected)
        got = {slot for (n, slot) in per_slot if n == name}
        lost = len(expected - got)
        if lost:
            missing[name] = lost
    doubled = {f"{n} {s}": c for (n, s), c in per_slot.items() if c > 1}
    # What each beat says it did with each slot.
    events1 = _beat_events(stack.logs / "beat.log", t0, last_slot)
    events2 = _beat_events(log2, t0, last_slot)
    enqueued: Counter[tuple[str, str]] = Counter()
    outcomes: dict[str, Counter[str]] = {"beat": Counter(), "beat2": Counter()}
    for who, events in (("beat", events1), ("beat2", events2)):
        for e in events:
            outcome = e.get("outcome", "skipped")
            outcomes[who][outcome] += 1
            if outcome == "enqueued":
                enqueued[(e.get("schedule", ""), e.get("slot", ""))] += 1
    enqueued_twice = {k: v for k, v in enqueued.items() if v > 1}
    per_schedule = Counter(name for (name, _slot) in per_slot)
    result.counts = {
        "window_seconds": round(t_end - t0, 1),
        "both_beats_alive_throughout": both_alive,
        "interval_schedules": intervals,
        "slots_expected_from_interval_schedules": expected_total,
        "jobs_per_schedule_in_window": dict(sorted(per_schedule.items())),
        "job_statuses": dict(statuses),
        "slots_with_more_than_one_job": doubled,
        "slots_missing": missing,
        "slots_skipped_previous_run_live": skipped,
        "beat_outcomes": {k: dict(v) for k, v in outcomes.items()},
        "slots_enqueued_by_both_beats": len(enqueued_twice),
    }
    result.check(both_alive, "a beat process died during the window")
    result.check(not doubled, f"slots with more than one job: {doubled}")
    result.check(not enqueued_twice, f"slots enqueued by both beats: {enqueued_twice}")
    result.check(
        not missing,
        f"interval slots with no job: {missing} (of which skipped because the "
        f"previous run was still live: {skipped})",
    )
    result.check(
        settled and set(statuses) <= {"succeeded"},
        f"the window's periodic jobs did not all succeed: {dict(statuses)}",
    )
    result.check(
        sum(outcomes["beat2"].values()) > 0 and sum(outcomes["beat"].values()) > 0,
        f"a beat never handled a slot: {dict(outcomes['beat'])} / "
        f"{dict(outcomes['beat2'])}",
    )
    if skipped:
        result.notes.append(
            f"slots skipped because the previous run was still live: {skipped}"
        )
    result.seconds = time.time() - started
    return result


def headline(r: Result) -> str:
    """The one-line "counted" cell of RESILIENCE.md's table for 8, 9 and 11
    (run.py's ``_headline`` knows only the outage scenarios' figures)."""
    c = r.counts
    parts: list[str] = []
    if "oversell" in c:
        o, i = c["oversell"], c.get("idempotency", {})
        parts.append(
            f"stock {o['stock_before']}: {o['created_201']} x 201, "
            f"{o['refused_409_insufficient_stock']} x 409, stock after "
            f"{o['stock_after']} (lowest {o['lowest_stock_seen']}), "
            f"{o['orders_in_database']} orders in DB"
        )
        if i:
            parts.append(
                f"one key x {i['same_key_same_body_racers']}: {i['answers']}, "
                f"{i['orders_in_database']} order; other body "
                f"{i['same_key_other_body']}"
            )
        window = c.get("load_during_bursts", {})
        if window:
            parts.append(f"load {window.get('requests_per_s')} req/s")
    for phase, label in (
        ("A_redis_up", "Redis up"),
        ("C_redis_down_throughout", "Redis down"),
    ):
        if phase in c:
            p = c[phase]
            parts.append(
                f"{label}: {p['answers']}, first 429 at {p['first_429_at_attempt']}, "
                f"right password while locked {p['right_password_while_locked']}"
            )
    if "D_locked_redis_down_then_redis_restarted_empty" in c:
        d = c["D_locked_redis_down_then_redis_restarted_empty"]
        parts.append(
            f"Redis back empty: right password {d['right_password_redis_back']} "
            f"with {d['lock_seconds_left_then']} s of lock left"
        )
    if "beat_outcomes" in c:
        parts.append(
            f"{c['window_seconds']} s, jobs {c['jobs_per_schedule_in_window']}, "
            f"doubled {len(c['slots_with_more_than_one_job'])}, missing "
            f"{sum(c['slots_missing'].values())}, beats {c['beat_outcomes']}"
        )
    return "; ".join(str(p) for p in parts).replace("|", "/")


ABUSE_SCENARIOS: dict[int, Callable[..., Result]] = {
    8: scenario_oversell,
    9: scenario_brute_force,
    11: scenario_two_beats,
}
