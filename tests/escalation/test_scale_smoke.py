"""The scale benchmark (bench/escalation_scale.py) at 200 counselors and 2 supervisors, so it
does not rot: a real Mosquitto, the crowd, a supervisor process, the raw clients and the
window all take part, every board ends with every counselor, and the report is written.
No timing is asserted (the figures are the benchmark's, bench/results/escalation_scale.md)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not (shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto")),
    reason="mosquitto is not installed",
)


def test_the_scale_bench_runs_small(tmp_path):
    out = tmp_path / "scale.md"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.escalation_scale",
            "--counselors",
            "200",
            "--supervisors",
            "2",
            "--sup-procs",
            "1",
            "--crowd-procs",
            "1",
            "--duration",
            "3",
            "--presence-every",
            "5",
            "--alerts-per-min",
            "60",
            "--alert-open-s",
            "1",
            "--out",
            str(out),
        ],  # fmt: skip
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = out.read_text()
    assert "every board ended with all 200 rows: yes" in report
    board = re.search(r"\| presence → Board \(all 2 supervisors\) \| (\d+) \|", report)
    raw = re.search(r"\| presence → raw paho on_message \(1 clients\) \| (\d+) \|", report)
    assert board and int(board.group(1)) > 0, report
    assert raw and int(raw.group(1)) > 0, report
    assert "| Mosquitto (203 connections) |" in report
