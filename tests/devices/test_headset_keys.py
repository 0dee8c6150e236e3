"""The evdev fallback: headset buttons that come as keys, mapped by the same option. No
/dev/uinput here, so the mapping is tested on evdev InputEvents, as the reader hands them."""

from __future__ import annotations

import pytest

from calls.model import Action, CallState
from devices import options as opt
from devices.headset.evdev_keys import EvdevKeys, find_key_devices, key_press
from devices.headset.machine import HeadsetLogic, parse_actions

evdev = pytest.importorskip("evdev")
ecodes = evdev.ecodes


def event(code: int, value: int, ev_type: int = ecodes.EV_KEY):
    return evdev.InputEvent(0, 0, ev_type, code, value)


def test_key_codes_are_the_kernels():
    for name in ("KEY_PHONE", "KEY_MICMUTE", "KEY_PICKUP_PHONE", "KEY_HANGUP_PHONE"):
        e = event(ecodes.ecodes[name], 1)
        assert key_press(e.type, e.code, e.value) == name


def test_only_presses_of_headset_keys_count():
    for e in (event(ecodes.KEY_PHONE, 0), event(ecodes.KEY_PHONE, 2), event(ecodes.KEY_A, 1)):
        assert key_press(e.type, e.code, e.value) is None
    e = event(0, 0, ecodes.EV_SYN)
    assert key_press(e.type, e.code, e.value) is None


def test_key_phone_answers_while_ringing_and_hangs_up_during_a_call():
    bindings, problems = parse_actions(opt.HEADSET_ACTIONS.default)
    assert problems == []
    logic = HeadsetLogic(bindings, hook_toggle=False)
    ringing = logic.key("KEY_PHONE", CallState.RINGING)
    assert ringing is not None and ringing.action is Action.ANSWER
    on_call = logic.key("KEY_PHONE", CallState.ON_HOLD)
    assert on_call is not None and on_call.action is Action.HANG_UP
    idle = logic.key("KEY_PHONE", CallState.AVAILABLE)
    assert idle is not None and idle.action is None and idle.ignored == "no_call"
    mute = logic.key("KEY_MICMUTE", CallState.ON_CALL)
    assert mute is not None and mute.action is Action.MUTE_TOGGLE
    assert logic.key("KEY_PICKUP_PHONE", CallState.RINGING) is None  # not bound by default


def test_bad_bindings_are_reported():
    _good, problems = parse_actions({"KEY_A:press": "answer", "phone_mute:press": "dance"})
    assert len(problems) == 2


def test_no_input_devices_means_no_reader(tmp_path):
    assert find_key_devices(str(tmp_path / "none")) == []
    keys = EvdevKeys(lambda name: None, str(tmp_path))
    assert keys.start() is False
    keys.stop()
