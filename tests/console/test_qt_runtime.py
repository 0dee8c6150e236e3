"""The Qt binding must not leak references to None (PySide6 6.12.0 on Python 3.11 did).

Every void Qt call of the broken binding dropped one reference to None; the console's UI
timers used them up in about 80 s and the interpreter aborted mid-call. On Python 3.12+
None is immortal and the count never moves, so the test passes there whatever the binding.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from console import qt_runtime
from core.errors import ConfigError

VOID_CALLS = 100_000

# Run in a child: on a broken binding the interpreter aborts long before 100,000 calls, and
# that must fail this test, not end the whole test run.
PROBE = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel, QPushButton
app = QApplication([])
label, button, timer = QLabel(), QPushButton(), QTimer()
before = sys.getrefcount(None)
for i in range(int(sys.argv[1]) // 4):
    label.setText("00:01")                    # what the call timer does every 100 ms
    label.setStyleSheet("color: #1b7f3b;")
    button.setEnabled(i % 2 == 0)
    timer.setInterval(100)
print(before - sys.getrefcount(None))
"""


def test_none_refcount_is_stable_over_100000_void_qt_calls():
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(VOID_CALLS)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
    )
    assert out.returncode == 0, (
        f"the interpreter died after void Qt calls (exit "
        f"{out.returncode}): {out.stderr.strip()[-300:]}"
    )
    lost = int(out.stdout.split()[-1])
    assert lost < 100, f"{lost} references to None lost over {VOID_CALLS} void Qt calls"


def test_the_start_up_probe_finds_this_binding_sound(qapp):
    assert qt_runtime.none_references_lost(qt_runtime.PROBE_CALLS) < qt_runtime.PROBE_CALLS // 2
    qt_runtime.check_qt_binding()  # does not raise


def test_a_leaking_binding_is_refused_with_what_to_do(qapp, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(qt_runtime, "none_references_lost", lambda calls: calls)
    with pytest.raises(ConfigError) as info:
        qt_runtime.check_qt_binding()
    text = info.value.user_text()
    assert "PySide6" in text and "Python" in text and "pinned" in text
    assert info.value.exit_code == 78
