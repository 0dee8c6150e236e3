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
    """Something on the port is not a box we can use; Faro leaves it alone until it is unplugged.

    ``reason``: wrong_version or unknown_device. ``message`` is fit to show IT staff.
    """

    reason: str
    message: str
    port: str


@dataclasses.dataclass(frozen=True, slots=True)
class ButtonPressed(Event):
    """A gesture on a box button (``press`` or ``long``) and the call action it was bound to."""

    button: str
    gesture: str
    action: Action | None


@dataclasses.dataclass(frozen=True, slots=True)
class LedView:
    name: str
    mode: str       # off, on, blink, blink_fast, pulse
    colour: str     # #rrggbb


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
    malformed: int = 0      # good CRC, but not a valid message
    lost_events: int = 0    # gaps in the box's sequence numbers
    box_reported: int = 0   # bad frames the box says it received from us

    @property
    def total(self) -> int:
        return (self.bad_crc + self.bad_cobs + self.overlong + self.too_short + self.malformed)

    def as_dict(self) -> dict[str, int]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["total"] = self.total
        return d
