"""scripts/respawn.py: a process that dies is started again; a stop asked
for is passed on and ends it."""

import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESPAWN = [sys.executable, str(ROOT / "scripts" / "respawn.py"), "--"]


def test_a_command_that_dies_is_started_again_until_it_exits_cleanly(tmp_path):
    runs = tmp_path / "runs"
    # Fails on its first run, succeeds on its second.
    script = f'echo x >> {runs}; test "$(wc -l < {runs})" -ge 2 && exit 0; exit 3'
    done = subprocess.run(
        [*RESPAWN, "sh", "-c", script], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0
    assert runs.read_text().count("x") == 2
    assert "exited with 3" in done.stderr


def _wait_for_line(path: Path, proc: subprocess.Popen, timeout: float = 10) -> None:
    """Until ``path`` holds a line (the command started), checking between
    polls that ``proc`` is still running."""
    for _ in range(int(timeout / 0.05)):
        if path.exists() and path.read_text().strip():
            return
        try:
            proc.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        raise AssertionError(f"exited early with {proc.returncode}")
    raise AssertionError("the command never started")


def test_a_stop_reaches_the_command_and_is_not_followed_by_a_restart(tmp_path):
    started = tmp_path / "started"
    wrapper = subprocess.Popen(
        [*RESPAWN, "sh", "-c", f"echo $$ >> {started}; exec sleep 60"]
    )
    try:
        _wait_for_line(started, wrapper)
        wrapper.send_signal(signal.SIGTERM)
        code = wrapper.wait(timeout=10)
    finally:
        wrapper.kill()
    assert code == 128 + signal.SIGTERM  # the command's own end, passed on
    assert len(started.read_text().split()) == 1  # never started again
    child = Path(f"/proc/{int(started.read_text())}")
    assert not child.exists() or (child / "stat").read_text().split()[2] == "Z"
