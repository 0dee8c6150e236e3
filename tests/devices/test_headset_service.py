"""The headset in a real session, from report bytes up: a simulated headset's node, the real
owner thread, the call machine. Waits are on conditions, with generous deadlines."""

from __future__ import annotations

import threading

import pytest

from app.session import Session
from calls.events import CommandRejected, MuteChanged
from calls.model import Action, CallState, Source
from core.clock import SystemClock
from core.config import Config
from devices import events as ev
from devices.headset.driver import HeadsetSettings
from devices.headset.service import HeadsetService
from devices.headset.simulator import HeadsetSimulator
from devices.service import attach
from tests.support.toolkit import Recorder, wait_until

EVENTS = (
    ev.HeadsetConnected,
    ev.HeadsetDisconnected,
    ev.HeadsetButton,
    ev.HeadsetPressIgnored,
    ev.HeadsetIgnored,
    ev.HeadsetRejected,
    ev.HeadsetReports,
    ev.HeadsetLeds,
    MuteChanged,
    CommandRejected,
)


def headset_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "faro-headset" and t.is_alive()]


@pytest.fixture
def session(paths):
    s = Session(Config.defaults(), paths=paths, clock=SystemClock(), attach=False)
    yield s
    s.stop()


@pytest.fixture
def make(session, tmp_path):
    """``make(family, **settings)`` → (service, sim, recorder), connected."""
    made: list[tuple[HeadsetService, HeadsetSimulator]] = []

    def build(family: str = "blackwire", device: str = "", plug: bool = True, **kw):
        sim = HeadsetSimulator(tmp_path / "hw", family)
        if plug:
            sim.plug()
        rec = Recorder(session.bus, *EVENTS)
        settings = HeadsetSettings(
            device=device, sysfs_root=sim.sysfs_root, dev_root=sim.dev_root, poll_s=0.1, **kw
        )
        svc = HeadsetService(session, settings)
        session.add_service("headset", svc)
        made.append((svc, sim))
        session.start()
        if plug:
            assert wait_until(lambda: svc.status == "connected", 10, "headset connected")
            if not device:
                assert wait_until(lambda: sim.connected, 10, "the simulator took the connection")
        return svc, sim, rec

    yield build
    for svc, sim in made:
        svc.stop()
        sim.unplug()
    assert headset_threads() == []


def ring(session) -> None:
    session.calls.on_incoming("5550100")
    assert session.calls.state is CallState.RINGING


def leds_are(sim: HeadsetSimulator, **want: bool) -> bool:
    return all(sim.leds.get(k, False) == v for k, v in want.items())


def test_session_attach_starts_without_hidraw_and_stops(paths, tmp_path):
    s = Session(Config.defaults(), paths=paths, clock=SystemClock(), attach=False)
    attach(s)
    svc = s.service("headset")
    assert isinstance(svc, HeadsetService)
    svc.driver.settings = HeadsetSettings(sysfs_root=str(tmp_path / "no-sys"))
    s.start()
    assert wait_until(lambda: "No headset" in svc.message, 10)
    assert svc.status == "searching" and len(headset_threads()) == 1
    s.stop()
    assert headset_threads() == []


def test_disabled_headset_adds_no_service(paths):
    s = Session(Config({"devices.headset.enabled": False}), paths=paths, attach=False)
    attach(s)
    assert s.service("headset") is None


def test_absolute_hook_answers_and_hangs_up_and_the_leds_follow(make, session):
    svc, sim, rec = make("blackwire")
    assert rec.wait_for(lambda: rec.of(ev.HeadsetConnected), 10)
    connected = rec.of(ev.HeadsetConnected)[0]
    assert connected.usb_id == "047f:c056" and "hook_switch" in connected.capabilities
    ring(session)
    assert wait_until(lambda: leds_are(sim, ring=True, off_hook=False), 10, "ring LED")
    sim.press_hook()  # off-hook
    assert wait_until(lambda: session.calls.state is CallState.ON_CALL, 10, "answered")
    assert wait_until(lambda: leds_are(sim, ring=False, off_hook=True), 10, "off-hook LED")
    sim.press_hook()  # on-hook
    assert wait_until(lambda: session.calls.state is CallState.WRAP_UP, 10, "hung up")
    assert wait_until(lambda: leds_are(sim, off_hook=False), 10)
    buttons = [(b.usage, b.gesture, b.action) for b in rec.of(ev.HeadsetButton)]
    assert buttons == [
        ("hook_switch", "off_hook", Action.ANSWER),
        ("hook_switch", "on_hook", Action.HANG_UP),
    ]


def test_answer_from_the_screen_is_not_a_second_press_on_an_absolute_hook(make, session):
    svc, sim, rec = make("blackwire")
    ring(session)
    session.calls.do(Action.ANSWER, Source.UI)
    assert wait_until(lambda: sim.hook and leds_are(sim, off_hook=True), 10)  # it follows
    sim.press_hook()  # the counselor's one press: on-hook
    assert wait_until(lambda: session.calls.state is CallState.WRAP_UP, 10)
    assert [b.action for b in rec.of(ev.HeadsetButton)] == [Action.HANG_UP]


def test_toggle_hook_answers_hangs_up_and_with_nothing_ringing_says_why(make, session):
    svc, sim, rec = make("toggle")
    sim.press_hook()  # nothing rings
    assert rec.wait_for(lambda: rec.of(ev.HeadsetPressIgnored), 10)
    ignored = rec.of(ev.HeadsetPressIgnored)[0]
    assert ignored.reason == "no_call" and "no call is ringing" in ignored.message
    assert session.calls.state is CallState.AVAILABLE
    writes = len(rec.of(ev.HeadsetLeds))
    assert rec.wait_for(lambda: len(rec.of(ev.HeadsetLeds)) > 1 or writes > 1, 10)  # resent
    assert leds_are(sim, off_hook=False, mute=False)
    ring(session)
    sim.press_hook()
    assert wait_until(lambda: session.calls.state is CallState.ON_CALL, 10)
    assert wait_until(lambda: leds_are(sim, off_hook=True), 10)
    sim.press_hook()
    assert wait_until(lambda: session.calls.state is CallState.WRAP_UP, 10)


def test_hook_mode_option_makes_an_absolute_descriptor_a_toggle(make, session):
    session.config = Config({"devices.headset.hook_mode": {"047f:c056": "toggle"}})
    svc, sim, rec = make("blackwire")
    assert svc.logic.hook_toggle


def test_one_mute_from_headset_screen_and_machine_and_the_led_agrees(make, session):
    svc, sim, rec = make("qualcomm")  # echo-required mute
    ring(session)
    session.calls.do(Action.ANSWER, Source.UI)
    assert wait_until(lambda: leds_are(sim, off_hook=True) and sim.hook, 10)
    sim.press_mute()
    assert wait_until(lambda: session.calls.muted, 10, "muted from the headset")
    assert wait_until(lambda: leds_are(sim, mute=True) and sim.muted, 10)
    session.calls.do(Action.MUTE_TOGGLE, Source.UI)  # the screen
    assert wait_until(lambda: leds_are(sim, mute=False) and not sim.muted, 10)
    session.calls.do(Action.MUTE, Source.KEYBOARD)
    assert wait_until(lambda: leds_are(sim, mute=True) and sim.muted, 10)
    sim.press_mute()
    assert wait_until(lambda: not session.calls.muted, 10)
    assert wait_until(lambda: leds_are(sim, mute=False) and not sim.muted, 10)
    sources = [m.source for m in rec.of(MuteChanged)]
    assert sources == [Source.HEADSET, Source.UI, Source.KEYBOARD, Source.HEADSET]
    # the echo came in time every time: the headset never flipped its mute back
    assert sim.flipped_back == 0


def test_echo_required_mute_pressed_with_no_call_is_undone_by_the_truth(make, session):
    svc, sim, rec = make("qualcomm")
    sim.press_mute()  # the headset mutes itself; the machine refuses (no call)
    assert rec.wait_for(lambda: rec.of(CommandRejected), 10)
    assert rec.of(CommandRejected)[0].source is Source.HEADSET
    assert wait_until(lambda: not sim.muted and leds_are(sim, mute=False), 10)
    assert not session.calls.muted


def test_state_mute_headset_reports_its_state(make, session):
    session.config = Config({"devices.headset.mute_mode": {"10d6:dd01": "state"}})
    svc, sim, rec = make("actions")
    ring(session)
    session.calls.do(Action.ANSWER, Source.UI)
    # the answer's lights reach the headset first (a hand is slower than that): a state
    # headset takes the host's Mute LED as its state, so a stale one would undo the press
    assert wait_until(lambda: leds_are(sim, off_hook=True) and sim.hook, 10)
    sim.press_mute()
    assert wait_until(lambda: session.calls.muted, 10)
    sim.press_mute()
    assert wait_until(lambda: not session.calls.muted, 10)
    assert [m.source for m in rec.of(MuteChanged)] == [Source.HEADSET, Source.HEADSET]


def test_flash_toggles_hold_and_off_hook_stays_lit(make, session):
    svc, sim, rec = make("blackwire")
    ring(session)
    session.calls.do(Action.ANSWER, Source.UI)
    assert wait_until(lambda: leds_are(sim, off_hook=True) and sim.hook, 10)
    sim.press_flash()
    assert wait_until(lambda: session.calls.state is CallState.ON_HOLD, 10)
    assert wait_until(lambda: leds_are(sim, off_hook=True), 10)
    sim.press_flash()
    assert wait_until(lambda: session.calls.state is CallState.ON_CALL, 10)


def test_wrong_size_and_unknown_reports_are_counted_and_ignored(make, session):
    svc, sim, rec = make("blackwire")
    sim.send_raw(b"\x08")  # too short
    sim.send_raw(b"\x08" + bytes(80))  # too long
    sim.send_raw(b"\x33\x01")  # unknown id
    assert wait_until(lambda: svc.driver.counts().bad_size == 2, 10)
    assert wait_until(lambda: svc.driver.counts().unknown_id == 1, 10)
    assert rec.wait_for(lambda: any(r.bad_size == 2 for r in rec.of(ev.HeadsetReports)), 10)
    ring(session)
    assert wait_until(lambda: leds_are(sim, ring=True), 10, "ring LED")  # a hand is slower
    sim.press_hook()  # still works
    assert wait_until(lambda: session.calls.state is CallState.ON_CALL, 10)


def test_a_flood_is_bounded_counted_and_the_headset_still_works(make, session):
    svc, sim, rec = make("blackwire")
    ring(session)
    session.calls.do(Action.ANSWER, Source.UI)
    same = sim.report_for({"hook_switch": 1})
    sent = sim.flood(3000, same) + sim.flood(400, block=True)
    assert sent > 0
    assert wait_until(lambda: svc.driver.counts().repeated > 0, 20)
    assert wait_until(lambda: svc.driver.counts().flood_dropped > 0, 20)
    # the thread still serves: LEDs, and a hang-up from the headset
    session.calls.do(Action.HANG_UP, Source.UI)
    assert wait_until(lambda: leds_are(sim, off_hook=False), 20)
    assert svc.status == "connected"


def test_unplug_mid_call_is_told_within_a_second_and_replug_resyncs(make, session):
    svc, sim, rec = make("blackwire")
    ring(session)
    session.calls.do(Action.ANSWER, Source.UI)
    assert wait_until(lambda: leds_are(sim, off_hook=True), 10)
    sim.unplug()
    assert rec.wait_for(lambda: rec.of(ev.HeadsetDisconnected), 10)
    gone = rec.of(ev.HeadsetDisconnected)[0]
    assert gone.reason == "unplugged" and "unplugged" in gone.message
    assert svc.status == "disconnected"
    assert session.calls.state is CallState.ON_CALL  # the call goes on
    session.calls.do(Action.MUTE, Source.UI)  # changed while unplugged
    sim.plug()
    assert wait_until(lambda: svc.status == "connected" and sim.connected, 10, "reconnected")
    assert wait_until(lambda: leds_are(sim, off_hook=True, mute=True), 10, "resynced")
    assert svc.driver.connections == 2 and len(headset_threads()) == 1


def test_unplug_is_published_within_one_second(make, session):
    import time

    svc, sim, rec = make("blackwire")
    t0 = time.monotonic()
    sim.unplug()
    assert rec.wait_for(lambda: rec.of(ev.HeadsetDisconnected), 10)
    at = next(t for t, e in rec.timed if isinstance(e, ev.HeadsetDisconnected))
    assert at - t0 < 1.0  # the bound, with the headroom of a 2-core CI


def test_two_headsets_the_chosen_wins_the_other_is_noted(make, session, tmp_path):
    other = HeadsetSimulator(tmp_path / "hw", "qualcomm", index=1).plug()
    try:
        svc, sim, rec = make("blackwire", device="qcc headset")
        assert wait_until(lambda: svc.headset is not None and svc.headset.node == "hidraw1", 10)
        assert wait_until(lambda: other.connected, 10)
        assert rec.wait_for(lambda: rec.of(ev.HeadsetIgnored), 10)
        assert rec.of(ev.HeadsetIgnored)[0].usb_id == "047f:c056"
        ring(session)
        # the counselor presses once the headset rings (its firmware follows the host's
        # lights: pressed before the Ring report lands, the late light would undo the press)
        assert wait_until(lambda: other.leds.get("ring") is True, 10, "the headset rings")
        sim.press_hook()  # the ignored one: nothing
        other.press_hook()
        assert wait_until(lambda: session.calls.state is CallState.ON_CALL, 10)
        assert [b.usage for b in rec.of(ev.HeadsetButton)] == ["hook_switch"]
    finally:
        other.unplug()


def test_a_second_headset_plugged_in_later_is_noted_and_ignored(make, session, tmp_path):
    svc, sim, rec = make("blackwire")
    later = HeadsetSimulator(tmp_path / "hw", "toggle", index=3).plug()
    try:
        assert rec.wait_for(lambda: rec.of(ev.HeadsetIgnored), 10)
        assert "hidraw3" in svc.driver.ignored.__repr__()
        assert svc.headset is not None and svc.headset.node == "hidraw0"
    finally:
        later.unplug()


def test_a_malformed_descriptor_is_rejected_with_a_reason(make, session, tmp_path):
    from devices.headset.families import MALFORMED

    bad = HeadsetSimulator(tmp_path / "hw", "blackwire", index=2, descriptor=MALFORMED["truncated"])
    bad.plug()
    try:
        svc, sim, rec = make("blackwire")
        assert rec.wait_for(lambda: rec.of(ev.HeadsetRejected), 10)
        rejected = rec.of(ev.HeadsetRejected)[0]
        assert rejected.reason == "bad_descriptor" and "malformed" in rejected.message
        assert svc.headset is not None and svc.headset.node == "hidraw0"
    finally:
        bad.unplug()


def test_an_absolute_hook_that_silently_followed_the_light_still_hangs_up():
    """Answered on the screen: the host lights Off-Hook and the headset's hook follows it,
    often without a report. The counselor's on-hook is then a change, not a repeat of the
    last report (the CI run that found it: the press was taken for a duplicate)."""
    from devices import options as opt
    from devices.headset.machine import HeadsetLogic, parse_actions

    bindings, _problems = parse_actions(opt.HEADSET_ACTIONS.default)
    logic = HeadsetLogic(bindings, hook_toggle=False)
    assert logic.feed({"hook_switch": 0}, CallState.RINGING, False) == []  # at rest
    logic.follow_off_hook(True)  # answered from the screen: Off-Hook lit
    (d,) = logic.feed({"hook_switch": 0}, CallState.ON_CALL, False)
    assert d.action is Action.HANG_UP
    logic.follow_off_hook(False)  # hung up from the screen: the headset follows, reports 0
    assert logic.feed({"hook_switch": 0}, CallState.WRAP_UP, False) == []  # not a second press
    toggle = HeadsetLogic(bindings, hook_toggle=True)
    toggle.follow_off_hook(True)  # a toggle button has no state to follow
    assert toggle.feed({"hook_switch": 1}, CallState.ON_CALL, False)[0].action is Action.HANG_UP
