"""`faro demo`'s chat line on real parts: Debian's Prosody with Faro's configuration, the real
router on the demo's broker, the scripted person on the real protocol, the counselor's console
and the supervisor window (offscreen Qt). And without Prosody: one line, and the demo runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chat import local_server
from chat.demo_person import PersonScript
from core.errors import ConfigError
from tests.core.test_children import alive, wait_dead

ROOT = Path(__file__).resolve().parents[2]
QUIET = """
[scenario]
name = "quiet"
[[calls]]
after_s = 3600
caller_id = "+52 55 5555 0101"
talk_s = 0
"""
needs_prosody = pytest.mark.skipif(
    not local_server.available(), reason="prosody is not installed (scripts/setup installs it)"
)
needs_broker = pytest.mark.skipif(
    not Path("/usr/sbin/mosquitto").exists(), reason="the demo's broker is Mosquitto here"
)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TMPDIR=str(tmp_path), **extra)
    env.pop("FARO_HOME", None)
    env["PYTHONPATH"] = str(ROOT)
    return env


@needs_prosody
@needs_broker
@pytest.mark.timeout(90)
def test_the_demo_chat_is_accepted_answered_wrapped_up_and_supervised(tmp_path):
    scenario = tmp_path / "quiet.toml"
    scenario.write_text(QUIET, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "tests/support/demo_chat_driver.py", str(scenario), "0.05", "45"],
        cwd=ROOT,
        env=_env(tmp_path, LANG="es_MX.UTF-8", LANGUAGE="", LC_ALL=""),
        capture_output=True,
        text=True,
        timeout=80,
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"no result (exit {out.returncode}): {out.stderr[-3000:]}"
    seen = json.loads(lines[-1])
    steps = [s for s, _t in seen["steps"]]
    assert steps == ["accepted", "replied", "answered", "canned", "wrap_up", "done"], (
        seen,
        out.stderr[-3000:],
    )
    assert seen["chat_line"] and seen["chat_panel"]
    assert "F5" in seen["banner"] and "español" in seen["banner"]
    # the person's first two lines (the first one awaits no answer), in Spanish
    assert seen["first_lines"][0].endswith("\nhola")
    assert "no puedo llamar" in seen["first_lines"][1]
    # the counselor's reply reached the person, who read it and wrote the next line
    assert "✓✓" in seen["reply_line"]
    assert seen["person_said"] >= 3 and seen["heard"] >= 2
    assert seen["typing_seen"]  # the person's composing, shown in the console
    assert seen["canned_text"]  # a canned response went through the composer
    # the person said goodbye and left; the wrap-up was done as for a real chat
    assert seen["phase"] == "ended" and seen["ended_text"]
    # the supervisor window: the chat line's queue, and the answered chat in the service level
    assert seen["sup_label"].startswith("Chats")
    assert seen["max_open"] == 1 and seen["sup_answered"] == 1
    # while the chat is open: the call panel says no call rings, the board says in a chat
    assert seen["call_panel"] == "En un chat", seen["call_panel"]
    assert seen["chip"] == "En un chat · no entran llamadas", seen["chip"]
    assert "in_chat" in seen["board_statuses"], seen["board_statuses"]
    assert seen["password_in_clear"] == []
    assert seen["exit"] == 0
    assert "Event loop is closed" not in out.stderr
    assert "Chat line: off" not in out.stdout


@needs_broker
@pytest.mark.timeout(60)
def test_without_prosody_the_demo_says_the_chat_line_is_off_and_runs(tmp_path):
    bare = tmp_path / "bin"  # a PATH without prosody (the demo finds Mosquitto by its path)
    bare.mkdir()
    out = subprocess.run(
        [sys.executable, "-m", "console.cli", "demo", "--quit-after", "3"],
        cwd=ROOT,
        env=_env(tmp_path, PATH=str(bare), LANG="C.UTF-8", LANGUAGE="", LC_ALL=""),
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    off = [ln for ln in out.stdout.splitlines() if ln.startswith("Chat line:")]
    assert off == [
        "Chat line: off in this demo, because Prosody is not installed (scripts/setup installs it)."
    ], out.stdout
    assert "Faro demo: profile in" in out.stdout


@needs_prosody
@needs_broker
@pytest.mark.timeout(60)
def test_the_demo_killed_with_sigkill_takes_its_chat_server_with_it(tmp_path):
    from tests.console.test_demo_lifetime import children_of

    env = _env(tmp_path, FARO_HOME=str(tmp_path / "home"))
    demo = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "demo"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    servers: list[int] = []
    try:
        line = demo.stdout.readline()
        assert "Faro demo" in line, line
        servers = [
            k
            for k in children_of(demo.pid)
            if b"prosody" in Path(f"/proc/{k}/cmdline").read_bytes()
        ]
        assert servers, "the demo should run its chat server as a child"
        os.kill(demo.pid, signal.SIGKILL)
        demo.wait(10)
        assert all(wait_dead(p) for p in servers)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait(10)
        for pid in servers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_the_demo_script_speaks_the_demo_language_and_bad_scripts_say_why(tmp_path):
    script = PersonScript.load("demo")
    assert script.lines[0].in_language("es") == "hola"
    assert script.lines[0].in_language("en") == "hi"
    assert script.lines[0].in_language("fr") == "hola"  # Spanish first
    assert not script.lines[0].wait and all(line.wait for line in script.lines[1:])
    assert script.goodbye is not None and script.nudge is not None
    bad = tmp_path / "bad.toml"
    bad.write_text('[person]\nafter_s = "soon"\n[[lines]]\nes = "hola"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="numbers of seconds"):
        PersonScript.load(str(bad))
    bad.write_text("[person]\nafter_s = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"no \[\[lines\]\]"):
        PersonScript.load(str(bad))
    bad.write_text('[[lines]]\nes = "a\\u0000b"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot be sent"):
        PersonScript.load(str(bad))
    with pytest.raises(ConfigError, match="no bundled chat script"):
        PersonScript.load("nope")


@needs_prosody
@pytest.mark.timeout(60)
def test_the_person_writes_soon_after_the_first_call_ends_not_at_the_fixed_delay(tmp_path):
    """The demo's timing: the first call's end (here a missed call on the demo's bus) makes
    the person say hello 3 s later, well before the script's ``after_s`` (60 s); the router
    puts the chat in its queue. Real Prosody and router, no console."""
    import datetime as dt
    import time

    from app.demo_chat import DemoChatLine
    from calls.events import MissedCall
    from calls.model import Call, MissReason
    from chat.demo_person import BEFORE, QUEUED
    from core.events import EventBus
    from core.privacy import Personal

    bus = EventBus()
    line = DemoChatLine(tmp_path / "chat", "demo-counselor").start()
    try:
        assert line.script.after_s >= 60
        person = line.start_person("es")
        line.follow(bus)
        deadline = time.monotonic() + 10
        while not line.online() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert line.online()
        time.sleep(0.5)
        assert person.phase == BEFORE
        started = time.monotonic()
        call = Call(
            "c1", "phone", Personal("+52 55 5555 0101"), dt.datetime.now(dt.UTC), time.monotonic()
        )
        bus.publish(MissedCall(call, MissReason.UNANSWERED, 30.0))
        bus.publish(MissedCall(call, MissReason.UNANSWERED, 30.0))  # only the first counts
        while person.state != "waiting" and time.monotonic() - started < 20:
            time.sleep(0.05)
        waited = time.monotonic() - started
        assert person.phase == QUEUED and person.state == "waiting"  # in the router's queue
        assert 2.5 <= waited < 20
    finally:
        line.stop()
    assert line.server.proc is None
