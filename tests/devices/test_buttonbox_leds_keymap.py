"""LED mapping and controller, button gestures, and the keyboard map (pure parts)."""

from __future__ import annotations

import pytest

from app.session import Session
from calls.model import Action, CallState
from devices.buttonbox.keymap import Binding, GestureRecognizer, parse_bindings
from devices.buttonbox.leds import LedController, LedPattern, compose, parse_mapping, parse_spec
from devices.buttonbox.protocol import ButtonKind, LedMode
from devices.keyboard import key_level, normalise, resolve_key, validate
from devices.options import BUTTONBOX_ACTIONS, BUTTONBOX_LEDS, KEYBOARD_MAP

K = ButtonKind


def test_spec_parsing_and_errors():
    assert parse_spec("answer=blink:green, mute=on:#ff0000") == {
        "answer": LedPattern(LedMode.BLINK, (0, 200, 0)),
        "mute": LedPattern(LedMode.ON, (255, 0, 0)),
    }
    assert parse_spec("") == {}
    for bad in ("answer", "answer=glow", "answer=on:chartreuse", "answer=on:#zz0000"):
        with pytest.raises(ValueError):
            parse_spec(bad)
    layers, problems = parse_mapping(
        {"ringing": "answer=strobe", "bogus": "", "on_call": "answer=on"}
    )
    assert set(layers) == {"on_call"} and len(problems) == 2


def test_layers_compose_call_state_then_muted_then_escalation():
    layers, problems = parse_mapping(BUTTONBOX_LEDS.default)
    assert problems == []
    assert compose(layers, CallState.AVAILABLE, False, None, False) == {}
    ringing = compose(layers, CallState.RINGING, False, None, False)
    assert ringing["answer"].mode is LedMode.BLINK_FAST
    muted = compose(layers, CallState.ON_CALL, True, "pending", False)
    assert muted["answer"].mode is LedMode.ON and muted["mute"].mode is LedMode.ON
    assert muted["help"].mode is LedMode.BLINK_FAST
    assert (
        compose(layers, CallState.ON_CALL, True, "acknowledged", False)["help"].mode is LedMode.ON
    )
    assert compose(layers, CallState.ON_HOLD, False, None, False)["answer"].mode is LedMode.BLINK
    assert compose(layers, CallState.ON_CALL, True, "pending", True) == {
        "hangup": LedPattern(LedMode.PULSE, (255, 0, 0))
    }


def test_led_controller_follows_the_call_machine_and_escalation(paths, fake_clock):
    session = Session(paths=paths, clock=fake_clock, attach=False).start()
    frames: list[dict] = []
    ctl = LedController(session.bus, BUTTONBOX_LEDS.default, frames.append)
    ctl.push(force=True)
    session.calls.do(Action.ANSWER)  # companion backend: answering starts a call
    assert frames[-1]["answer"].mode is LedMode.ON
    session.calls.do(Action.MUTE_TOGGLE)
    assert frames[-1]["mute"].mode is LedMode.ON
    session.calls.do(Action.HOLD_TOGGLE)
    assert frames[-1]["answer"].mode is LedMode.BLINK
    ctl.set_escalation("pending")
    assert frames[-1]["help"].mode is LedMode.BLINK_FAST
    ctl.set_escalation("acknowledged")
    assert frames[-1]["help"].mode is LedMode.ON
    ctl.set_escalation(None)
    assert "help" not in frames[-1]
    with pytest.raises(ValueError):
        ctl.set_escalation("maybe")
    n = len(frames)
    ctl.push()
    assert len(frames) == n  # no change, nothing sent
    session.calls.do(Action.HANG_UP)
    assert frames[-1].get("answer", LedPattern(LedMode.OFF)).mode is LedMode.PULSE  # wrap-up
    ctl.set_offline(True)
    assert set(frames[-1]) == {"hangup"}
    session.stop()


def test_bindings_refuse_escalate_on_a_tap():
    bindings, problems = parse_bindings(BUTTONBOX_ACTIONS.default)
    assert problems == []
    assert bindings[("help", "long")] == Binding(Action.ESCALATE)  # the default level
    assert bindings[("help", "hold")] == Binding(Action.ESCALATE, "urgent")
    bindings, problems = parse_bindings(
        {"help:press": "escalate", "x": "answer", "a:press": "dance", "b:long": "answer"}
    )
    assert bindings == {("b", "long"): Binding(Action.ANSWER)} and len(problems) == 3


#: the default actions before the hold existed: what a configuration written then says
OLD_ACTIONS = {k: v for k, v in BUTTONBOX_ACTIONS.default.items() if not k.endswith(":hold")}


def test_gestures_press_on_down_unless_long_is_bound():
    """Without a hold binding (a configuration from before the hold), exactly as before."""
    assert OLD_ACTIONS == {
        "answer:press": "answer",
        "hangup:press": "hang_up",
        "mute:press": "mute_toggle",
        "mute:long": "hold_toggle",
        "help:long": "escalate",
    }
    g = GestureRecognizer(parse_bindings(OLD_ACTIONS)[0])
    assert g.feed("answer", K.DOWN) == "press"  # at once, no wait for release
    assert g.feed("answer", K.UP) is None
    assert g.feed("help", K.DOWN) is None  # help only has a long binding
    assert g.feed("help", K.UP) == "press"  # a tap is a press... with no action
    assert g.action("help", "press") is None
    assert g.feed("help", K.DOWN) is None
    assert g.feed("help", K.LONG) == "long"
    assert g.action("help", "long") is Action.ESCALATE
    assert g.feed("help", K.LONG) is None  # never twice
    assert g.feed("help", K.UP) is None  # and no press after a long
    assert g.feed("mute", K.LONG) is None  # LONG without DOWN (after a reconnect)
    assert g.feed("mute", K.UP) is None


def test_keyboard_map_defaults_and_resolution():
    km = KEYBOARD_MAP.default
    assert resolve_key("F5", km) is Action.ANSWER
    assert resolve_key("F6", km) is Action.HOLD_TOGGLE
    assert resolve_key("F7", km) is Action.MUTE_TOGGLE
    assert resolve_key("F8", km) is Action.HANG_UP
    assert resolve_key("shift+ctrl+e", km) is Action.ESCALATE
    assert resolve_key("F9", km) is Action.FINISH_WRAP_UP
    assert resolve_key("F10", km, CallState.AVAILABLE) is Action.START_BREAK
    assert resolve_key("F10", km, CallState.BREAK) is Action.END_BREAK
    assert resolve_key("F11", km) is None
    pedal = {"F13": "answer", "Media Play": "hang_up", "B": "escalate", "Alt+B": "escalate"}
    assert resolve_key("f13", pedal) is Action.ANSWER
    assert resolve_key("media play", pedal) is Action.HANG_UP
    assert resolve_key("B", pedal) is None  # a bare key cannot escalate
    assert resolve_key("Alt+B", pedal) is Action.ESCALATE
    good, problems = validate(pedal)
    assert len(problems) == 1 and "escalate" in problems[0]
    assert normalise("meta+alt+ctrl+shift+x") == "Ctrl+Alt+Shift+Meta+X"


def test_urgent_escalation_is_a_deliberate_chord_of_its_own():
    km = KEYBOARD_MAP.default
    assert resolve_key("Ctrl+Shift+U", km) is Action.ESCALATE
    assert key_level("ctrl+shift+u", km) == "urgent"
    assert key_level("Ctrl+Shift+E", km) is None  # the default level (a consultation)
    one_modifier = {"Ctrl+U": "escalate_urgent", "Alt+Shift+U": "escalate_urgent"}
    good, problems = validate(one_modifier)
    assert list(good.values()) == ["escalate_urgent"] and len(problems) == 1
    assert resolve_key("Ctrl+U", one_modifier) is None
