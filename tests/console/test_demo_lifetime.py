"""`faro demo` killed with SIGKILL leaves no child process behind (its broker died with it)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.test_children import alive, wait_dead

ROOT = Path(__file__).resolve().parents[2]


def children_of(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out += [int(c) for c in text]
    return out


@pytest.mark.skipif(
    shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists(),
    reason="the demo's broker is Mosquitto here (scripts/setup installs it)",
)
def test_demo_killed_with_sigkill_takes_its_broker_with_it(tmp_path):
    env = dict(os.environ, FARO_HOME=str(tmp_path / "home"), QT_QPA_PLATFORM="offscreen")
    demo = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = demo.stdout.readline()  # printed once the broker runs and the session is open
        assert "Faro demo" in line, line
        kids = children_of(demo.pid)
        assert kids, "the demo should run its embedded broker as a child"
        brokers = [
            k for k in kids if "mosquitto" in Path(f"/proc/{k}/cmdline").read_bytes().decode()
        ]
        assert brokers
        os.kill(demo.pid, signal.SIGKILL)
        demo.wait(10)
        for pid in kids:
            assert wait_dead(pid), f"child {pid} outlived the SIGKILLed demo"
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait(10)
        for pid in children_of(demo.pid) if alive(demo.pid) else []:
            os.kill(pid, signal.SIGKILL)
    assert not any(alive(p) for p in brokers)
