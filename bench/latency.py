"""Sequential HTTP timing: one client, one request at a time, arms interleaved.

For latency figures (p50, p99) rather than throughput: each request opens its
own connection (as a browser's first visit does; a sync worker would close it anyway),
and the time is taken from before the connect to the last byte of the body.
"""

import http.client
import json
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from bench.common import percentile

JSON = {"Accept": "application/json"}


def request(
    base: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """GET ``base + path`` on a new connection: status, headers and body."""
    connection = http.client.HTTPConnection(urlsplit(base).netloc, timeout=30)
    try:
        connection.request("GET", path, headers=JSON if headers is None else headers)
        response = connection.getresponse()
        return response.status, response.msg, response.read()
    finally:
        connection.close()


def fetch(base: str, path: str) -> tuple[int, bytes, float]:
    """GET ``base + path`` as JSON; return status, body and milliseconds taken."""
    started = time.perf_counter()
    status, _, body = request(base, path)
    return status, body, (time.perf_counter() - started) * 1000


def get_json(base: str, path: str) -> Any:
    status, body, _ = fetch(base, path)
    if status != 200:
        raise SystemExit(f"GET {path}: {status} {body[:200]!r}")
    return json.loads(body)


def interleaved(
    base: str, paths: dict[str, str], *, samples: int, rounds: int, warmup: int = 20
) -> dict[str, list[list[float]]]:
    """``samples`` timings per path in ``rounds`` blocks, the paths taking turns
    request by request (the order rotating each time), after ``warmup`` each.

    Returns, per path, one list of milliseconds per round; any answer other
    than 200 stops the benchmark.
    """
    names = list(paths)
    for _ in range(warmup):
        for name in names:
            _timed(base, paths[name])
    figures: dict[str, list[list[float]]] = {name: [] for name in names}
    per_round = max(1, -(-samples // rounds))
    turn = 0
    for _ in range(rounds):
        for name in names:
            figures[name].append([])
        for _ in range(per_round):
            for offset in range(len(names)):
                name = names[(turn + offset) % len(names)]
                figures[name][-1].append(_timed(base, paths[name]))
            turn += 1
    return figures


def _timed(base: str, path: str) -> float:
    status, body, elapsed = fetch(base, path)
    if status != 200:
        raise SystemExit(f"GET {path}: {status} {body[:200]!r}")
    return elapsed


def flat(rounds: Sequence[Sequence[float]]) -> list[float]:
    return [value for block in rounds for value in block]


def p50s(rounds: Sequence[Sequence[float]]) -> list[float]:
    """The p50 of each round, for a spread."""
    return [percentile(block, 50) for block in rounds]
