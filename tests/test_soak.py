"""The night-shift soak, three minutes of it: the real demo (counselor and supervisor
windows, box on a pty, Mosquitto, encrypted store) driven through calls, notes, escalations,
locks and breaks, with no growth of threads, descriptors, Qt objects or timers and no error.

bench/soak.py runs the long version (bench/results/soak.md holds an 8-hour equivalent).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MINUTES = float(os.environ.get("FARO_SOAK_MINUTES", "3"))


@pytest.mark.slow
@pytest.mark.timeout(int(MINUTES * 60) + 240)
@pytest.mark.skipif(
    shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists(),
    reason="the demo's broker is Mosquitto here (scripts/setup installs it)",
)
def test_three_minute_night_shift_soak(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TMPDIR=str(tmp_path))
    env.pop("FARO_HOME", None)
    out = subprocess.run(
        [
            sys.executable,
            "bench/soak.py",
            "--minutes",
            str(MINUTES),
            "--speed",
            "16",
            "--sample-s",
            "10",
            "--json",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=MINUTES * 60 + 200,
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"no summary (exit {out.returncode}): {out.stderr[-2000:]}"
    result = json.loads(lines[-1])
    print(json.dumps({k: result[k] for k in ("counters", "growth", "equivalent_hours")}))
    assert result["ok"], result["problems"]
    assert out.returncode == 0
    c = result["counters"]
    assert c["answered"] >= 3 and c["wrapped_up"] >= 2 and c["chars_typed"] > 1000
    assert c["escalations"] >= 1 and c["acknowledged"] >= 1
    assert c["locks"] >= 1 and c["unlocks"] >= 1
    assert c["errors"] == 0
