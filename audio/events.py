"""Events the audio service publishes. Prompts carry ``active``: they are published when a
condition starts (True) and when it ends (False), never per frame.

``side`` is ``"near"`` (the counselor's headset mic) or ``"far"`` (the caller).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from core.events import Event

NEAR = "near"
FAR = "far"
COUNSELOR = "counselor"
CALLER = "caller"


@dataclasses.dataclass(frozen=True, slots=True)
class CallerSilenceLong(Event):
    """The caller has been silent for ``silent_s`` seconds: a "check in" prompt."""

    call_id: str
    active: bool
    silent_s: float


@dataclasses.dataclass(frozen=True, slots=True)
class Interruption(Event):
    """``who`` ("counselor" or "caller") started speaking over the other and kept going."""

    call_id: str
    who: str
    overlap_s: float


@dataclasses.dataclass(frozen=True, slots=True)
class MutedWhileSpeaking(Event):
    call_id: str
    active: bool


@dataclasses.dataclass(frozen=True, slots=True)
class TalkingMoreThanListening(Event):
    """The counselor's share of talk time passed the configured limit (or fell back)."""

    call_id: str
    active: bool
    talk_ratio: float


@dataclasses.dataclass(frozen=True, slots=True)
class DeadMic(Event):
    """No signal at all from the counselor's mic: a device-check prompt."""

    call_id: str
    active: bool


@dataclasses.dataclass(frozen=True, slots=True)
class OneWayAudio(Event):
    """No signal at all from the caller's side while the counselor talks: a device-check prompt."""

    call_id: str
    active: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Clipping(Event):
    call_id: str
    side: str
    active: bool


@dataclasses.dataclass(frozen=True, slots=True)
class AudioDeviceLost(Event):
    side: str
    device: str


@dataclasses.dataclass(frozen=True, slots=True)
class AudioDeviceRestored(Event):
    side: str
    device: str


@dataclasses.dataclass(frozen=True, slots=True)
class CallHealthSummary(Event):
    """Published when a call ends: figures to keep with the contact (no audio, no text)."""

    call_id: str
    figures: dict[str, Any]
