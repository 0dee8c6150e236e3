"""The ``faro`` command as an installed user runs it (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def faro(*args: str, home: Path, env: dict | None = None, timeout: float = 60):
    e = dict(os.environ, FARO_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *args],
        cwd=ROOT,
        env=e,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_version(tmp_path):
    out = faro("--version", home=tmp_path)
    assert out.returncode == 0
    assert out.stdout.startswith("faro ")


def test_no_command_prints_help_and_exits_2(tmp_path):
    out = faro(home=tmp_path)
    assert out.returncode == 2
    assert "demo" in out.stderr and "counselor" in out.stderr


def test_config_lists_every_option_as_json(tmp_path):
    out = faro("config", "--json", home=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    keys = {r["key"] for r in rows}
    assert {"calls.backend", "devices.keyboard_map", "keys.lock", "logging.level"} <= keys
    assert all(r["description"] for r in rows)


def test_bad_config_is_one_clear_line(tmp_path):
    (tmp_path / "config").mkdir(parents=True)
    (tmp_path / "config" / "faro.toml").write_text("[calls]\nbackend = 3\n")
    out = faro("config", home=tmp_path)
    assert out.returncode == 78
    assert out.stderr.strip().splitlines() == [
        "faro: Option calls.backend must be of type str, not int."
    ]


def test_demo_runs_offscreen_and_leaves_no_profile_behind(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TMPDIR=str(tmp_path))
    env.pop("FARO_HOME", None)
    out = subprocess.run(
        [sys.executable, "-m", "console.cli", "demo", "--quit-after", "4"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "a simulated call rings" in out.stdout
    assert not list(tmp_path.glob("faro-demo-*"))


def test_counselor_without_display_says_so(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env["FARO_HOME"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "console.cli", "counselor"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert "no display" in out.stderr
