"""The web process's server shape: worker class, processes, threads.

config/gunicorn.py reads it to start the Procfile's ``web``; the benchmarks
read it to run and describe that same server. No side effects at import, so
both can.

The default, gthread with cores + 1 processes of 4 threads, is what
bench/servers.py measured best for the shop's browsing journey on two cores
(open loop, a new connection per request): at 80 % of the sync server's
capacity its p99 was a quarter of sync's (2 x cores + 1 processes), and at
that capacity it answered every request with a p95 under 200 ms where sync
dropped 9 % and the rest queued for 1.7 s, in 36 % less memory. A sync worker
serves one request at a time, so while it waits on PostgreSQL or Redis its
core idles unless another process is ready; threads fill that wait. Sync
still has the shorter tail for long CPU-bound answers under a closed loop
(the uncached list with 16 keep-alive clients; bench/RESULTS.md, servers):
set GUNICORN_WORKER_CLASS=sync for a deployment made of those.
"""

import ctypes
import ctypes.util
import os

THREADS = 4  # per gthread process
# glibc's mallopt parameter number for the mmap threshold (malloc.h).
_M_MMAP_THRESHOLD = -3
# Allocations from this size up get pages of their own, returned on free.
MMAP_THRESHOLD = 4 * 1024 * 1024


def _env(name: str) -> str:
    # An empty variable (as .env.example leaves some) means "use the default".
    return os.environ.get(name) or ""


def worker_class() -> str:
    return _env("GUNICORN_WORKER_CLASS") or "gthread"


def workers() -> int:
    return int(_env("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1)


def threads() -> int:
    """Threads per process: gunicorn turns sync into gthread when this is
    above 1, so other classes default to 1."""
    default = THREADS if worker_class() == "gthread" else 1
    return int(_env("GUNICORN_THREADS") or default)


def describe(processes: int | None = None) -> str:
    """E.g. "gthread, 3 processes x 4 threads", for benchmark reports."""
    processes = processes or workers()
    if worker_class() == "gthread":
        return f"{worker_class()}, {processes} processes x {threads()} threads"
    return f"{worker_class()}, {processes} processes"


def large_allocations_unmapped_on_free(threshold: int = MMAP_THRESHOLD) -> bool:
    """Have glibc map every allocation of ``threshold`` bytes or more on its own
    and unmap it on free, in this process; False where that is not glibc.

    Why: each Argon2 hash (accounts/hashers.py) allocates one 19 MiB block.
    glibc's default raises its mmap threshold to the size of the first such
    block freed, so later ones come from the calling thread's malloc arena,
    and each arena keeps its 19 MiB after the free: a gthread process whose 4
    threads have each signed someone in holds ~76 MiB more than one that has
    not (bench/RESULTS.md, loadtest: the endurance run's heaviest worker).
    Setting the threshold fixes it (no more raising), at the cost of mapping
    fresh pages per hash (a few ms of a ~40 ms hash).
    """
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold))
