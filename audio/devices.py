"""The one place that lists PortAudio's audio devices and picks the counselor's headset.

:func:`list_devices` is every device (``faro devices list``); :func:`list_inputs` the
input-capable ones the service chooses from with :func:`choose_near` / :func:`choose_far`;
:func:`list_outputs` the output-capable ones, for :func:`choose_out` (the headset's playback
when Faro carries the call audio itself).

A device is chosen by a *spec*: empty (automatic), part of its name, or ``usb:VID:PID``.
Automatic prefers a USB headset, then the system default. The choice is never cached as a
PortAudio index: indices change when devices come and go, so every (re)open looks the
device up again by its spec. USB ids come from ALSA (``/proc/asound/cardN/usbid``) and are
matched to PortAudio devices by their ``hw:N`` card number.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

#: PortAudio's initialise/terminate are not thread-safe, and terminating closes every open
#: stream: the audio service re-reads the device list (terminate + initialise) only under
#: this lock and only while no stream of any owner (its own capture and playback, another
#: service's, the ringer) is open; streams are opened and closed under it too
PORTAUDIO_LOCK = threading.RLock()
_other_streams = 0


def other_stream(opened: bool) -> None:
    """A PortAudio stream was opened (True) or closed (False), by anyone."""
    global _other_streams
    with PORTAUDIO_LOCK:
        _other_streams = max(0, _other_streams + (1 if opened else -1))


def other_streams_open() -> bool:
    with PORTAUDIO_LOCK:
        return _other_streams > 0


_HW = re.compile(r"\(hw:(\d+),(\d+)\)")
_MONITOR = re.compile(r"monitor|loopback", re.IGNORECASE)
_USB_SPEC = re.compile(r"^usb:([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$")
ASOUND = Path("/proc/asound")


@dataclasses.dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    channels: int
    default_rate: float
    usb_id: str | None = None  # "vvvv:pppp"
    is_default: bool = False

    @property
    def is_usb(self) -> bool:
        return self.usb_id is not None or "usb" in self.name.lower()

    @property
    def is_monitor(self) -> bool:
        return bool(_MONITOR.search(self.name))

    @property
    def card(self) -> int | None:
        """The ALSA card number (``... (hw:N,M)``), None for a sound-server device."""
        return _card(self.name)

    @property
    def spec(self) -> str:
        """A spec that finds this very device again (its USB id, else its name)."""
        return f"usb:{self.usb_id}" if self.usb_id else self.name


@dataclasses.dataclass(frozen=True)
class OutputDevice:
    """An output-capable device: ``channels`` are its output channels."""

    index: int
    name: str
    channels: int
    default_rate: float
    usb_id: str | None = None  # "vvvv:pppp"
    is_default: bool = False

    @property
    def is_usb(self) -> bool:
        return self.usb_id is not None or "usb" in self.name.lower()

    @property
    def card(self) -> int | None:
        return _card(self.name)

    @property
    def spec(self) -> str:
        return f"usb:{self.usb_id}" if self.usb_id else self.name


def _card(name: str) -> int | None:
    m = _HW.search(name)
    return int(m.group(1)) if m else None


def _usb_ids(root: Path = ASOUND) -> dict[int, str]:
    ids: dict[int, str] = {}
    try:
        cards = list(root.glob("card[0-9]*"))
    except OSError:
        return ids
    for card in cards:
        try:
            ids[int(card.name[4:])] = (card / "usbid").read_text().strip().lower()
        except (OSError, ValueError):
            continue
    return ids


def _card_usb_id(name: str, ids: dict[int, str]) -> str | None:
    """The USB id of the ALSA card a PortAudio device name refers to (``... (hw:N,M)``)."""
    m = _HW.search(name)
    return ids.get(int(m.group(1))) if m else None


@dataclasses.dataclass(frozen=True)
class AudioDevice:
    """Any PortAudio device, input or output, as ``faro devices list`` shows it."""

    index: int
    name: str
    inputs: int
    outputs: int
    host_api: str
    usb_id: str | None = None  # "vvvv:pppp"


def list_devices(
    raw: Iterable[dict[str, Any]] | None = None,
    host_apis: list[str] | None = None,
    usb_ids: dict[int, str] | None = None,
) -> list[AudioDevice]:
    """Every PortAudio device with its USB id. Without arguments asks PortAudio."""
    if raw is None or host_apis is None:
        import sounddevice as sd

        raw = sd.query_devices() if raw is None else raw
        host_apis = [a["name"] for a in sd.query_hostapis()] if host_apis is None else host_apis
    ids = _usb_ids() if usb_ids is None else usb_ids
    return [
        AudioDevice(
            int(d.get("index", i)),
            d["name"],
            int(d.get("max_input_channels", 0)),
            int(d.get("max_output_channels", 0)),
            host_apis[int(d.get("hostapi", 0))],
            _card_usb_id(d["name"], ids),
        )
        for i, d in enumerate(raw)
    ]


def _list(
    direction: int,
    make: Callable[..., Any],
    raw: Iterable[dict[str, Any]] | None,
    default_index: int | None,
    usb_ids: dict[int, str] | None,
) -> list[Any]:
    """Devices with channels in ``direction`` (0 input, 1 output). Without ``raw`` asks
    PortAudio (through sounddevice)."""
    key = ("max_input_channels", "max_output_channels")[direction]
    if raw is None:
        import sounddevice as sd

        raw = sd.query_devices()
        try:
            default_index = sd.default.device[direction]
            if default_index is None or default_index < 0:
                default_index = sd.query_hostapis(0)[
                    ("default_input_device", "default_output_device")[direction]
                ]
        except Exception:
            default_index = None
    ids = _usb_ids() if usb_ids is None else usb_ids
    out = []
    for i, d in enumerate(raw):
        if int(d.get(key, 0)) < 1:
            continue
        out.append(
            make(
                int(d.get("index", i)),
                d["name"],
                int(d[key]),
                float(d.get("default_samplerate", 48000.0)),
                _card_usb_id(d["name"], ids),
                int(d.get("index", i)) == default_index,
            )
        )
    return out


def list_inputs(
    raw: Iterable[dict[str, Any]] | None = None,
    default_index: int | None = None,
    usb_ids: dict[int, str] | None = None,
) -> list[InputDevice]:
    """Input-capable devices. Without arguments asks PortAudio (through sounddevice)."""
    return _list(0, InputDevice, raw, default_index, usb_ids)


def list_outputs(
    raw: Iterable[dict[str, Any]] | None = None,
    default_index: int | None = None,
    usb_ids: dict[int, str] | None = None,
) -> list[OutputDevice]:
    """Output-capable devices, read like :func:`list_inputs`."""
    return _list(1, OutputDevice, raw, default_index, usb_ids)


def matches(spec: str, dev: InputDevice | OutputDevice) -> bool:
    m = _USB_SPEC.match(spec.strip())
    if m:
        return dev.usb_id == f"{m.group(1)}:{m.group(2)}".lower()
    return spec.strip().lower() in dev.name.lower()


def choose_near(spec: str, devices: list[InputDevice]) -> InputDevice | None:
    """The counselor's mic: the spec's device if present; automatic otherwise.

    A spec naming a device that is absent gives None (the headset is unplugged: wait for it),
    never silently another microphone.
    """
    if spec.strip():
        return next((d for d in devices if matches(spec, d)), None)
    candidates = [d for d in devices if not d.is_monitor]
    usb = [d for d in candidates if d.is_usb]
    if usb:
        return usb[0]
    default = [d for d in candidates if d.is_default]
    if default:
        return default[0]
    named = [d for d in candidates if d.name in ("default", "pulse", "pipewire")]
    return named[0] if named else (candidates[0] if candidates else None)


def choose_far(spec: str, devices: list[InputDevice]) -> InputDevice | None:
    """The caller's side: a monitor/loopback input; 'none' disables it."""
    s = spec.strip()
    if s.lower() == "none":
        return None
    if s:
        return next((d for d in devices if matches(s, d)), None)
    return next((d for d in devices if d.is_monitor), None)


def _system_output(devices: list[OutputDevice]) -> OutputDevice | None:
    default = [d for d in devices if d.is_default]
    if default:
        return default[0]
    named = [d for d in devices if d.name in ("default", "pulse", "pipewire")]
    return named[0] if named else (devices[0] if devices else None)


def same_card(out: OutputDevice, near: InputDevice) -> bool:
    """The output belongs to the sound card (or sound-server device) of the microphone."""
    if near.card is not None and out.card is not None:
        return near.card == out.card
    if near.usb_id and out.usb_id:
        return near.usb_id == out.usb_id
    return near.card is None and out.card is None and near.name == out.name


def choose_out(
    spec: str,
    devices: list[OutputDevice],
    near: InputDevice | None = None,
    fallback_to_laptop: bool = False,
) -> OutputDevice | None:
    """Where the caller is heard: the spec's device if present; automatic otherwise.

    Automatic: the output of the microphone's card (``near``) when it has one, else a USB
    headset, else the system default. A spec naming an absent device gives None (wait for
    it), unless ``fallback_to_laptop``: then the laptop's own output (not USB) is used.
    """
    if spec.strip():
        found = next((d for d in devices if matches(spec, d)), None)
        if found is not None or not fallback_to_laptop:
            return found
        return _system_output([d for d in devices if not d.is_usb])
    if near is not None:
        card = [d for d in devices if same_card(d, near)]
        if card:
            return card[0]
    usb = [d for d in devices if d.is_usb]
    if usb:
        return usb[0]
    return _system_output(devices)
