"""What a screen reader (Orca) meets: the real `faro demo` under Xvfb with the AT-SPI bus, read
with pyatspi, the library Orca itself uses. Every button, field and list of the counselor's
window reaches the bus with a name, in the console's language.

Needs Xvfb, at-spi2-core, dbus-daemon and python3-pyatspi (scripts/apt-packages.txt).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core import children

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = Path("/usr/libexec/at-spi-bus-launcher")
SYSTEM_PYTHON = Path("/usr/bin/python3")

pytestmark = pytest.mark.skipif(
    not (shutil.which("Xvfb") and shutil.which("dbus-run-session") and LAUNCHER.exists()),
    reason="Xvfb, dbus-run-session and at-spi2-core are installed by scripts/setup",
)

SCRIPT = r"""
set -e
trap 'kill $(jobs -p) 2>/dev/null' EXIT
Xvfb -displayfd 3 -screen 0 1024x600x24 -nolisten tcp 3>"$TMP/display" >/dev/null 2>&1 &
for i in $(seq 50); do [ -s "$TMP/display" ] && break; sleep 0.1; done
export DISPLAY=":$(cat "$TMP/display")"
"$LAUNCHER" --launch-immediately >/dev/null 2>&1 &
sleep 0.5
"$FARO_PY" -m console.cli demo --quit-after 40 >"$TMP/demo.log" 2>&1 </dev/null &
"$SYSTEM_PY" "$PROBE" 30
"""


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> list[dict]:
    tmp = tmp_path_factory.mktemp("a11y")
    env = dict(
        os.environ,
        TMP=str(tmp),
        LAUNCHER=str(LAUNCHER),
        FARO_PY=sys.executable,
        SYSTEM_PY=str(SYSTEM_PYTHON),
        PROBE=str(ROOT / "tests" / "support" / "atspi_probe.py"),
        FARO_HOME=str(tmp / "home"),
        QT_ACCESSIBILITY="1",
        QT_LINUX_ACCESSIBILITY_ALWAYS_ON="1",
        QT_QPA_PLATFORM="xcb",
    )
    env.pop("DISPLAY", None)
    proc = children.spawn(
        ["dbus-run-session", "--", "bash", "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        out, _ = proc.communicate(timeout=90)
    finally:
        children.stop(proc)
        try:  # the session bus, Xvfb and the demo: its whole process group
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    if rows and "error" in rows[0]:
        demo_log = (tmp / "demo.log").read_text() if (tmp / "demo.log").exists() else ""
        pytest.fail(f"{rows[0]['error']}\n{demo_log[-2000:]}")
    return rows


def _window(tree: list[dict], title_part: str) -> list[dict]:
    """The rows of the frame whose name contains ``title_part``."""
    start = next(i for i, r in enumerate(tree) if r["role"] == "frame" and title_part in r["name"])
    depth = tree[start]["depth"]
    end = next((i for i in range(start + 1, len(tree)) if tree[i]["depth"] <= depth), len(tree))
    return tree[start:end]


def test_the_counselors_controls_reach_the_screen_reader_by_name(tree):
    window = _window(tree, "counselor console")
    buttons = {r["name"] for r in window if r["role"] == "push button"}
    for name in ("Answer", "Hang up", "Hold", "Mute", "Urgent escalation: imminent risk"):
        assert any(b.startswith(name) for b in buttons), (name, sorted(buttons))
    controls = [r for r in window if r["role"] in ("push button", "text", "combo box", "list")]
    unnamed = [r for r in controls if r["showing"] and not r["name"].strip()]
    assert not unnamed, unnamed
    assert any(r["role"] == "label" and r["name"] == "Call state" for r in window) or any(
        r["role"] == "label" and r["name"] in ("Available", "Ringing") for r in window
    )


def test_the_supervisors_window_reaches_it_too(tree):
    window = _window(tree, "supervisor console")
    buttons = {r["name"] for r in window if r["role"] == "push button"}
    assert {"Acknowledge", "Resolve"} <= buttons, sorted(buttons)
