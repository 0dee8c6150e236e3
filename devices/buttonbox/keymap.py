"""Button gestures and the call actions they are bound to.

The box reports ``down``, ``up`` and ``long`` (still held after the long-press time). A
button with no long-press binding is a ``press`` at once on ``down``, so answering costs no
extra wait; a button with a long-press binding is a ``press`` on ``up`` if ``long`` did not
come first. Escalate may only be bound to ``long``: a deliberate gesture, never a tap.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from calls.model import Action
from devices.buttonbox.protocol import ButtonKind

log = logging.getLogger(__name__)

GESTURES = ("press", "long")
BOX_ACTIONS = {
    a.value: a
    for a in (
        Action.ANSWER,
        Action.HANG_UP,
        Action.MUTE_TOGGLE,
        Action.HOLD_TOGGLE,
        Action.ESCALATE,
    )
}
DELIBERATE = frozenset({"long"})


def parse_bindings(mapping: Mapping[str, str]) -> tuple[dict[tuple[str, str], Action], list[str]]:
    """``{"help:long": "escalate"}`` → ``{("help", "long"): Action.ESCALATE}`` and problems.

    A bad entry is left out and described in the problems list (the rest still works).
    """
    bindings: dict[tuple[str, str], Action] = {}
    problems: list[str] = []
    for key, value in mapping.items():
        button, sep, gesture = str(key).partition(":")
        if not sep or not button or gesture not in GESTURES:
            problems.append(f"'{key}': use 'button:press' or 'button:long'")
            continue
        action = BOX_ACTIONS.get(str(value))
        if action is None:
            problems.append(f"'{key}': unknown action '{value}' (one of {', '.join(BOX_ACTIONS)})")
            continue
        if action is Action.ESCALATE and gesture not in DELIBERATE:
            problems.append(f"'{key}': escalate needs a long press, not a tap")
            continue
        bindings[(button, gesture)] = action
    return bindings, problems


class GestureRecognizer:
    """Turns down/up/long of named buttons into gestures. Pure; one per connection."""

    def __init__(self, bindings: Mapping[tuple[str, str], Action]) -> None:
        self._bindings = dict(bindings)
        self._long_bound = {b for (b, g) in self._bindings if g == "long"}
        self._down: dict[str, bool] = {}  # button → long already fired

    def action(self, button: str, gesture: str) -> Action | None:
        return self._bindings.get((button, gesture))

    def reset(self) -> None:
        self._down.clear()

    def feed(self, button: str, kind: ButtonKind) -> str | None:
        if kind is ButtonKind.DOWN:
            self._down[button] = False
            return None if button in self._long_bound else "press"
        if kind is ButtonKind.LONG:
            if self._down.get(button) is False:
                self._down[button] = True
                return "long"
            return None
        # UP
        fired = self._down.pop(button, None)
        if button in self._long_bound and fired is False:
            return "press"
        return None
