"""Events the device services publish on the core bus."""

from __future__ import annotations

import dataclasses

from calls.model import Action
from core.events import Event
from devices.buttonbox.protocol import Identity


@dataclasses.dataclass(frozen=True, slots=True)
class ButtonBoxConnected(Event):
    identity: Identity
    port: str


@dataclasses.dataclass(frozen=True, slots=True)
class ButtonBoxDisconnected(Event):
    """The box went away. ``reason``: unplugged, heartbeat_timeout, write_failed, stopped."""

    reason: str
    message: str
    port: str


@dataclasses.dataclass(frozen=True, slots=True)
class ButtonBoxRejected(Event):
    """Something on the port is not a box we can use. Faro sets it aside: it probes it again
    when another device appears on that port (a replug) or after ``reprobe_s``.

    ``reason``: wrong_version or unknown_device. ``message`` is fit to show IT staff. (A box
    that does not answer at all is not rejected: it is tried again, with backoff, for ever.)
    """

    reason: str
    message: str
    port: str


@dataclasses.dataclass(frozen=True, slots=True)
class ButtonPressed(Event):
    """A gesture on a box button (``press``, ``long`` or ``hold``) and the call action it was
    bound to; ``level`` is the escalation level it asked for (``urgent``), None for the
    default level or another action."""

    button: str
    gesture: str
    action: Action | None
    level: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class PressIgnored(Event):
    """A gesture on a box button that is bound to no action, and why, so the console can say
    so (a press never does nothing silently). ``reason``: ``needs_long_press`` (the button
    acts on a long press only, e.g. Help tapped), ``needs_hold`` (the button acts on a hold
    only, and was released before it), ``unbound`` (nothing is bound to it). ``message``
    is fit to show the counselor. An action the call machine refuses now (Answer with
    nothing ringing) is a ``calls.events.CommandRejected`` with source button_box instead.
    """

    button: str
    gesture: str
    reason: str
    message: str


@dataclasses.dataclass(frozen=True, slots=True)
class LedView:
    name: str
    mode: str  # off, on, blink, blink_fast, pulse
    colour: str  # #rrggbb


@dataclasses.dataclass(frozen=True, slots=True)
class LedStateChanged(Event):
    """The box acknowledged this LED state."""

    leds: tuple[LedView, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class BadFrames(Event):
    """Running counts for this driver since it started (published when they change)."""

    bad_crc: int = 0
    bad_cobs: int = 0
    overlong: int = 0
    too_short: int = 0
    malformed: int = 0  # good CRC, but not a valid message
    lost_events: int = 0  # gaps in the box's sequence numbers, and events it dropped
    box_reported: int = 0  # bad frames the box says it received from us
    replayed: int = 0  # reliable frames older than the last accepted: never acted on

    @property
    def total(self) -> int:
        return (
            self.bad_crc
            + self.bad_cobs
            + self.overlong
            + self.too_short
            + self.malformed
            + self.replayed
        )

    def as_dict(self) -> dict[str, int]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["total"] = self.total
        return d
