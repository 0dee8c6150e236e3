"""What a call is: states, actions, and the immutable call record events carry."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import uuid

from core.privacy import Personal


class CallState(enum.Enum):
    AVAILABLE = "available"
    RINGING = "ringing"
    ON_CALL = "on_call"
    ON_HOLD = "on_hold"
    WRAP_UP = "wrap_up"
    BREAK = "break"

    @property
    def in_call(self) -> bool:
        return self in (CallState.ON_CALL, CallState.ON_HOLD)


class Action(enum.Enum):
    ANSWER = "answer"
    HANG_UP = "hang_up"
    HOLD_TOGGLE = "hold_toggle"
    HOLD = "hold"
    RESUME = "resume"
    MUTE_TOGGLE = "mute_toggle"
    MUTE = "mute"
    UNMUTE = "unmute"
    ESCALATE = "escalate"
    FINISH_WRAP_UP = "finish_wrap_up"
    START_BREAK = "start_break"
    END_BREAK = "end_break"


class Source(enum.Enum):
    """Who asked for an action: every command says where it came from (audited later)."""

    UI = "ui"
    KEYBOARD = "keyboard"
    BUTTON_BOX = "button_box"
    HEADSET = "headset"
    TELEPHONY = "telephony"
    SYSTEM = "system"


class EndedBy(enum.Enum):
    COUNSELOR = "counselor"
    CALLER = "caller"
    SYSTEM = "system"
    NETWORK = "network"  # the line dropped (no media, transport lost) and could not recover
    TRANSFERRED = "transferred"  # handed over to a supervisor or another service

    @property
    def by_line(self) -> bool:
        """Ended on the far side or the network: nothing to tell the backend."""
        return self in (EndedBy.CALLER, EndedBy.NETWORK, EndedBy.TRANSFERRED)


class MissReason(enum.Enum):
    UNANSWERED = "unanswered"  # rang until the ring timeout
    ABANDONED = "abandoned"  # the caller hung up while it rang
    BUSY = "busy"  # arrived while the counselor was not available


@dataclasses.dataclass(frozen=True, slots=True)
class Command:
    action: Action
    source: Source = Source.UI
    disposition: str | None = None  # with FINISH_WRAP_UP
    level: str | None = None  # with ESCALATE


@dataclasses.dataclass(frozen=True, slots=True)
class Call:
    """An immutable snapshot of one contact; the machine replaces it as the call moves on."""

    id: str
    channel: str
    caller_id: Personal
    rung_at: dt.datetime
    rung_mono: float
    answered_at: dt.datetime | None = None
    answered_mono: float | None = None
    ended_at: dt.datetime | None = None
    ended_mono: float | None = None
    ended_by: EndedBy | None = None
    disposition: str | None = None
    hold_s: float = 0.0
    backend_ref: str = ""  # the telephony backend's own id for the call
    practice: bool = False  # a training session's call (docs/training.md): never a real record

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def talk_seconds(self, now_mono: float) -> float:
        """Seconds since answer (until end), hold included."""
        if self.answered_mono is None:
            return 0.0
        end = self.ended_mono if self.ended_mono is not None else now_mono
        return max(0.0, end - self.answered_mono)
