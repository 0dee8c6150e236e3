"""The hold: Help held on to the hold time is an urgent escalation, and only that.

Over the real pty with the simulator (the reference firmware): a hold gives one urgent
escalation and no consultation first; a long press released before the hold gives one
consultation; a tap is what it was; the Help LED says which one the counselor will get. The
hold is judged by the box's clock (frames straight into the session); the option and the
bindings are validated; a configuration from before the hold works exactly as before.
"""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

from app.session import Session
from calls.events import CallStateChanged, EscalationRequested
from calls.model import Action, CallState, Source
from core.clock import SystemClock
from core.config import Config
from core.errors import ConfigError
from devices import events as ev
from devices.buttonbox import protocol as p
from devices.buttonbox.holds import HoldTimes, HostKind
from devices.buttonbox.keymap import URGENT, Binding, GestureRecognizer, parse_bindings
from devices.buttonbox.leds import compose, parse_mapping
from devices.options import BUTTONBOX_ACTIONS, BUTTONBOX_LEDS, BUTTONBOX_URGENT_PRESS_MS
from devices.service import ButtonBoxService, ignored_press, settings_from_config
from tests.devices.conftest import ALL_EVENTS, fast_settings
from tests.support.buttonbox_helpers import box_hears_host_for
from tests.support.toolkit import Recorder, wait_until

ROOT = Path(__file__).resolve().parents[2]
K = p.ButtonKind
HOLD, LOST = HostKind.HOLD, HostKind.LOST
AMBER, RED = "#ffa000", "#ff0000"
#: the default actions before the hold existed: what a configuration written then says
OLD_ACTIONS = {k: v for k, v in BUTTONBOX_ACTIONS.default.items() if k != "help:hold"}


def help_led(box) -> tuple[str, str]:
    return {n: (m, c) for n, m, c in box.leds}["help"]


def answered(box, rec: Recorder, session: Session) -> None:
    assert rec.wait_count(ev.ButtonBoxConnected, 1)
    box.press("answer")
    assert rec.wait_for(lambda: session.calls.state is CallState.ON_CALL)


def gestures(rec: Recorder) -> list[tuple[str, str, Action | None, str | None]]:
    return [(e.button, e.gesture, e.action, e.level) for e in rec.of(ev.ButtonPressed)]


# -- over the pty ------------------------------------------------------------------------------
def test_holding_help_to_the_hold_is_one_urgent_escalation_and_no_consultation(sim, wired, session):
    svc, rec = wired(sim)  # long press 400 ms, hold 1200 ms
    answered(sim, rec, session)
    t0 = time.monotonic()
    sim.button_down("help")
    # past the long press: the LED says "let go now and it is a consultation"
    assert wait_until(lambda: help_led(sim) == ("on", AMBER), 3, "the long-press light")
    assert rec.of(EscalationRequested) == []  # nothing is sent while it is held
    assert wait_until(lambda: help_led(sim) == ("blink_fast", RED), 4, "the hold light")
    t_esc, esc = rec.wait_event(EscalationRequested, timeout=3)
    assert t_esc - t0 >= 1.2 - 0.05  # never before the hold time (box clock)
    assert esc.level == URGENT and esc.source is Source.BUTTON_BOX
    sim.button_up("help")
    assert wait_until(lambda: not sim.box.pressed[3] and not sim.box.queue)  # up acknowledged
    assert box_hears_host_for(sim, 300)  # anything the release would cause has come
    assert [e.level for e in rec.of(EscalationRequested)] == [URGENT]  # once, no consultation
    assert gestures(rec) == [
        ("answer", "press", Action.ANSWER, None),
        ("help", "hold", Action.ESCALATE, URGENT),
    ]
    assert wait_until(lambda: help_led(sim)[0] == "off")  # released: the feedback is gone
    lit = [
        (v.mode, v.colour)
        for e in rec.of(ev.LedStateChanged)
        for v in e.leds
        if v.name == "help" and v.mode != "off"
    ]
    assert lit == [("on", AMBER), ("blink_fast", RED)]  # acknowledged by the box, in order


def test_a_long_press_released_before_the_hold_is_one_consultation(sim, wired, session):
    svc, rec = wired(sim, hold_ms=3000)  # room to let go well before the hold
    answered(sim, rec, session)
    t0 = time.monotonic()
    sim.button_down("help")
    assert wait_until(lambda: help_led(sim) == ("on", AMBER), 3, "the long-press light")
    assert box_hears_host_for(sim, 200)
    assert rec.of(EscalationRequested) == []  # decided on release, not at the long press
    sim.button_up("help")
    _t, esc = rec.wait_event(EscalationRequested, timeout=3)
    assert time.monotonic() - t0 < 3.0  # released before the hold
    assert esc.level == "consult" and esc.source is Source.BUTTON_BOX  # the default level
    assert wait_until(lambda: not sim.box.queue)
    assert box_hears_host_for(sim, 300)
    assert len(rec.of(EscalationRequested)) == 1
    assert gestures(rec)[1:] == [("help", "long", Action.ESCALATE, None)]
    assert wait_until(lambda: help_led(sim)[0] == "off")


def test_a_press_is_what_it_was(sim, wired, session):
    ignored = Recorder(session.bus, ev.PressIgnored)
    svc, rec = wired(sim)
    assert rec.wait_count(ev.ButtonBoxConnected, 1)
    sim.button_down("answer")  # a press-only button acts on down, no wait
    assert rec.wait_for(lambda: session.calls.state is CallState.ON_CALL)
    sim.button_up("answer")
    sim.press("help")  # a tap on Help
    _t, why = ignored.wait_event(ev.PressIgnored)
    assert (why.button, why.gesture, why.reason) == ("help", "press", "needs_long_press")
    sim.press("mute")
    assert rec.wait_for(lambda: session.calls.muted)
    sim.long_press("mute")  # mute has no hold: its long press acts at once, as before
    assert rec.wait_for(lambda: session.calls.state is CallState.ON_HOLD)
    assert wait_until(lambda: not sim.box.queue)
    assert box_hears_host_for(sim, 300)
    assert rec.of(EscalationRequested) == []
    assert help_led(sim)[0] == "off"  # a tap shows no gesture light
    assert [(b, g) for b, g, _a, _l in gestures(rec)] == [
        ("answer", "press"),
        ("help", "press"),
        ("mute", "press"),
        ("mute", "long"),
    ]


@pytest.fixture
def old_session(paths):
    """A session configured before the hold: only help:long, its own LED mapping."""
    leds = {k: v for k, v in BUTTONBOX_LEDS.default.items() if not k.startswith("gesture_")}
    config = Config({"devices.buttonbox.actions": OLD_ACTIONS, "devices.buttonbox.leds": leds})
    s = Session(config, paths=paths, clock=SystemClock(), attach=False)
    yield s
    s.stop()


def test_an_old_configuration_escalates_on_the_long_press_exactly_as_before(sim, old_session):
    session = old_session
    rec = Recorder(session.bus, *ALL_EVENTS)
    ignored = Recorder(session.bus, ev.PressIgnored)
    svc = ButtonBoxService(session, fast_settings(sim.path))
    session.add_service("buttonbox", svc)
    session.start()
    try:
        assert svc.problems == []
        assert svc.gestures.binding("help", "hold") is None
        answered(sim, rec, session)
        sim.press("help")
        _t, why = ignored.wait_event(ev.PressIgnored)
        assert why.reason == "needs_long_press"
        sim.button_down("help")
        _t, esc = rec.wait_event(EscalationRequested, timeout=3)  # at the long press, held
        assert sim.box.pressed[3] and esc.level == "consult"
        assert box_hears_host_for(sim, 1300)  # held on past the hold time
        sim.button_up("help")
        assert wait_until(lambda: not sim.box.pressed[3] and not sim.box.queue)
        assert box_hears_host_for(sim, 300)
        assert len(rec.of(EscalationRequested)) == 1  # no urgent one: no hold is bound
        assert [(b, g) for b, g, _a, _l in gestures(rec)][1:] == [
            ("help", "press"),
            ("help", "long"),
        ]
        lit = {v.name for e in rec.of(ev.LedStateChanged) for v in e.leds if v.mode != "off"}
        assert "help" not in lit  # no hold bound: no gesture light
    finally:
        svc.stop()


def test_a_custom_led_mapping_without_the_gesture_layers_gets_their_defaults(old_session, paths):
    svc = ButtonBoxService(old_session, fast_settings("/nonexistent"))
    assert set(svc.leds.layers) >= {"gesture_long", "gesture_hold"}
    assert svc.leds.layers["gesture_hold"]["help"].colour == RED
    svc.stop()
    config = Config({"devices.buttonbox.leds": {"gesture_long": "", "gesture_hold": ""}})
    session = Session(config, paths=paths, attach=False)
    off = ButtonBoxService(session, fast_settings("/nonexistent"))
    assert off.leds.layers["gesture_long"] == {}  # turned off on purpose: stays off
    off.stop()
    session.stop()


# -- the hold by the box's clock, frames straight into the session -----------------------------
@pytest.fixture
def rig():
    from tests.devices.test_buttonbox_latency_path import FrameRig

    r = FrameRig()  # DriverSettings(): hold 2500 ms; buttons answer, hangup, mute, help
    yield r
    r.close()


class Box:
    """Frames as a box writes them, into the session; what the press handler got."""

    def __init__(self, rig) -> None:
        self.rig, self.seq = rig, 0

    def button(self, name: str, kind: p.ButtonKind, t_ms: int, seq: int | None = None) -> list:
        self.seq = self.seq + 1 if seq is None else seq
        index = self.rig.BUTTONS.index(name)
        return self._frame(p.Button(index, kind, t_ms & 0xFFFFFFFF), self.seq)

    def error(self, code: p.ErrorCode, info: int = 1) -> list:
        self.seq += 1
        return self._frame(p.Error(code, info), self.seq)

    def heartbeat(self, uptime_ms: int, seq: int | None = None) -> list:
        return self._frame(p.Heartbeat(uptime_ms & 0xFFFFFFFF), self.seq if seq is None else seq)

    def _frame(self, msg: p.Message, seq: int) -> list:
        self.rig.presses.clear()
        self.rig.session.frame(p.encode_body(msg, seq))
        return list(self.rig.presses)


def test_the_hold_is_reached_by_the_box_clock_only(rig):
    box = Box(rig)
    assert box.button("help", K.DOWN, 1000) == [("help", K.DOWN)]
    assert box.button("help", K.LONG, 1800) == [("help", K.LONG)]
    assert box.heartbeat(3499) == []  # 2499 ms held
    assert box.heartbeat(3500) == [("help", HOLD)]  # no event waiting: still down at 3500
    assert box.heartbeat(3600) == []  # once
    assert box.button("help", K.UP, 3700) == [("help", K.UP)]


def test_a_release_on_its_way_is_never_taken_for_a_hold(rig):
    box = Box(rig)
    box.button("help", K.DOWN, 0)
    # the box has an event the host has not accepted (its number is ahead): the release,
    # resent after a dropped frame; its heartbeat after the hold time proves nothing
    assert box.heartbeat(5000, seq=box.seq + 1) == []
    assert box.button("help", K.UP, 2400) == [("help", K.UP)]  # released short: no hold


def test_a_late_release_after_the_hold_time_is_a_hold_first(rig):
    box = Box(rig)
    box.button("help", K.DOWN, 0)
    assert box.button("help", K.UP, 2600) == [("help", HOLD), ("help", K.UP)]


def test_another_buttons_event_tells_the_time_too(rig):
    box = Box(rig)
    box.button("help", K.DOWN, 0)
    assert box.button("answer", K.DOWN, 2600) == [("help", HOLD), ("answer", K.DOWN)]


def test_lost_events_forget_the_buttons_down(rig):
    box = Box(rig)
    box.button("help", K.DOWN, 0)
    # a gap in the numbers: the event skipped may have been help's release
    assert box.button("answer", K.DOWN, 3000, seq=box.seq + 2) == [
        ("help", LOST),
        ("answer", K.DOWN),
    ]
    assert box.heartbeat(9000) == [("answer", HOLD)]  # help is not timed any more
    box.button("answer", K.UP, 9100)
    box.button("help", K.DOWN, 10000)
    assert box.error(p.ErrorCode.EVENT_LOST) == [("help", LOST)]  # the box gave one up
    assert box.heartbeat(20000) == []


def test_box_time_wraps_around():
    holds = HoldTimes(2500)
    holds.down("help", 0xFFFFF000)
    assert holds.seen((0xFFFFF000 + 2499) & 0xFFFFFFFF) == []
    assert holds.seen((0xFFFFF000 + 2500) & 0xFFFFFFFF) == ["help"]
    holds.down("mute", 5000)
    assert holds.seen(4000) == []  # a time before the down is not a hold
    assert holds.up("mute", 4999 + 2500) is False
    assert holds.forget() == ["help"]  # reported, still down: forgotten too


# -- gestures, bindings, options ------------------------------------------------------------------
def test_gestures_with_long_and_hold_bound_decide_the_long_press_on_release():
    g = GestureRecognizer(parse_bindings(BUTTONBOX_ACTIONS.default)[0])
    assert g.feed("help", K.DOWN) is None
    assert g.feed("help", K.UP) == "press"  # a tap (no action: needs a long press)
    assert g.feed("help", K.DOWN) is None
    assert g.feed("help", K.LONG) is None and g.feedback() == "long"  # not yet
    assert g.feed("help", K.UP) == "long" and g.feedback() is None  # released before the hold
    assert g.feed("help", K.DOWN) is None
    assert g.feed("help", K.LONG) is None
    assert g.feed("help", HOLD) == "hold" and g.feedback() == "hold"
    assert g.binding("help", "hold") == Binding(Action.ESCALATE, URGENT)
    assert g.feed("help", HOLD) is None  # never twice
    assert g.feed("help", K.UP) is None and g.feedback() is None  # no long press after it
    assert g.feed("help", K.DOWN) is None
    assert g.feed("help", HOLD) == "hold"  # the LONG may come late: the hold is the hold
    assert g.feed("help", K.LONG) is None
    g.feed("help", K.UP)
    g.feed("help", K.DOWN)
    g.feed("help", K.LONG)
    assert g.feed("help", LOST) is None and g.feedback() is None  # not known: nothing
    assert g.feed("help", K.UP) is None
    assert g.feed("mute", K.DOWN) is None
    assert g.feed("mute", K.LONG) == "long"  # no hold bound: at once, as before
    assert g.feed("mute", HOLD) is None and g.feedback() is None
    assert g.feed("answer", K.DOWN) == "press"
    assert g.feed("answer", HOLD) is None


def test_old_bindings_ignore_the_hold():
    g = GestureRecognizer(parse_bindings(OLD_ACTIONS)[0])
    assert g.feed("help", K.DOWN) is None
    assert g.feed("help", K.LONG) == "long" and g.feedback() is None
    assert g.feed("help", HOLD) is None
    assert g.feed("help", K.UP) is None


def test_bindings_of_the_hold_and_the_urgent_escalation():
    from calls.options import DEFAULT_ESCALATION_LEVEL
    from escalation.levels import URGENT as LEVEL_URGENT

    assert URGENT == LEVEL_URGENT and URGENT in (DEFAULT_ESCALATION_LEVEL.choices or ())
    bindings, problems = parse_bindings(
        {
            "help:hold": "escalate_urgent",
            "mute:hold": "escalate",  # a consultation on a hold: deliberate enough
            "a:press": "escalate_urgent",
            "b:long": "escalate_urgent",
            "c:press": "escalate",
            "d:tap": "answer",
        }
    )
    assert bindings == {
        ("help", "hold"): Binding(Action.ESCALATE, URGENT),
        ("mute", "hold"): Binding(Action.ESCALATE),
    }
    assert len(problems) == 4
    assert sum("urgent escalation needs a hold" in x for x in problems) == 2
    assert any("escalate needs a long press or a hold" in x for x in problems)
    assert any("'button:hold'" in x for x in problems)
    cmd = bindings[("help", "hold")].command()
    assert (cmd.action, cmd.source, cmd.level) == (Action.ESCALATE, Source.BUTTON_BOX, URGENT)


def test_ignored_presses_know_the_hold():
    bound = {("help", "long"), ("help", "hold"), ("x", "hold")}
    assert ignored_press("help", "press", bound).reason == "needs_long_press"
    assert ignored_press("help", "hold", bound) is None  # only given where bound
    tapped = ignored_press("x", "press", bound)
    assert tapped.reason == "needs_hold" and "keep holding it" in tapped.message
    assert ignored_press("x", "long", bound).reason == "needs_hold"  # let go before the hold
    assert ignored_press("answer", "long", {("answer", "press")}) is None  # as before


def test_the_urgent_press_option_is_typed_and_bounded():
    assert BUTTONBOX_URGENT_PRESS_MS.key == "devices.buttonbox.urgent_press_ms"
    assert BUTTONBOX_URGENT_PRESS_MS.type is int and BUTTONBOX_URGENT_PRESS_MS.default == 2500
    assert Config({"devices.buttonbox.urgent_press_ms": 3000}).get(BUTTONBOX_URGENT_PRESS_MS)
    for bad in (1000, 20000, "2500", 2.5):
        with pytest.raises(ConfigError):
            Config({"devices.buttonbox.urgent_press_ms": bad})
    assert settings_from_config(Config.defaults()).hold_ms == 2500
    near = Config(
        {"devices.buttonbox.long_press_ms": 2000, "devices.buttonbox.urgent_press_ms": 2200}
    )
    assert settings_from_config(near).hold_ms == 2500  # kept 500 ms after the long press


def test_a_configuration_with_bad_hold_bindings_is_reported_and_the_rest_works(paths):
    actions = {
        "help:press": "escalate_urgent",
        "help:long": "escalate_urgent",
        "help:hold": "escalate_urgent",
        "mute:hold": 3,
        "mute:held": "mute_toggle",
    }
    session = Session(Config({"devices.buttonbox.actions": actions}), paths=paths, attach=False)
    svc = ButtonBoxService(session, fast_settings("/nonexistent"))
    try:
        assert len(svc.problems) == 4
        assert sum("urgent escalation needs a hold" in x for x in svc.problems) == 2
        assert any("unknown action '3'" in x for x in svc.problems)
        assert any("'mute:held'" in x for x in svc.problems)
        assert svc.gestures.binding("help", "hold") == Binding(Action.ESCALATE, URGENT)
    finally:
        svc.stop()
        session.stop()


def test_gesture_led_layers_sit_on_top_and_not_when_offline():
    layers, problems = parse_mapping(BUTTONBOX_LEDS.default)
    assert problems == []
    on_call = compose(layers, CallState.ON_CALL, False, "pending", False)
    assert on_call["help"].mode is p.LedMode.BLINK_FAST and on_call["help"].colour != RED
    long = compose(layers, CallState.ON_CALL, False, "pending", False, "long")
    assert (long["help"].mode, long["help"].colour) == (p.LedMode.ON, AMBER)
    hold = compose(layers, CallState.ON_CALL, False, "pending", False, "hold")
    assert (hold["help"].mode, hold["help"].colour) == (p.LedMode.BLINK_FAST, RED)
    assert "help" not in compose(layers, CallState.ON_CALL, False, None, True, "hold")


def test_every_option_description_of_the_devices_is_marked_for_translation():
    tree = ast.parse((ROOT / "devices/options.py").read_text(encoding="utf-8"))
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "declare"
    ]
    assert len(calls) >= 12
    for call in calls:
        description = call.args[3]
        assert isinstance(description, ast.Call) and getattr(description.func, "id", "") == "N_"


def test_the_service_sends_the_urgent_level_and_reports_it(paths, fake_clock):
    """The command the hold sends is the keyboard's urgent one (main_window's _key_pressed)."""
    session = Session(paths=paths, clock=fake_clock, attach=False).start()
    rec = Recorder(session.bus, EscalationRequested, ev.ButtonPressed, CallStateChanged)
    svc = ButtonBoxService(session, fast_settings("/nonexistent"))
    try:
        session.calls.do(Action.ANSWER)
        for kind in (K.DOWN, K.LONG, HOLD, K.UP):
            svc._on_button("help", kind)  # as the owner thread hands them on
        assert [(e.level, e.source) for e in rec.of(EscalationRequested)] == [
            (URGENT, Source.BUTTON_BOX)
        ]
        assert rec.of(ev.ButtonPressed)[-1].level == URGENT
        assert svc.leds.frame.get("help") is None  # released: no gesture light
    finally:
        svc.stop()
        session.stop()
