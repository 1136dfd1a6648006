"""Load profiles: one ``LoadTestShape`` per ``PROFILE`` (see locustfile.py).

Every shape is declared ``abstract`` so locust does not pick one up by itself;
``selected_shape`` returns a concrete subclass of the chosen one, which the
locustfile binds to a module name (locust runs the first shape it finds).
``LOADTEST_SECONDS`` rescales a profile's phases to that total duration
(for ``stress`` it caps the ramp instead).
"""

import os

from locust import LoadTestShape


def _seconds(default: int) -> float:
    return float(os.environ.get("LOADTEST_SECONDS") or default)


class BasicShape(LoadTestShape):
    """20 users (spawned 5/s) for 2 minutes: the everyday smoke of the stack."""

    abstract = True
    users, spawn_rate, duration = 20, 5.0, 120

    def tick(self) -> tuple[int, float] | None:
        if self.get_run_time() >= _seconds(self.duration):
            return None
        return self.users, self.spawn_rate


class SpikeShape(LoadTestShape):
    """5 users for 25 % of the run, a jump to 60 users (spawned 60/s) for 50 %,
    back to 5 for the last 25 %; 2 minutes by default."""

    abstract = True
    low, high, duration = 5, 60, 120

    def tick(self) -> tuple[int, float] | None:
        total = _seconds(self.duration)
        t = self.get_run_time()
        if t >= total:
            return None
        if total * 0.25 <= t < total * 0.75:
            return self.high, float(self.high)
        return self.low, float(self.high)


class StressShape(LoadTestShape):
    """Ramp from 20 users by 20 more every 15 s (spawned 20/s) up to 1,200; the
    knee listener in locustfile.py stops the run when the last window's error
    rate passes 1 % or its p95 passes 1 s. Capped at 15 minutes. The users
    pause between requests (about 2.4 s on average): 200 of them offer some
    80 requests/s, well short of what two cores serve, so the ramp has to go
    several times higher to find the knee."""

    abstract = True
    start, step, step_seconds, most, duration = 20, 20, 15, 1200, 900

    def tick(self) -> tuple[int, float] | None:
        t = self.get_run_time()
        if t >= _seconds(self.duration):
            return None
        users = min(self.most, self.start + self.step * int(t // self.step_seconds))
        return users, float(self.step)


class EnduranceShape(LoadTestShape):
    """15 users for 10 minutes: slow leaks, pool exhaustion, cache churn."""

    abstract = True
    users, spawn_rate, duration = 15, 5.0, 600

    def tick(self) -> tuple[int, float] | None:
        if self.get_run_time() >= _seconds(self.duration):
            return None
        return self.users, self.spawn_rate


SHAPES: dict[str, type[LoadTestShape]] = {
    "basic": BasicShape,
    "spike": SpikeShape,
    "stress": StressShape,
    "endurance": EnduranceShape,
}


def selected_shape(profile: str) -> type[LoadTestShape]:
    """A concrete (non-abstract) subclass of the profile's shape."""
    try:
        base = SHAPES[profile]
    except KeyError:
        raise SystemExit(
            f"PROFILE={profile!r}: choose one of {', '.join(SHAPES)}"
        ) from None
    return type(f"{base.__name__}Profile", (base,), {"abstract": False})
