"""Run a command and start it again whenever it dies on its own.

    python scripts/respawn.py -- celery -A config worker ...

For the Procfile's long-running processes. honcho (``make run``) stops the
whole stack when one process exits, and a Celery worker can exit on a Redis
outage (an unrecoverable error inside kombu while Redis is going away): this
keeps the worker coming back, as systemd's ``Restart=on-failure`` would in
production, so the jobs queued meanwhile still run.

A stop asked for from outside (SIGTERM, SIGINT, SIGHUP, SIGQUIT to this
process) reaches the command as SIGTERM, its graceful stop (a second one as
itself), and ends this process with the command's status; only an exit
nobody asked for is followed by a restart, after a pause that doubles from
1 s up to 30 s while the command keeps dying within a minute of starting.
"""

import signal
import subprocess
import sys
import threading
import time
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)
FIRST_PAUSE, LONGEST_PAUSE = 1.0, 30.0
HEALTHY_AFTER = 60.0  # seconds of running that reset the pause


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    stopping = threading.Event()  # a stop was asked for
    child: subprocess.Popen | None = None

    def forward(signum: int, _frame: FrameType | None) -> None:
        first = not stopping.is_set()
        stopping.set()
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM if first else signum)

    for signum in STOP_SIGNALS:
        signal.signal(signum, forward)
    pause = FIRST_PAUSE
    while True:
        started = time.monotonic()
        child = subprocess.Popen(argv)
        code = child.wait()
        if code < 0:  # killed by a signal: the shell's convention
            code = 128 - code
        if stopping.is_set() or code == 0:
            return code
        if time.monotonic() - started > HEALTHY_AFTER:
            pause = FIRST_PAUSE
        print(
            f"respawn: {argv[0]} exited with {code}; again in {pause:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        if stopping.wait(pause):
            return code
        pause = min(pause * 2, LONGEST_PAUSE)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
