"""Events the escalation service publishes on the core bus.

Counselor side: :class:`EscalationStateChanged` (the live lifecycle; the button-box LED
follows it), :class:`EscalationRealerted` (T1), :class:`FallbackNumberDue` (T2),
:class:`WhisperReceived`. Supervisor side: :class:`AlertShown`, :class:`AlertUpdated`,
:class:`BoardChanged`, :class:`CoverageAlarm`, :class:`RingNotice`. None carries caller data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from core.events import Event

# lifecycle states, in order
RAISED = "raised"
SENT = "sent"
DELIVERED = "delivered"
ACKNOWLEDGED = "acknowledged"
RESOLVED = "resolved"
STATES = (RAISED, SENT, DELIVERED, ACKNOWLEDGED, RESOLVED)


@dataclasses.dataclass(frozen=True, slots=True)
class EscalationStateChanged(Event):
    escalation_id: str
    call_id: str | None
    level: str
    state: str  # one of STATES
    by: str | None  # the supervisor who acknowledged / resolved, when known
    at: dt.datetime
    outcome: str | None = None  # with RESOLVED


@dataclasses.dataclass(frozen=True, slots=True)
class EscalationRealerted(Event):
    """T1 passed without acknowledgement: every supervisor and the backup group alerted again."""

    escalation_id: str
    level: str


@dataclasses.dataclass(frozen=True, slots=True)
class FallbackNumberDue(Event):
    """T2 passed without acknowledgement: show the organisation's fallback number (once)."""

    escalation_id: str
    level: str
    number: str


@dataclasses.dataclass(frozen=True, slots=True)
class WhisperReceived(Event):
    """A whisper line on either side (``direction`` "in" = received, "out" = sent by us)."""

    escalation_id: str
    direction: str
    by: str
    text: str  # guidance between supervisor and counselor: never logged
    at: dt.datetime


# -- supervisor side ----------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class AlertShown(Event):
    """A new item in the supervisor's alert queue (once per escalation id, ever)."""

    escalation_id: str
    counselor: str
    level: str
    kind: str  # "escalation" or "disconnect" (Last Will during a call)


@dataclasses.dataclass(frozen=True, slots=True)
class AlertUpdated(Event):
    escalation_id: str
    state: str
    by: str | None
    realerted: bool


@dataclasses.dataclass(frozen=True, slots=True)
class BoardChanged(Event):
    counselor: str
    status: str


@dataclasses.dataclass(frozen=True, slots=True)
class CoverageAlarm(Event):
    available: int
    minimum: int
    alarm: bool


@dataclasses.dataclass(frozen=True, slots=True)
class RosterChanged(Event):
    """A newer roster reached this supervisor console (published here or by another):
    ``payload`` is its message (identities, roles and times) for the store to keep."""

    version: int
    by: str
    payload: str


@dataclasses.dataclass(frozen=True, slots=True)
class LadderMoved(Event):
    """The on-call supervisor whose turn an unacknowledged alert was went offline: it is
    this console's turn now (escalation/roster_link.py)."""

    escalation_id: str


@dataclasses.dataclass(frozen=True, slots=True)
class CoverageLevel(Event):
    """With a roster: the hour's coverage level changed (``ok``, ``short``, ``uncovered``);
    raised once per change, never repeated while it stays."""

    level: str
    version: int


@dataclasses.dataclass(frozen=True, slots=True)
class RingNotice(Event):
    counselor: str
    reason: str  # "unanswered", "abandoned", "busy"
    rang_s: float


@dataclasses.dataclass(frozen=True, slots=True)
class EscalationProposed(Event):
    """The risk assessment of the current call reached imminent risk: Faro proposes an urgent
    escalation. Nothing is sent until the counselor accepts (one deliberate press)."""

    call_id: str
    level: str
    reason: str


# -- follow-up transfers (escalation/transfers.py) -------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class TransferChanged(Event):
    """A follow-up transfer moved on, on either side. ``state``: requested, approved,
    declined, sent (the package left), accepted (the recipient has it), closed (the
    original follow-up is closed), received (a recipient's console got one), imported,
    unreadable. ``follow_up`` is the id on the sending laptop; ``reason`` a decline code."""

    transfer: str
    state: str
    follow_up: str | None = None
    counselor: str | None = None
    recipient: str | None = None
    reason: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class TransferWork(Event):
    """There is transfer work for the store (app/wiring.py): a package to seal, one to
    import, an original follow-up to close."""

    transfer: str


# -- quality review and wellbeing (escalation/quality.py) -------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class QualityWork(Event):
    """A supervisor console has quality records or review marks for its store
    (app/wiring.py keeps them)."""


@dataclasses.dataclass(frozen=True, slots=True)
class QualityChanged(Event):
    """Supervisor side: ``what`` is ``record`` (a new call's figures), ``mark`` (a call
    marked for a debrief), ``care`` (a counselor asked for a break) or ``care_done``."""

    what: str
    counselor: str
    record: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class DebriefMarked(Event):
    """Counselor side, private: a supervisor would like a debrief about the call that ended
    at ``ended_at`` (this laptop's clock). Codes and times only."""

    record: str
    ended_at: dt.datetime
    supervisor: str


@dataclasses.dataclass(frozen=True, slots=True)
class CareRequestDelivered(Event):
    """Counselor side: a supervisor console has the break request ``request``."""

    request: str
    supervisor: str


@dataclasses.dataclass(frozen=True, slots=True)
class AssistAsked(Event):
    """Counselor side: a supervisor asks to join the call in progress (escalation/assist.py);
    app/wiring.py answers with the phone line's grant or a refusal."""

    assist: str
    supervisor: str
    mode: str
    token: str


@dataclasses.dataclass(frozen=True, slots=True)
class AssistControlAsked(Event):
    """Counselor side: the assisting supervisor changes the mode (``action`` ``mode``) or
    leaves (``end``)."""

    assist: str
    action: str
    mode: str


@dataclasses.dataclass(frozen=True, slots=True)
class AssistDial(Event):
    """Supervisor side: the counselor's laptop is ready; dial ``uri`` with ``token``."""

    assist: str
    counselor: str
    uri: str
    token: str


@dataclasses.dataclass(frozen=True, slots=True)
class AssistShown(Event):
    """What a console shows of a live-assistance session, on either side (``side``
    ``counselor`` or ``supervisor``). ``state``: ``asked``, ``ready``, ``live``, ``mode``,
    ``ended``, ``refused`` or ``failed``; ``reason`` a code (escalation/assist.py REASONS)."""

    side: str
    assist: str
    counselor: str
    supervisor: str
    state: str
    mode: str
    reason: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class ChatQueueChanged(Event):
    """Supervisor side: the chat line's queue changed (escalation/chat_queue.py): how many
    people wait, how many chats are open, how many waited past the alert; ``new_alert``: one
    just did (the console sounds)."""

    waiting: int
    open: int
    alerts: int
    new_alert: bool = False
