"""``faro kiosk``: the console again whenever it exits, with a growing pause while it keeps
crashing; stopped only by the session (SIGTERM), the console dying with it; and the real
thing under the cage compositor (headless wlroots, Qt on Wayland)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _kiosk(home: Path, command: list[str], *extra: str) -> subprocess.Popen:
    env = dict(os.environ, FARO_HOME=str(home), LANGUAGE="en")
    return subprocess.Popen(
        [sys.executable, "-m", "console.cli", "kiosk", "--command", json.dumps(command), *extra],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _log(home: Path) -> str:
    path = home / "state" / "log" / "faro.log"
    return path.read_text() if path.exists() else ""


def test_a_console_that_exits_is_started_again_with_a_growing_pause(tmp_path):
    t0 = time.monotonic()
    p = _kiosk(
        tmp_path / "h", [sys.executable, "-c", "import sys; sys.exit(3)"], "--max-starts", "3"
    )
    assert p.wait(60) == 0, p.stderr.read()
    took = time.monotonic() - t0
    assert _log(tmp_path / "h").count("exited (status 3)") == 3
    assert took >= 1.0 + 2.0  # 1 s after the first crash, 2 s after the second


def test_the_session_ending_stops_the_console_and_sigkill_takes_it_along(tmp_path):
    marker = tmp_path / "child.pid"
    child = [
        sys.executable,
        "-c",
        f"import os,time; open({str(marker)!r},'w').write(str(os.getpid())); time.sleep(120)",
    ]
    for how in (signal.SIGTERM, signal.SIGKILL):
        marker.unlink(missing_ok=True)
        p = _kiosk(tmp_path / "h", child)
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = int(marker.read_text())
        p.send_signal(how)
        p.wait(30)
        if how is signal.SIGTERM:
            assert p.returncode == 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"the console outlived the kiosk ({how.name})")


def _cage_missing() -> str | None:
    for tool in ("cage", "Xwayland", "unshare"):
        if shutil.which(tool) is None:
            return f"{tool} missing (apt-get install cage xwayland)"
    return None


@pytest.mark.skipif(_cage_missing() is not None, reason=str(_cage_missing()))
def test_the_console_runs_and_restarts_under_cage(tmp_path):
    """cage refuses to run as root, so as root it runs in a user namespace (uid 1000 inside,
    this account outside) with a private /tmp/.X11-unix for its Xwayland."""
    home = tmp_path / "h"
    runtime = Path(tempfile.mkdtemp(prefix="faro-xdg-"))
    os.chmod(runtime, 0o700)
    done = tmp_path / "starts"
    inner = [
        "sh",
        "-c",
        f'QT_QPA_PLATFORM=wayland "{sys.executable}" -m console.cli counselor --quit-after 4; '
        f'echo "$?" >> "{done}"',
    ]
    kiosk = [
        sys.executable,
        "-m",
        "console.cli",
        "kiosk",
        "--command",
        json.dumps(inner),
        "--max-starts",
        "2",
    ]
    env = dict(
        os.environ,
        FARO_HOME=str(home),
        HOME=str(tmp_path),
        XDG_RUNTIME_DIR=str(runtime),
        WLR_BACKENDS="headless",
        WLR_LIBINPUT_NO_DEVICES="1",
        WLR_RENDERER="pixman",
        LANGUAGE="en",
    )
    env.pop("WAYLAND_DISPLAY", None)
    env.pop("DISPLAY", None)
    cage = ["cage", "--", *kiosk]
    if os.geteuid() == 0:
        # the mount point exists once any X server ran here; on a fresh machine make it
        os.makedirs("/tmp/.X11-unix", exist_ok=True)
        os.chmod("/tmp/.X11-unix", 0o1777)
        script = 'mount -t tmpfs -o mode=1777 none /tmp/.X11-unix && exec unshare --user --map-user=1000 --map-group=1000 "$@"'
        cage = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *cage]
    p = subprocess.run(cage, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    shutil.rmtree(runtime, ignore_errors=True)
    assert done.exists(), (p.returncode, p.stderr[-2000:])
    assert done.read_text().split() == ["0", "0"], p.stderr[-2000:]  # it ran, quit, ran again
    log = _log(home)
    assert log.count("starting it again") == 2 and "Traceback" not in log


def test_the_kiosk_unit_runs_only_faro_under_cage_as_the_counselor():
    import configparser

    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(ROOT / "packaging" / "kiosk" / "faro-kiosk@.service")
    service = unit["Service"]
    assert service["User"] == "%i" and service["PAMName"] == "login"  # a real logind session
    assert service["ExecStart"] == "/usr/bin/cage -s -- /usr/bin/faro kiosk"
    assert service["Restart"] == "always"
    desktop = (ROOT / "packaging" / "kiosk" / "faro-kiosk.desktop").read_text()
    assert "Exec=/usr/bin/cage -s -- /usr/bin/faro kiosk" in desktop
