"""The hold: a button kept down for the hold time, judged by the box's own clock.

Protocol version 1 reports down, up and long (still held after the long-press time); it has
no second threshold. The host adds one, the *hold* (``devices.buttonbox.urgent_press_ms``),
without trusting its own timing of the wire: a frame that is late (a dropped frame resent
150 ms later, a stalled link) must never turn a release just short of the hold into a hold.
So the hold time is reached only when the *box* says so, in its own milliseconds:

- an accepted BUTTON event carries the box time: an ``up`` at or after the hold time (the
  hold was reached while the frame was on its way), or any event of another button at or
  after it (events arrive in order, so this button was still down then);
- a HEARTBEAT carries the box's uptime, on the same clock, and the box's last event number:
  when that number is the last one the host accepted, no event (no ``up``) was waiting to be
  sent when the box said "now is T", so the button was still down at T.

The hold is thus seen at most one heartbeat after it is reached (the LED feedback says when).
When events may have been lost (a gap in the box's numbers, an EVENT_LOST report, a new
session) nothing is known about the buttons held: they are forgotten, and their gesture
with them (:attr:`HostKind.LOST`).

:class:`HoldTimes` is pure: :class:`~devices.buttonbox.box_session.BoxSession` feeds it on the
owner thread and hands :attr:`HostKind.HOLD` and :attr:`HostKind.LOST` to the press handler
beside the box's own :class:`~devices.buttonbox.protocol.ButtonKind`.
"""

from __future__ import annotations

import enum

from devices.buttonbox.protocol import ButtonKind


class HostKind(enum.Enum):
    """Button events the host adds to the box's down / up / long (never on the wire)."""

    HOLD = "hold"  # held for the hold time, by the box's clock
    LOST = "lost"  # events of this button may have been lost: forget the press


#: what the press handler is given: an event of the box or one the host adds
Kind = ButtonKind | HostKind

_HALF = 1 << 31  # box times are u32 milliseconds: compared on the circle


class HoldTimes:
    """When each button that is down went down (box time), until its hold is reported."""

    def __init__(self, hold_ms: int) -> None:
        self.hold_ms = hold_ms
        self._timing: dict[str, int] = {}  # button → box time of its down: hold not seen yet
        self._reported: set[str] = set()  # down, its hold reported

    @property
    def timing(self) -> bool:
        """Whether a button is down whose hold time has not been seen yet."""
        return bool(self._timing)

    def down(self, button: str, t_ms: int) -> None:
        self._reported.discard(button)
        self._timing[button] = t_ms

    def up(self, button: str, t_ms: int) -> bool:
        """The button went up at box time ``t_ms``: whether its hold time was reached first
        and not reported yet."""
        self._reported.discard(button)
        start = self._timing.pop(button, None)
        return start is not None and self._reached(start, t_ms)

    def seen(self, t_ms: int) -> list[str]:
        """The box's clock said ``t_ms`` with these buttons still down: those whose hold time
        it passed, each reported once."""
        done = [b for b, start in self._timing.items() if self._reached(start, t_ms)]
        for b in done:
            del self._timing[b]
            self._reported.add(b)
        return done

    def forget(self) -> list[str]:
        """Events may have been lost: every button down (as far as we know), forgotten."""
        down = [*self._timing, *sorted(self._reported)]
        self._timing.clear()
        self._reported.clear()
        return down

    def _reached(self, start: int, t_ms: int) -> bool:
        elapsed = (t_ms - start) & 0xFFFFFFFF
        return self.hold_ms <= elapsed < _HALF  # a time before the down is not a hold
