"""Locust at saturation: one anonymous user class on the cached product list.

Not a load profile (loadtests/locustfile.py is): bench/generators.py runs this
beside wrk to show locust is not the limit of what it measures. The user is
the browsing user of locustfile.py reduced to its first request (the cached
first page of /api/products/, JSON, named by route) with nothing that would
slow the generator rather than the server: FastHttpUser (geventhttpclient, not
requests) and no wait time.

Options it adds to locust's:

* ``--measure-seconds N``: quit N seconds after spawning completes, so with
  ``--reset-stats`` the CSV stats cover exactly that window, not the spawn-up;
* ``--cpu-file PATH``: write this process's CPU seconds and the wall seconds of
  that window there (JSON), to tell whether locust's one core was saturated;
* ``--header "Name: Value"`` (repeatable): send it with every request, so
  bench/generators.py gives locust and wrk the same headers from one place;
* ``--server-pid PID``: also write the CPU seconds that process and its
  children (the gunicorn master and workers) used over the window.
"""

import json
import resource
import time
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, constant, events, task
from locust.env import Environment

from bench.common import tree_cpu_seconds

LIST = "/api/products/"


class ListUser(FastHttpUser):
    """Anonymous visitor reading the first page of the product list, flat out."""

    wait_time = constant(0)
    default_headers = {"Accept": "application/json"}

    def on_start(self) -> None:
        options = self.environment.parsed_options
        pairs = (line.split(":", 1) for line in (options and options.header) or ())
        self.headers = {name.strip(): value.strip() for name, value in pairs}

    @task
    def product_list(self) -> None:
        self.client.get(LIST, name="/api/products", headers=self.headers)


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--measure-seconds", type=float, default=0)
    parser.add_argument("--cpu-file", default="")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--server-pid", type=int, default=0)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@events.init.add_listener
def _window(environment: Environment, **_: Any) -> None:
    """With --measure-seconds, time the window from the end of the spawn-up
    (when --reset-stats clears the stats) and quit when it is over."""
    options = environment.parsed_options
    if options is None or not options.measure_seconds:
        return

    def begin(user_count: int, **_: Any) -> None:
        server = options.server_pid
        started, cpu = time.monotonic(), _cpu_seconds()
        server_cpu = tree_cpu_seconds(server) if server else 0.0

        def finish() -> None:
            if options.cpu_file:
                window = {
                    "cpu_s": _cpu_seconds() - cpu,
                    "wall_s": time.monotonic() - started,
                    "users": user_count,
                    "server_cpu_s": (
                        tree_cpu_seconds(server) - server_cpu if server else 0.0
                    ),
                }
                Path(options.cpu_file).write_text(json.dumps(window))
            environment.runner.quit()

        gevent.spawn_later(options.measure_seconds, finish)

    environment.events.spawning_complete.add_listener(begin)
