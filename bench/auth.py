"""Accounts benchmark: what the revocation check costs on every request.

    .venv/bin/python bench/auth.py [--write]

1. Throughput of authenticated ``GET /api/auth/me`` (JWT, session state from
   the security cache) ÷ the same view with authentication off that loads the
   same user and renders the same bytes, through gunicorn (config/gunicorn.py
   with 2 processes, CPU 0) with wrk (CPU 1), arms alternated over rounds.
2. Refresh round trip (POST /api/auth/refresh, rotating each time) p50/p99
   over >= 500 sequential calls.
"""

import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import percentile, pin_self, setup_django, spread, write_section
from bench.web import alternate, gunicorn, parser
from config import web_server

EMAIL = "bench-auth@bench.bazaar.local"
PASSWORD = "bench-auth-password-42"  # noqa: S105 - a throwaway benchmark account
# Rotating the same session hundreds of times a minute is the point here.
ENV = {"REFRESH_RATE_PER_MINUTE": "1000000", "LOGIN_RATE_PER_IP": "1000000"}


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def main() -> None:
    options = parser(__doc__)
    options.add_argument("--refreshes", type=int, default=600)
    args = options.parse_args()

    setup_django(ENV)
    pinned = pin_self(1)
    from accounts.models import User

    user = User.objects.filter(email=EMAIL).first() or User.objects.create_user(
        EMAIL, PASSWORD, is_verified=True
    )
    arms = {"authenticated": "/api/auth/me", "auth off": "/bench/me-without-auth"}
    with gunicorn(workers=2, **ENV) as base:
        tokens = post(f"{base}/api/auth/login", {"email": EMAIL, "password": PASSWORD})
        headers = {
            "authenticated": {"Authorization": f"Bearer {tokens['access']}"},
            "auth off": {"X-Bench-User": str(user.pk)},
        }
        figures = alternate(
            base,
            arms,
            headers,
            rounds=args.rounds,
            seconds=args.seconds,
            connections=args.connections,
        )
        rates = {name: [f["rps"] for f in runs] for name, runs in figures.items()}
        p99s = {name: [f["p99_ms"] for f in runs] for name, runs in figures.items()}
        refresh = tokens["refresh"]
        timings = []
        for _ in range(args.refreshes):
            started = time.perf_counter()
            answer = post(f"{base}/api/auth/refresh", {"refresh": refresh})
            timings.append((time.perf_counter() - started) * 1000)
            refresh = answer["refresh"]
    ratios = [
        a / b for a, b in zip(rates["authenticated"], rates["auth off"], strict=True)
    ]
    body = "\n".join(
        [
            f"{pinned}; gunicorn (config/gunicorn.py: {web_server.describe(2)}) "
            f"pinned to CPU 0; wrk {args.connections} connections, "
            f"{args.seconds} s per arm per round, {args.rounds} rounds, arms "
            "alternated.",
            "",
            "| arm | req/s, median (min, max) | p99 ms, median |",
            "|---|---|---|",
            *[
                f"| {name} | {spread(rates[name])} | "
                f"{statistics.median(p99s[name]):.2f} |"
                for name in arms
            ],
            f"| **ratio authenticated ÷ auth off** | **{spread(ratios)}** "
            "(goal ≥ 0.7) | |",
            "",
            f"Refresh round trip over {len(timings)} sequential rotations "
            f"(loopback HTTP, one client): p50 **{percentile(timings, 50):.2f} ms**, "
            f"p99 {percentile(timings, 99):.2f} ms.",
        ]
    )
    print(body)
    if args.write:
        write_section("auth", body)


if __name__ == "__main__":
    main()
