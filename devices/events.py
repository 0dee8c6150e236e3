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


# -- the headset (devices/headset/, docs/devices.md "Headset") ---------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class HeadsetConnected(Event):
    """The chosen HID telephony headset is open. ``family`` is the telephony application
    (headset, phone); ``capabilities`` its buttons and ``led:`` lights."""

    name: str
    usb_id: str
    path: str
    family: str
    capabilities: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class HeadsetDisconnected(Event):
    """The headset went away (published within 1 s of the unplug); a call goes on.
    ``reason``: unplugged, stopped. ``message`` is fit to show the counselor."""

    reason: str
    message: str
    path: str


@dataclasses.dataclass(frozen=True, slots=True)
class HeadsetButton(Event):
    """A headset button (``usage``: hook_switch, phone_mute, flash, or an evdev key name)
    changed to ``value``, meaning ``gesture`` (off_hook, on_hook, press) and the call
    ``action`` it asked for (None: ignored, see HeadsetPressIgnored). A refusal by the call
    machine is a ``calls.events.CommandRejected`` with source headset."""

    usage: str
    value: int
    gesture: str
    action: Action | None


@dataclasses.dataclass(frozen=True, slots=True)
class HeadsetPressIgnored(Event):
    """A headset press that did nothing, and why: ``no_call`` (a toggle call button with
    nothing ringing and no call), ``unbound``. ``message`` is fit to show the counselor."""

    usage: str
    gesture: str
    reason: str
    message: str


@dataclasses.dataclass(frozen=True, slots=True)
class HeadsetIgnored(Event):
    """Another telephony headset is plugged in: Faro uses the chosen one only."""

    name: str
    usb_id: str
    path: str
    message: str


@dataclasses.dataclass(frozen=True, slots=True)
class HeadsetRejected(Event):
    """A headset Faro cannot use: ``reason`` bad_descriptor or permission (the udev rule is
    missing), ``message`` fit to show IT staff."""

    reason: str
    message: str
    path: str


@dataclasses.dataclass(frozen=True, slots=True)
class HeadsetLeds(Event):
    """The LED state written to the headset (the names that are on)."""

    on: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class HeadsetReports(Event):
    """Running counts of reports not acted on since the driver started (published when they
    change, at most every 0.5 s): ``bad_size`` (too short or too long), ``unknown_id``,
    ``flood_dropped`` (presses beyond the rate limit), ``repeated`` (a report equal to the one
    before, in a burst)."""

    bad_size: int = 0
    unknown_id: int = 0
    flood_dropped: int = 0
    repeated: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
