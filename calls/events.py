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


# -- what a telephony engine reports (the sip backend) ---------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class LineStatus(Event):
    """The phone line: registration and security. ``text`` is fit for the counselor."""

    state: str  # "connecting" | "registered" | "failed" | "waiting_credentials" | "stopped"
    text: str
    detail: str = ""  # for IT: SIP status or transport error, never personal data
    secure: str = ""  # e.g. "TLS, verified against the organisation's CA"


@dataclasses.dataclass(frozen=True, slots=True)
class CallQuality(Event):
    """Live media quality of the call in progress (from RTCP and the jitter buffer)."""

    call_id: str
    mos: float
    loss_pct: float
    jitter_ms: float
    rtt_ms: float
    codec: str = ""
    srtp: str = ""  # the SRTP crypto suite in force


@dataclasses.dataclass(frozen=True, slots=True)
class CallAudioFlow(Event):
    """The caller's audio stopped arriving from the network (``flowing`` False, after
    ``gap_s`` without a packet), or came back (``flowing`` True, ``gap_s`` the length of the
    gap). Not raised while the call is on hold, by either side."""

    call_id: str
    flowing: bool
    gap_s: float


@dataclasses.dataclass(frozen=True, slots=True)
class CallRefused(Event):
    """A call the engine refused or lost before Faro could offer it, or a call dropped.

    ``reason`` is a code (``unencrypted``, ``busy``, ``malformed``, ``network``...),
    ``text`` says it to the counselor, with no caller data."""

    reason: str
    text: str
    call_id: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class AssistLeg(Event):
    """A supervisor's live-assistance leg (docs/telephony.md) changed, on either laptop.

    ``side``: ``counselor`` (the leg a supervisor dialled into this counselor's call, mixed
    here) or ``supervisor`` (the leg this supervisor's laptop dialled). ``state``: ``live``,
    ``mode`` (the mode changed), ``ended`` or ``failed`` (``reason``: a short code or a SIP
    status). ``assist`` is the escalation link's id of the session; ``call_id`` the
    counselor's Faro call (empty on the supervisor's side)."""

    side: str
    assist: str
    state: str
    mode: str = ""
    reason: str = ""
    call_id: str = ""
