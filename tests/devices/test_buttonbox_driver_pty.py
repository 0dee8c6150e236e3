"""The driver and the service against the simulated box over a real pty."""

from __future__ import annotations

import threading
import time

import pytest
from serial.tools.list_ports_linux import SysFS

from calls.events import CallStateChanged, EscalationRequested
from calls.model import CallState, Source
from core.clock import SystemClock
from devices import events as ev
from devices.buttonbox.discovery import PortFinder
from devices.buttonbox.driver import ButtonBoxDriver
from devices.buttonbox.link import Link
from devices.buttonbox.owner import Wakeup
from devices.buttonbox.protocol import Heartbeat
from devices.buttonbox.simulator import ButtonBoxSimulator
from devices.service import ButtonBoxService
from tests.devices.conftest import buttonbox_threads, fast_settings
from tests.support.buttonbox_helpers import box_hears_host_for
from tests.support.toolkit import Recorder, wait_until


def connected(rec: Recorder, n: int = 1, timeout: float = 5.0) -> bool:
    return rec.wait_count(ev.ButtonBoxConnected, n, timeout)


def test_presses_become_call_commands_and_leds_follow(sim, wired, session):
    svc, rec = wired(sim)
    assert connected(rec)
    ident = rec.of(ev.ButtonBoxConnected)[0].identity
    assert ident.model.startswith("Faro Box 4") and ident.buttons[0] == "answer"
    sim.press("answer")
    assert rec.wait_for(lambda: session.calls.state is CallState.ON_CALL)
    changed = rec.of(CallStateChanged)[-1]
    assert changed.source is Source.BUTTON_BOX
    assert wait_until(lambda: ("answer", "on", "#00c800") in sim.leds)
    sim.press("mute")
    assert rec.wait_for(lambda: session.calls.muted)
    assert wait_until(lambda: ("mute", "on", "#ff0000") in sim.leds)
    sim.long_press("mute")
    assert rec.wait_for(lambda: session.calls.state is CallState.ON_HOLD)
    assert wait_until(lambda: ("answer", "blink", "#ffa000") in sim.leds)
    assert [(e.button, e.gesture) for e in rec.of(ev.ButtonPressed)] == [
        ("answer", "press"),
        ("mute", "press"),
        ("mute", "long"),
    ]
    assert rec.of(ev.LedStateChanged)  # the box acknowledged them
    sim.press("hangup")
    assert rec.wait_for(lambda: session.calls.state is CallState.WRAP_UP)


def test_escalate_only_from_a_long_press_never_a_tap(sim, wired, session):
    svc, rec = wired(sim)
    assert connected(rec)
    sim.press("answer")
    assert rec.wait_for(lambda: session.calls.state is CallState.ON_CALL)
    for i in range(3):
        sim.press("help", hold_s=0.1)  # quick taps on the help button
        assert rec.wait_count(ev.ButtonPressed, 2 + i)
    assert box_hears_host_for(sim, 200)  # nothing follows the taps
    assert rec.of(EscalationRequested) == []
    sim.long_press("help")
    assert rec.wait_count(EscalationRequested, 1)
    esc = rec.of(EscalationRequested)[0]
    assert esc.source is Source.BUTTON_BOX
    assert wait_until(lambda: not sim.box.pressed[3] and not sim.box.queue)  # up acknowledged
    assert len(rec.of(EscalationRequested)) == 1  # once, even when the release follows
    svc.set_escalation("pending")
    assert wait_until(lambda: ("help", "blink_fast", "#0050ff") in sim.leds)
    svc.set_escalation("acknowledged")
    assert wait_until(lambda: ("help", "on", "#0050ff") in sim.leds)


def test_dropped_frames_still_deliver_every_press_exactly_once(sim, wired, session):
    svc, rec = wired(sim)
    assert connected(rec)
    for i in range(10):
        sim.drop_frames(2)  # the press and its first retransmission are lost
        sim.press("hangup")  # hang_up has nothing to hang up: rejected, still a press
        assert rec.wait_count(ev.ButtonPressed, i + 1, 5)
    assert wait_until(lambda: not sim.box.queue)  # every event acknowledged: none resent
    assert box_hears_host_for(sim, 200)
    assert len(rec.of(ev.ButtonPressed)) == 10
    assert sim.frames_dropped >= 20


def test_bad_crc_frames_are_counted_and_presses_still_arrive(sim, wired, session):
    svc, rec = wired(sim)
    assert connected(rec)
    sim.corrupt_frames(5)
    sim.press("answer")
    assert rec.wait_for(lambda: session.calls.state is CallState.ON_CALL)
    assert rec.wait_for(lambda: svc.driver.counts().bad_crc == 5)
    assert rec.wait_for(lambda: any(e.bad_crc == 5 for e in rec.of(ev.BadFrames)), 3)
    assert len(rec.of(ev.ButtonPressed)) == 1


def test_slow_link_still_works(sim, wired, session):
    sim.slow_link(2000)  # about 2 kB/s, a 20-byte frame takes 10 ms
    svc, rec = wired(sim, heartbeat_timeout_s=1.5)
    assert connected(rec)
    sim.press("answer")
    assert rec.wait_for(lambda: session.calls.state is CallState.ON_CALL)


def test_heartbeats_stop_with_port_open_means_disconnected_within_timeout(sim, wired, session):
    svc, rec = wired(sim, heartbeat_timeout_s=0.6)
    assert connected(rec)
    sim.silence(True)
    t0 = time.monotonic()
    assert rec.wait_count(ev.ButtonBoxDisconnected, 1, 3)
    took = time.monotonic() - t0
    gone = rec.of(ev.ButtonBoxDisconnected)[0]
    assert gone.reason == "heartbeat_timeout" and "stopped answering" in gone.message
    assert 0.5 <= took < 0.6 + 0.5, took  # the timeout, plus a generous margin for a busy box
    assert svc.status in ("disconnected", "connecting", "searching")
    sim.silence(False)  # it talks again: back without a replug
    assert connected(rec, 2)


def test_heartbeat_timeout_follows_the_injected_clock(sim, session, fake_clock):
    """With a fake clock the box is declared gone only when the clock says so."""
    got: list = []
    drv = ButtonBoxDriver(fast_settings(sim.path, heartbeat_timeout_s=5.0), fake_clock, got.append)
    drv.start()
    try:
        assert wait_until(lambda: drv.status == "connected")
        sim.silence(True)
        time.sleep(0.5)  # a window of real time: nothing observable may change
        assert drv.status == "connected"  # real time passing does not count
        fake_clock.advance(5.1)
        assert wait_until(lambda: any(isinstance(e, ev.ButtonBoxDisconnected) for e in got), 2)
    finally:
        drv.stop()


def test_wrong_protocol_version_is_rejected_and_left_alone(tmp_path, session):
    box = ButtonBoxSimulator(tmp_path / "box", version=2).start()
    try:
        rec = Recorder(session.bus, ev.ButtonBoxRejected, ev.ButtonBoxConnected)
        svc = ButtonBoxService(session, fast_settings(box.path))
        session.add_service("buttonbox", svc)
        session.start()
        assert rec.wait_count(ev.ButtonBoxRejected, 1)
        rej = rec.of(ev.ButtonBoxRejected)[0]
        assert rej.reason == "wrong_version"
        assert "protocol version 2" in rej.message and "version 1" in rej.message
        assert svc.status == "rejected" and svc.message == rej.message
        heard = box.received
        time.sleep(1.0)  # a window of several backoff rounds: no byte written
        assert box.received == heard  # not a byte more: left alone
        assert rec.of(ev.ButtonBoxConnected) == [] and len(rec.of(ev.ButtonBoxRejected)) == 1
    finally:
        session.stop()
        box.stop()


def test_unknown_device_is_rejected_and_left_alone_until_replugged(tmp_path, session):
    box = ButtonBoxSimulator(tmp_path / "box", speaks_protocol=False).start()  # a "modem"
    try:
        rec = Recorder(session.bus, ev.ButtonBoxRejected, ev.ButtonBoxConnected)
        svc = ButtonBoxService(session, fast_settings(box.path))
        session.add_service("buttonbox", svc)
        session.start()
        assert rec.wait_count(ev.ButtonBoxRejected, 1)
        rej = rec.of(ev.ButtonBoxRejected)[0]
        assert rej.reason == "unknown_device"
        assert "does not speak the Faro button-box protocol" in rej.message
        heard = box.received
        time.sleep(1.0)  # a window of several backoff rounds: no byte written
        assert box.received == heard
        box.unplug()  # a real box is plugged in its place
        assert wait_until(lambda: svc.status == "searching")  # the driver saw the port go
        box.speaks_protocol = True
        box.replug()
        assert rec.wait_count(ev.ButtonBoxConnected, 1)
    finally:
        session.stop()
        box.stop()


def test_session_starts_without_a_box_and_finds_it_by_usb_id(tmp_path, session):
    ports: list = []
    svc = ButtonBoxService(session, fast_settings(""), comports=lambda: list(ports))
    rec = Recorder(session.bus, ev.ButtonBoxConnected)
    session.add_service("buttonbox", svc)
    session.start()
    assert wait_until(lambda: svc.status == "searching")
    time.sleep(0.3)  # a window of several polls with no port listed
    assert svc.status == "searching" and "No button box" in svc.message
    box = ButtonBoxSimulator().start()
    try:
        other = SysFS("/dev/ttyUSB7")  # someone else's adapter
        other.vid, other.pid = 0x0403, 0x6001
        mine = SysFS(box.pty_path)
        mine.vid, mine.pid = 0x2E8A, 0x0005
        ports[:] = [other, mine]
        assert rec.wait_count(ev.ButtonBoxConnected, 1)
        assert rec.of(ev.ButtonBoxConnected)[0].port == box.pty_path
    finally:
        session.stop()
        box.stop()


def test_port_methods_assert_their_owner_thread(sim, session):
    """What touches the port is made on the owner thread and refuses any other."""
    made: list = []

    def owner() -> None:  # plays the driver's thread
        made.append(
            PortFinder(
                fast_settings(sim.path),
                SystemClock(),
                None,
                lambda status, message: None,
                lambda e: None,
            )
        )
        made.append(Link.open(sim.path, 115200, Wakeup()))

    thread = threading.Thread(target=owner)
    thread.start()
    thread.join()
    finder, link = made
    try:
        with pytest.raises(AssertionError, match="owner thread"):
            finder.pick()
        with pytest.raises(AssertionError, match="owner thread"):
            link.write(Heartbeat(0))
        with pytest.raises(AssertionError, match="owner thread"):
            link.read(0)
    finally:
        link.close()
        link.wakeup.close()
    drv = ButtonBoxDriver(fast_settings(sim.path), SystemClock(), lambda e: None)
    with pytest.raises(AssertionError, match="owner thread"):
        drv._pause(0)
    drv.stop()


def test_stop_sends_the_offline_leds_and_joins_the_thread(sim, wired, session):
    svc, rec = wired(sim)
    assert connected(rec)
    assert buttonbox_threads()
    svc.stop()
    svc.stop()  # idempotent
    assert buttonbox_threads() == []
    assert wait_until(lambda: ("hangup", "pulse", "#ff0000") in sim.leds)
    assert rec.of(ev.ButtonBoxDisconnected)[-1].reason == "stopped"
