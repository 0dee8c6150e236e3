"""``faro devices list | monitor | simulate buttonbox`` as real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from calls.model import CallState
from devices import events as ev
from tests.devices.conftest import fast_settings
from tests.support.toolkit import Recorder, wait_until

ROOT = Path(__file__).resolve().parents[2]


def faro(*args: str, home: Path, **kw) -> subprocess.Popen:
    env = dict(os.environ, FARO_HOME=str(home), PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "console.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def test_list_prints_serial_ports_as_json(faro_home):
    proc = faro("devices", "list", "--json", home=faro_home)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert all(r["kind"] in ("serial", "audio") for r in records)
    assert all("usb_id" in r for r in records)


class Lines:
    """The lines a process prints, read as they come (on a thread), to wait for one."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line)

    def wait_for(self, predicate: Callable[[dict], bool], what: str, timeout: float = 10) -> None:
        wait_until(
            lambda: any(predicate(json.loads(line)) for line in list(self.lines)), timeout, what
        )

    def finish(self) -> list[str]:
        self._thread.join(10)
        return self.lines


def test_monitor_prints_connected_pressed_led_and_disconnected(sim, faro_home):
    proc = faro(
        "devices", "monitor", "--port", sim.path, "--json", "--seconds", "60", home=faro_home
    )
    assert proc.stdout is not None
    printed = Lines(proc.stdout)
    try:
        assert wait_until(lambda: sim.connected, 10)
        sim.press("answer")
        sim.long_press("help")
        printed.wait_for(
            lambda r: r["event"] == "pressed" and r["button"] == "help", "the long press printed"
        )
        assert wait_until(lambda: not sim.box.pressed[3], 5)  # released
        sim.corrupt_frames(2)  # the next two heartbeats (every 0.5 s)
        assert wait_until(lambda: sim.frames_corrupted == 2, 5)
        printed.wait_for(
            lambda r: r["event"] == "bad_frames" and r["bad_crc"] == 2, "the bad frames printed"
        )
        sim.unplug()
        printed.wait_for(lambda r: r["event"] == "disconnected", "the unplug printed")
        proc.send_signal(signal.SIGINT)  # Ctrl+C: the monitor stops cleanly
        err = proc.communicate(timeout=30)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    recs = [json.loads(line) for line in printed.finish()]
    kinds = [r["event"] for r in recs]
    assert kinds[0] == "connected" and recs[0]["identity"]["serial"] == "SIM-0001"
    pressed = [(r["button"], r["gesture"], r["action"]) for r in recs if r["event"] == "pressed"]
    assert pressed == [("answer", "press", "answer"), ("help", "long", "escalate")]
    assert "led" in kinds
    assert any(r["event"] == "bad_frames" and r["bad_crc"] == 2 for r in recs)
    assert kinds[-1] == "disconnected" or "disconnected" in kinds


def test_monitor_refuses_a_missing_port_clearly(faro_home, tmp_path):
    proc = faro("devices", "monitor", "--port", str(tmp_path / "nothing"), home=faro_home)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 69
    assert "There is no device at" in err and "Traceback" not in err


def test_simulate_prints_path_and_leds_and_turns_keys_into_presses(tmp_path, faro_home, session):
    link = tmp_path / "box"
    env = dict(os.environ, FARO_HOME=str(faro_home), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "console.cli",
            "devices",
            "simulate",
            "buttonbox",
            "--link",
            str(link),
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    try:
        first = proc.stdout.readline()
        assert first.startswith("Button box simulator on /dev/pts/"), first
        assert wait_until(link.exists, 5)
        from devices.service import ButtonBoxService

        rec = Recorder(session.bus, ev.ButtonBoxConnected, ev.ButtonPressed, ev.LedStateChanged)
        svc = ButtonBoxService(session, fast_settings(str(link)))
        session.add_service("buttonbox", svc)
        session.start()
        assert rec.wait_count(ev.ButtonBoxConnected, 1)
        proc.stdin.write("1")
        proc.stdin.flush()
        assert rec.wait_for(lambda: session.calls.state is CallState.ON_CALL)
        assert rec.wait_for(
            lambda: any(
                v.name == "answer" and v.mode == "on"
                for e in rec.of(ev.LedStateChanged)
                for v in e.leds
            )
        )
        proc.stdin.write("c1q")  # a bad CRC on the next frame, a press, quit
        proc.stdin.flush()
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "LEDs: answer=on(#00c800)" in out
    assert "fault: the next frame has a bad CRC" in out


def test_monitor_records_ignored_presses_and_a_box_that_does_not_answer():
    from console.commands.devices import _human, event_record
    from core.status import Level, StatusReport
    from devices.service import ignored_press

    ignored = ignored_press("help", "press", {("help", "long")})
    rec = event_record(ignored)
    assert rec == {
        "event": "ignored",
        "button": "help",
        "gesture": "press",
        "reason": "needs_long_press",
        "message": ignored.message,
    }
    assert _human(rec).startswith("ignored    The help button acts on a long press")
    assert ignored_press("answer", "long", {("answer", "press")}) is None  # the tap acted
    assert ignored_press("x", "press", set()).reason == "unbound"
    status = event_record(StatusReport("buttonbox", Level.WARNING, "Button box: no answer"))
    assert status == {"event": "status", "level": "warning", "message": "Button box: no answer"}
    assert event_record(StatusReport("broker", Level.OK, "fine")) is None


def test_monitor_knows_the_hold_and_why_a_press_did_nothing(sim, faro_home):
    """``faro devices monitor`` recognises the hold as the service does: Help tapped (ignored:
    it needs a long press), released after the long press (escalate), held on to the hold
    (the hold: escalate_urgent)."""
    from core.paths import Paths

    Paths.under(faro_home).config_file.write_text(
        "[devices.buttonbox]\nlong_press_ms = 400\nurgent_press_ms = 1500\nheartbeat_s = 0.1\n",
        encoding="utf-8",
    )
    proc = faro(
        "devices", "monitor", "--port", sim.path, "--json", "--seconds", "60", home=faro_home
    )
    assert proc.stdout is not None
    printed = Lines(proc.stdout)
    try:
        assert wait_until(lambda: sim.connected, 10)
        sim.press("help")
        printed.wait_for(lambda r: r["event"] == "ignored", "the tap printed")
        sim.press("help", hold_s=0.8)
        printed.wait_for(lambda r: r.get("gesture") == "long", "the long press printed")
        sim.press("help", hold_s=2.0)
        printed.wait_for(lambda r: r.get("gesture") == "hold", "the hold printed")
        assert wait_until(lambda: not sim.box.pressed[3] and not sim.box.queue, 5)
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=30)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    recs = [json.loads(line) for line in printed.finish() if line.strip()]  # (Ctrl+C: a newline)
    shown = [
        (r["event"], r["gesture"], r.get("action") or r.get("reason"))
        for r in recs
        if r["event"] in ("pressed", "ignored")
    ]
    assert shown == [
        ("pressed", "press", None),
        ("ignored", "press", "needs_long_press"),
        ("pressed", "long", "escalate"),
        ("pressed", "hold", "escalate"),
    ]
