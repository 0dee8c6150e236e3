"""Button gestures and the call actions they are bound to.

The box reports ``down``, ``up`` and ``long`` (still held after the long-press time); the host
adds ``hold`` (held for the hold time, ``devices.buttonbox.urgent_press_ms``, judged by the
box's clock: :mod:`devices.buttonbox.holds`) and ``lost`` (the button's events may have been
lost). The gestures:

- ``press``: a button with neither a long nor a hold binding is a press at once on ``down``,
  so answering costs no extra wait; any other button is a press on ``up`` if nothing came
  first.
- ``long``: on a button without a hold binding, at once when the box says ``long``. On a
  button with a hold binding it is decided on ``up`` (released after the long-press time,
  before the hold time), so that holding on to the hold gives the hold *only*: never a long
  press first.
- ``hold``: when the hold time is reached, on a button with a hold binding.

Escalate may only be bound to ``long`` or ``hold``, an urgent escalation (``escalate_urgent``)
only to ``hold``: deliberate gestures, never a tap.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from calls.model import Action, Command, Source
from devices.buttonbox.holds import HostKind, Kind
from devices.buttonbox.protocol import ButtonKind

log = logging.getLogger(__name__)

GESTURES = ("press", "long", "hold")
#: the urgent level (imminent risk): ``escalation.levels.URGENT``, which devices/ may not
#: import (the same layer); the keyboard's ``escalate_urgent`` names it the same way
URGENT = "urgent"


@dataclass(frozen=True, slots=True)
class Binding:
    """What a gesture does: a call action, and for an escalation its level (None: the
    default level, ``calls.default_escalation_level``)."""

    action: Action
    level: str | None = None

    def command(self, source: Source = Source.BUTTON_BOX) -> Command:
        return Command(self.action, source, None, self.level)


BOX_ACTIONS: dict[str, Binding] = {
    a.value: Binding(a)
    for a in (
        Action.ANSWER,
        Action.HANG_UP,
        Action.MUTE_TOGGLE,
        Action.HOLD_TOGGLE,
        Action.ESCALATE,
    )
}
BOX_ACTIONS["escalate_urgent"] = Binding(Action.ESCALATE, URGENT)
#: the gestures each escalation may be bound to
DELIBERATE = {"escalate": frozenset({"long", "hold"}), "escalate_urgent": frozenset({"hold"})}


def parse_bindings(
    mapping: Mapping[str, str],
) -> tuple[dict[tuple[str, str], Binding], list[str]]:
    """``{"help:long": "escalate"}`` → ``{("help", "long"): Binding(Action.ESCALATE)}`` and
    problems. A bad entry is left out and described in the problems list (the rest works)."""
    bindings: dict[tuple[str, str], Binding] = {}
    problems: list[str] = []
    for key, value in mapping.items():
        button, sep, gesture = str(key).partition(":")
        if not sep or not button or gesture not in GESTURES:
            problems.append(f"'{key}': use 'button:press', 'button:long' or 'button:hold'")
            continue
        binding = BOX_ACTIONS.get(str(value))
        if binding is None:
            problems.append(f"'{key}': unknown action '{value}' (one of {', '.join(BOX_ACTIONS)})")
            continue
        allowed = DELIBERATE.get(str(value))
        if allowed is not None and gesture not in allowed:
            problems.append(
                f"'{key}': escalate needs a long press or a hold, not a tap"
                if value == "escalate"
                else f"'{key}': an urgent escalation needs a hold ('{button}:hold')"
            )
            continue
        bindings[(button, gesture)] = binding
    return bindings, problems


# the state of a button that is down
_DOWN = "down"  # nothing decided yet
_LONG = "long"  # past the long-press time, a hold bound: decided on up or at the hold
_HELD = "held"  # the hold was reached (and given)
_DONE = "done"  # a gesture was given: nothing more until up


class GestureRecognizer:
    """Turns the box's down/up/long (and the host's hold/lost) of named buttons into
    gestures. Pure; one per connection (reset on connect and disconnect)."""

    def __init__(self, bindings: Mapping[tuple[str, str], Binding | Action]) -> None:
        self._bindings = {
            k: v if isinstance(v, Binding) else Binding(v) for k, v in bindings.items()
        }
        self._long_bound = {b for (b, g) in self._bindings if g == "long"}
        self._hold_bound = {b for (b, g) in self._bindings if g == "hold"}
        self._state: dict[str, str] = {}  # button → its state while down

    def binding(self, button: str, gesture: str) -> Binding | None:
        return self._bindings.get((button, gesture))

    def action(self, button: str, gesture: str) -> Action | None:
        b = self._bindings.get((button, gesture))
        return b.action if b is not None else None

    def reset(self) -> None:
        self._state.clear()

    def feedback(self) -> str | None:
        """What a button with a hold binding that is held now would give: ``"hold"`` once
        its hold time is reached, ``"long"`` once its long-press time is (released now: a
        long press), None otherwise. For the LEDs (layers gesture_hold, gesture_long)."""
        states = set(self._state.values())
        if _HELD in states:
            return "hold"
        if _LONG in states:
            return "long"
        return None

    def feed(self, button: str, kind: Kind) -> str | None:
        state = self._state.get(button)
        if kind is ButtonKind.DOWN:
            self._state[button] = _DOWN
            waits = button in self._long_bound or button in self._hold_bound
            return None if waits else "press"
        if kind is ButtonKind.LONG:
            if state != _DOWN:
                return None  # a LONG without DOWN (after a reconnect), or twice
            if button in self._hold_bound:
                self._state[button] = _LONG  # decided on up, or at the hold
                return None
            self._state[button] = _DONE
            return "long"
        if kind is HostKind.HOLD:
            if button in self._hold_bound and state in (_DOWN, _LONG):
                self._state[button] = _HELD
                return "hold"
            return None
        if kind is HostKind.LOST:
            self._state.pop(button, None)  # what happened to it is not known: no gesture
            return None
        # UP
        self._state.pop(button, None)
        if state == _LONG:
            return "long"
        if state == _DOWN and (button in self._long_bound or button in self._hold_bound):
            return "press"
        return None
