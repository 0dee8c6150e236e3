"""The headset as vendors build it, and the lights that follow the call.

:class:`HeadsetLogic` (pure, no thread, no clock) turns the usage values of each input report
into *gestures* and call actions, as the firmware means them:

- **Hook switch, absolute** (a state, 1 = off-hook; most headsets): only a change counts.
  ``off_hook`` while a call rings answers, ``on_hook`` during a call (on hold too) hangs up.
  A change that agrees with the call (the headset following the Off-Hook LED Faro sent after
  an answer from the screen) does nothing: it is the echo, not a press.
- **Hook switch, toggle** (the Relative flag, or ``devices.headset.hook_mode``): a press
  (0 → non-zero) means off-hook while it rings and on-hook during a call; with nothing
  ringing and no call it is ignored, with a reason for the console (``no_call``).
- **Phone Mute**: a press (0 → non-zero) toggles mute (``press``; Relative, or absolute but
  momentary, as most are), or, ``state`` (``devices.headset.mute_mode``), the report is the
  headset's mute state: a change asks for exactly that state (mute / unmute).
- **Flash**: a press toggles hold.

The bindings (``devices.headset.actions``) map ``usage:gesture`` to an action; the special
``answer_or_hang_up`` (KEY_PHONE, a toggle hook) answers while ringing and hangs up during a
call. :class:`HeadsetLeds` follows CallStateChanged and MuteChanged like the box's
LedController; the service re-sends the LEDs after every press (the truth, whether the
machine accepted the command or not) and after every (re)connect, so a headset that flips
its own mute or hook state back without the host's echo agrees with Faro again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from calls.events import CallStateChanged, MuteChanged
from calls.model import Action, CallState
from core.events import EventBus
from core.i18n import _

log = logging.getLogger(__name__)

ANSWER_OR_HANG_UP = "answer_or_hang_up"
ACTIONS = ("answer", "hang_up", "mute_toggle", "hold_toggle", ANSWER_OR_HANG_UP)
GESTURES = {
    "hook_switch": ("off_hook", "on_hook"),
    "phone_mute": ("press",),
    "flash": ("press",),
    "redial": ("press",),
    "drop": ("press",),
}
#: evdev keys a headset's buttons may come as (the fallback), with their one gesture
KEYS = ("KEY_PHONE", "KEY_MICMUTE", "KEY_PHONE_HANGUP", "KEY_PICKUP_PHONE", "KEY_HANGUP_PHONE")
LEDS = ("off_hook", "ring", "mute", "hold", "microphone", "ringer")


def parse_actions(mapping: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """``{"usage:gesture": action}`` checked: the usable bindings and every problem."""
    out: dict[str, str] = {}
    problems: list[str] = []
    for key, action in mapping.items():
        usage, sep, gesture = key.partition(":")
        known = gesture in GESTURES.get(usage, ()) or (usage in KEYS and gesture == "press")
        if not sep or not known:
            problems.append(f"unknown headset gesture '{key}'")
        elif action not in ACTIONS:
            problems.append(f"{key}: unknown action '{action}' (one of {', '.join(ACTIONS)})")
        else:
            out[key] = action
    return out, problems


@dataclass(frozen=True, slots=True)
class Decision:
    """What one usage change in a report meant."""

    usage: str
    value: int
    gesture: str
    action: Action | None  # None: nothing to do (an echo) or ignored
    ignored: str | None = None  # a reason code when a press did nothing
    message: str = ""


def resolve(action: str, state: CallState) -> Action | None:
    if action == ANSWER_OR_HANG_UP:
        if state is CallState.RINGING:
            return Action.ANSWER
        return Action.HANG_UP if state.in_call else None
    return Action(action)


class HeadsetLogic:
    """Usage values of each report → decisions, from the call state at that moment."""

    def __init__(
        self, bindings: Mapping[str, str], hook_toggle: bool, mute_state: bool = False
    ) -> None:
        self.bindings = dict(bindings)
        self.hook_toggle = hook_toggle
        self.mute_state = mute_state
        self._last: dict[str, int] = {}

    def reset(self) -> None:
        """A new connection: every usage at rest again."""
        self._last.clear()

    def follow_off_hook(self, off_hook: bool) -> None:
        """The host lit (or cleared) the Off-Hook light: an absolute hook switch follows it."""
        if not self.hook_toggle:
            self._last["hook_switch"] = int(off_hook)

    def feed(self, values: Mapping[str, int], state: CallState, muted: bool) -> list[Decision]:
        out: list[Decision] = []
        for usage, value in values.items():
            # a new connection starts from rest: on-hook (the LEDs just sent say so, and the
            # firmware follows them), not muted, nothing pressed
            before = self._last.get(usage, 0)
            self._last[usage] = value
            if value == before:
                continue
            decision = self._decide(usage, value, before, state, muted)
            if decision is not None:
                out.append(decision)
        return out

    def key(self, key: str, state: CallState) -> Decision | None:
        """An evdev key press (the fallback): its binding, resolved by the call state."""
        action = self.bindings.get(f"{key}:press")
        if action is None:
            return None
        return self._act(key, 1, "press", action, state)

    def _decide(
        self, usage: str, value: int, before: int, state: CallState, muted: bool
    ) -> Decision | None:
        if usage == "hook_switch":
            if self.hook_toggle:
                if not value:
                    return None  # the release
                if state is CallState.RINGING:
                    gesture = "off_hook"
                elif state.in_call:
                    gesture = "on_hook"
                else:
                    return Decision(
                        usage,
                        value,
                        "press",
                        None,
                        "no_call",
                        _("The headset's call button did nothing: no call is ringing."),
                    )
            else:
                gesture = "off_hook" if value else "on_hook"
                if gesture == "off_hook" and state is not CallState.RINGING:
                    return None  # agrees with the call (or nothing to answer): an echo
                if gesture == "on_hook" and not state.in_call:
                    return None
            return self._act(usage, value, gesture, self.bindings.get(f"{usage}:{gesture}"), state)
        if usage == "phone_mute" and self.mute_state:
            if bool(value) == muted:
                return None  # the headset agrees
            action = Action.MUTE if value else Action.UNMUTE
            if self.bindings.get("phone_mute:press") is None:
                return None
            return Decision(usage, value, "press", action)
        if not value:
            return None  # a release
        return self._act(usage, value, "press", self.bindings.get(f"{usage}:press"), state)

    def _act(
        self, usage: str, value: int, gesture: str, action: str | None, state: CallState
    ) -> Decision:
        if action is None:
            return Decision(
                usage,
                value,
                gesture,
                None,
                "unbound",
                _("Nothing is set for the headset's {usage} ({gesture}).").format(
                    usage=usage, gesture=gesture
                ),
            )
        resolved = resolve(action, state)
        if resolved is None:
            return Decision(
                usage,
                value,
                gesture,
                None,
                "no_call",
                _("The headset's call button did nothing: no call is ringing."),
            )
        return Decision(usage, value, gesture, resolved)


def wanted_leds(state: CallState, muted: bool) -> dict[str, bool]:
    """The lights of a call state: ringing → Ring (and Ringer), on call / on hold →
    Off-Hook (kept on during hold: some headsets hang up when the host clears it), on hold →
    Hold, muted in a call → Mute and Microphone."""
    ringing = state is CallState.RINGING
    in_call = state.in_call
    mute = muted and in_call
    return {
        "ring": ringing,
        "ringer": ringing,
        "off_hook": in_call,
        "hold": state is CallState.ON_HOLD,
        "mute": mute,
        "microphone": mute,
    }


class HeadsetLeds:
    """Follows the call machine's events and hands each new LED state to ``sink``."""

    def __init__(
        self,
        bus: EventBus,
        sink: Callable[[dict[str, bool]], None],
        *,
        state: CallState = CallState.AVAILABLE,
        muted: bool = False,
    ) -> None:
        self._sink = sink
        self._lock = threading.Lock()
        self._state, self._muted = state, muted
        self._last: dict[str, bool] | None = None
        bus.subscribe(CallStateChanged, self._on_state)
        bus.subscribe(MuteChanged, self._on_mute)

    @property
    def wanted(self) -> dict[str, bool]:
        with self._lock:
            return wanted_leds(self._state, self._muted)

    def push(self, force: bool = False) -> None:
        with self._lock:
            leds = wanted_leds(self._state, self._muted)
            if leds == self._last and not force:
                return
            self._last = leds
            self._sink(leds)  # under the lock: states reach the sink in order

    def _on_state(self, event: CallStateChanged) -> None:
        with self._lock:
            self._state, self._muted = event.state, event.muted
        self.push()

    def _on_mute(self, event: MuteChanged) -> None:
        with self._lock:
            self._muted = event.muted
        self.push()
