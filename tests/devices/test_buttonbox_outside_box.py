"""What an outside tester found with a box written from the protocol document alone (issue 9).

Each test runs the real driver (and service) against a box on a real pty: the simulator (the
reference firmware's logic, made a newer minor version with ``extra_fields``, or frozen), or
frames written to the wire exactly as a box built from the document would write them.
"""

from __future__ import annotations

import random
import threading
import time

from calls.model import CallState
from core.status import StatusReport
from devices import events as ev
from devices.buttonbox import protocol as p
from devices.buttonbox.codec import encode_frame
from devices.buttonbox.leds import LedPattern
from devices.buttonbox.protocol import LedMode
from devices.buttonbox.simulator import ButtonBoxSimulator
from devices.service import ButtonBoxService
from tests.devices.conftest import fast_settings
from tests.support.toolkit import Recorder, wait_until

T = p.MsgType
TRAILING = b"\x2a\x00\x07"  # a newer minor version's fields (a zero among them too)


def button(index: int, kind: int, seq: int, extra: bytes = b"") -> bytes:
    body = bytes([p.VERSION, T.BUTTON, seq, index, kind]) + (77).to_bytes(4, "little")
    return encode_frame(body + extra)


# -- trailing fields (forward compatibility) -------------------------------------------------
def test_identity_with_a_trailing_field_is_accepted(tmp_path, wired):
    box = ButtonBoxSimulator(tmp_path / "box", extra_fields={T.IDENTITY: TRAILING}).start()
    try:
        svc, rec = wired(box)
        assert rec.wait_count(ev.ButtonBoxConnected, 1)
        ident = rec.of(ev.ButtonBoxConnected)[0].identity
        assert ident.buttons == ("answer", "hangup", "mute", "help")
        assert [led.name for led in ident.leds] == ["answer", "hangup", "mute", "help"]
        assert rec.of(ev.ButtonBoxRejected) == []
    finally:
        box.stop()


def test_button_with_a_trailing_field_is_pressed_once(tmp_path, wired, session):
    box = ButtonBoxSimulator(tmp_path / "box", extra_fields={T.BUTTON: TRAILING}).start()
    try:
        svc, rec = wired(box)
        assert rec.wait_count(ev.ButtonBoxConnected, 1)
        box.press("answer")
        assert rec.wait_for(lambda: session.calls.state is CallState.ON_CALL)
        box.press("hangup")  # read after the answer's up: all handled
        assert rec.wait_count(ev.ButtonPressed, 2)
        assert session.calls.state is CallState.WRAP_UP
        assert [e.button for e in rec.of(ev.ButtonPressed)] == ["answer", "hangup"]
        assert svc.driver.counts().malformed == 0
    finally:
        box.stop()


def test_heartbeats_with_a_trailing_field_keep_the_link(tmp_path, wired):
    box = ButtonBoxSimulator(tmp_path / "box", extra_fields={T.HEARTBEAT: TRAILING}).start()
    try:
        svc, rec = wired(box, heartbeat_timeout_s=0.6)
        assert rec.wait_count(ev.ButtonBoxConnected, 1)
        first = box.frames_sent
        # the box sends a heartbeat every 0.1 s: 15 of them span 2.5 heartbeat timeouts
        assert wait_until(lambda: box.frames_sent >= first + 15, 5)
        assert rec.of(ev.ButtonBoxDisconnected) == []
        assert svc.status == "connected" and svc.driver.counts().malformed == 0
    finally:
        box.stop()


def test_every_message_of_a_newer_minor_version_box_works(tmp_path, wired, session):
    """Trailing fields on everything the box sends: the whole session still works."""
    extra = {t: TRAILING for t in (T.IDENTITY, T.HEARTBEAT, T.ACK, T.BUTTON, T.ERROR)}
    box = ButtonBoxSimulator(tmp_path / "box", extra_fields=extra).start()
    try:
        svc, rec = wired(box)
        assert rec.wait_count(ev.ButtonBoxConnected, 1)
        assert rec.wait_count(ev.LedStateChanged, 1)  # its ACKs are understood
        box.press("answer")
        assert rec.wait_for(lambda: session.calls.state is CallState.ON_CALL)
        box.box.lost += 2  # two events it could not deliver:
        assert rec.wait_for(lambda: svc.driver.counts().lost_events == 2, 5)  # ERROR 5 heard
        assert svc.driver.counts().malformed == 0 and svc.status == "connected"
    finally:
        box.stop()


# -- a frozen box is tried again --------------------------------------------------------------
def test_a_box_frozen_past_the_handshake_rounds_is_tried_again_and_connects(sim, wired, session):
    svc, rec = wired(sim, heartbeat_timeout_s=0.6, hello_timeout_s=0.3, reconnect_max_s=0.2)
    rec_status = Recorder(session.bus, StatusReport)
    assert rec.wait_count(ev.ButtonBoxConnected, 1)
    sim.freeze(True)  # the firmware hangs, port open
    assert rec.wait_count(ev.ButtonBoxDisconnected, 1, 3)
    assert rec.of(ev.ButtonBoxDisconnected)[0].reason == "heartbeat_timeout"
    # where it used to give up (three unanswered rounds: "unknown device until unplugged")
    assert rec.wait_for(lambda: rec.of(ev.ButtonBoxRejected) or rec_status.of(StatusReport), 10)
    assert rec.of(ev.ButtonBoxRejected) == []
    report = rec_status.of(StatusReport)[0]
    assert report.component == "buttonbox" and "does not answer" in report.text
    rounds = svc.driver.attempts
    assert wait_until(lambda: svc.driver.attempts >= rounds + 2, 5)  # and it goes on trying
    assert svc.status == "connecting" and "keeps trying" in svc.message
    sim.freeze(False)
    assert rec.wait_count(ev.ButtonBoxConnected, 2, 5)
    sim.press("answer")
    assert rec.wait_for(lambda: session.calls.state is CallState.ON_CALL)
    assert rec.of(ev.ButtonBoxRejected) == []


def test_a_device_that_is_not_a_box_is_probed_again_later(tmp_path, session):
    box = ButtonBoxSimulator(tmp_path / "box", speaks_protocol=False).start()  # a "modem"
    try:
        rec = Recorder(session.bus, ev.ButtonBoxRejected, ev.ButtonBoxConnected)
        svc = ButtonBoxService(session, fast_settings(box.path, reprobe_s=0.8))
        session.add_service("buttonbox", svc)
        session.start()
        assert rec.wait_count(ev.ButtonBoxRejected, 1)
        assert "tries it again" in rec.of(ev.ButtonBoxRejected)[0].message
        box.speaks_protocol = True  # it was a box after all (it woke up)
        assert rec.wait_count(ev.ButtonBoxConnected, 1, 5)
        assert len(rec.of(ev.ButtonBoxRejected)) == 1
    finally:
        session.stop()
        box.stop()


def test_a_device_set_aside_again_after_a_reprobe_raises_no_second_event(tmp_path, session):
    box = ButtonBoxSimulator(tmp_path / "box", speaks_protocol=False).start()
    try:
        rec = Recorder(session.bus, ev.ButtonBoxRejected)
        svc = ButtonBoxService(session, fast_settings(box.path, reprobe_s=0.3, silent_attempts=1))
        session.add_service("buttonbox", svc)
        session.start()
        assert rec.wait_count(ev.ButtonBoxRejected, 1)
        probed = svc.driver.attempts
        assert wait_until(lambda: svc.driver.attempts >= probed + 2, 5)  # probed again...
        assert len(rec.of(ev.ButtonBoxRejected)) == 1  # ...said once
        assert wait_until(lambda: svc.status == "rejected")  # (between probes)
    finally:
        session.stop()
        box.stop()


# -- a replug right after a rejection is always probed -----------------------------------------
def test_a_good_box_plugged_in_right_after_a_rejection_is_always_probed(tmp_path, session):
    box = ButtonBoxSimulator(tmp_path / "box", speaks_protocol=False).start()
    rnd = random.Random(9)
    try:
        rec = Recorder(
            session.bus, ev.ButtonBoxRejected, ev.ButtonBoxConnected, ev.ButtonBoxDisconnected
        )
        # reprobe_s: an hour, so that only seeing the new device can explain a connection
        svc = ButtonBoxService(
            session, fast_settings(box.path, hello_timeout_s=0.2, silent_attempts=1, reprobe_s=3600)
        )
        session.add_service("buttonbox", svc)
        session.start()
        for trial in range(10):
            assert rec.wait_count(ev.ButtonBoxRejected, trial + 1, 5), trial
            box.unplug()
            time.sleep(rnd.uniform(0.0, 0.3))  # how fast a person swaps the cable
            box.speaks_protocol = True  # the good box
            box.replug()
            assert rec.wait_count(ev.ButtonBoxConnected, trial + 1, 3), f"trial {trial}"
            box.speaks_protocol = False  # and the other device again, same path
            box.unplug()
            box.replug()
            assert rec.wait_count(ev.ButtonBoxDisconnected, trial + 1, 3), trial
    finally:
        session.stop()
        box.stop()


# -- sequence numbers: a replay is never a second press -------------------------------------------
def test_a_replayed_older_sequence_number_is_never_a_second_press(sim, wired, session):
    svc, rec = wired(sim)
    assert rec.wait_count(ev.ButtonBoxConnected, 1)
    sim.press("answer")  # down s, up s+1, from the box
    assert rec.wait_for(lambda: session.calls.state is CallState.ON_CALL)
    assert wait_until(lambda: not sim.box.pressed[0] and not sim.box.queue)  # up acknowledged
    s = sim.box.seq  # the up
    sim.write_raw(button(0, p.ButtonKind.DOWN, (s - 1) & 0xFF))  # the down again: s-1 after s
    sim.write_raw(button(1, p.ButtonKind.DOWN, (s - 1) & 0xFF))  # a hang-up with an old number
    sim.write_raw(button(1, p.ButtonKind.DOWN, (s - 100) & 0xFF))  # far older
    sim.press("mute")  # then a real, newer press
    assert rec.wait_count(ev.ButtonPressed, 2)
    assert [e.button for e in rec.of(ev.ButtonPressed)] == ["answer", "mute"]
    assert session.calls.state is CallState.ON_CALL and session.calls.muted  # no phantom hang-up
    assert svc.driver.counts().replayed == 3
    assert rec.wait_for(lambda: any(e.replayed == 3 for e in rec.of(ev.BadFrames)), 2)


def test_sequence_numbers_wrap_at_256_with_a_window(sim, wired, session):
    """After 0xFE, 0x01 is newer (0xFF and 0x00 lost); 0xFF and 0xFE then are replays."""
    svc, rec = wired(sim)
    assert rec.wait_count(ev.ButtonBoxConnected, 1)
    for frame in (
        button(1, 1, 0xFE),
        button(1, 1, 0x01),
        button(1, 1, 0xFF),
        button(1, 1, 0xFE),
        button(1, 1, 0x01),
        button(1, 1, 0x02),
        button(0, 1, 0x03),
    ):  # answer: read after all the rest
        sim.write_raw(frame)
    assert rec.wait_for(lambda: any(e.button == "answer" for e in rec.of(ev.ButtonPressed)))
    assert [e.button for e in rec.of(ev.ButtonPressed)] == ["hangup"] * 3 + ["answer"]
    c = svc.driver.counts()
    assert (c.lost_events, c.replayed, c.malformed) == (2, 2, 0)


# -- silence is judged on what arrived -----------------------------------------------------------
def test_a_stalled_owner_thread_does_not_call_a_talking_box_gone(sim, fake_clock):
    """The owner thread is held up for 5 s (of its clock) by a slow event subscriber while
    the box keeps talking: what waits unread is heard before silence is judged."""
    from devices.buttonbox.driver import ButtonBoxDriver

    got: list = []
    stalled = threading.Event()

    def emit(event: object) -> None:
        got.append(event)
        if isinstance(event, ev.LedStateChanged) and not stalled.is_set():
            sent = sim.frames_sent
            assert wait_until(lambda: sim.frames_sent > sent, 2)  # a heartbeat waits unread
            fake_clock.advance(5.0)  # … past the timeout
            stalled.set()

    drv = ButtonBoxDriver(fast_settings(sim.path, heartbeat_timeout_s=0.6), fake_clock, emit)
    drv.start()
    try:
        assert stalled.wait(5)  # the first LED acknowledgement stalled it
        on = {"answer": LedPattern(LedMode.ON)}
        drv.set_leds(on)  # served after the stall: on the same link?
        assert wait_until(lambda: drv.confirmed_leds == on, 3)
        assert not [e for e in got if isinstance(e, ev.ButtonBoxDisconnected)]
        assert len([e for e in got if isinstance(e, ev.ButtonBoxConnected)]) == 1
    finally:
        drv.stop()


def test_a_stall_while_the_box_is_really_silent_still_ends_in_gone(sim, fake_clock):
    """The grace after a stall is one heartbeat period of listening, not a pardon: a box that
    says nothing in it is reported gone."""
    from devices.buttonbox.driver import ButtonBoxDriver

    got: list = []
    stalled = threading.Event()

    def emit(event: object) -> None:
        got.append(event)
        if isinstance(event, ev.LedStateChanged) and not stalled.is_set():
            sim.silence()
            time.sleep(0.3)  # whatever was on its way has arrived
            fake_clock.advance(5.0)
            stalled.set()

    drv = ButtonBoxDriver(fast_settings(sim.path, heartbeat_timeout_s=0.6), fake_clock, emit)
    drv.start()
    try:
        assert stalled.wait(5)
        time.sleep(0.5)  # the thread listens; the clock stands still: no verdict yet
        assert not [e for e in got if isinstance(e, ev.ButtonBoxDisconnected)]
        fake_clock.advance(0.15)  # past the one heartbeat period (0.1 s) of grace
        assert wait_until(lambda: [e for e in got if isinstance(e, ev.ButtonBoxDisconnected)], 3)
        gone = [e for e in got if isinstance(e, ev.ButtonBoxDisconnected)][0]
        assert gone.reason == "heartbeat_timeout"
    finally:
        drv.stop()
