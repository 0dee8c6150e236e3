"""Events the call machine publishes on the core bus."""

from __future__ import annotations

import dataclasses

from calls.model import Action, Call, CallState, EndedBy, MissReason, Source
from core.events import Event


@dataclasses.dataclass(frozen=True, slots=True)
class CallStateChanged(Event):
    """The state moved on. Carries what a view renders: the call as it is now (None when
    there is none), whether the microphone is muted, and whether the backend follows the
    counselor (a companion phone: Answer works while available, starting the call here)."""

    previous: CallState
    state: CallState
    call: Call | None
    muted: bool
    source: Source
    follows_counselor: bool


@dataclasses.dataclass(frozen=True, slots=True)
class IncomingCall(Event):
    call: Call


@dataclasses.dataclass(frozen=True, slots=True)
class CallAnswered(Event):
    call: Call
    source: Source


@dataclasses.dataclass(frozen=True, slots=True)
class CallEnded(Event):
    call: Call
    ended_by: EndedBy


@dataclasses.dataclass(frozen=True, slots=True)
class MissedCall(Event):
    call: Call
    reason: MissReason
    rang_s: float


@dataclasses.dataclass(frozen=True, slots=True)
class MuteChanged(Event):
    muted: bool
    call_id: str | None
    source: Source


@dataclasses.dataclass(frozen=True, slots=True)
class WrapUpFinished(Event):
    call: Call
    disposition: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class EscalationRequested(Event):
    call_id: str | None
    level: str | None
    source: Source


@dataclasses.dataclass(frozen=True, slots=True)
class CommandRejected(Event):
    """An action that makes no sense now; ``reason`` is fit to show the counselor."""

    action: Action
    source: Source
    state: CallState
    reason: str
