"""Children started with core.children.spawn die with their parent, even on SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PARENT = """
import sys, time
sys.path.insert(0, sys.argv[1])
from core.children import spawn
child = spawn(["sleep", "600"])
print(child.pid, flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its new parent to reap it is dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def wait_dead(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.02)
    return False


def test_child_dies_when_its_parent_is_killed_with_sigkill():
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(ROOT)], stdout=subprocess.PIPE, text=True
    )
    try:
        child = int(parent.stdout.readline())
        assert alive(child)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(5)
        assert wait_dead(child), "the child outlived its SIGKILLed parent"
    finally:
        parent.kill()
        parent.wait(5)


def test_child_has_its_own_process_group_and_stops_by_pid():
    from core.children import spawn, stop

    child = spawn(["sleep", "600"])
    try:
        assert os.getpgid(child.pid) == child.pid != os.getpgid(0)
    finally:
        assert stop(child, timeout=2) == -signal.SIGTERM
    assert not alive(child.pid)
