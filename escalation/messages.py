"""Versioned JSON messages with ids: what travels over the broker.

Every message is a JSON object ``{"v": 1, "type": ..., "id": ..., "at": ...}`` plus the
fields of its type (docs/escalation.md lists them). ``id`` makes delivery idempotent: a
receiver that has seen an id ignores it. :func:`decode` checks everything and raises
:class:`MessageError` (without echoing the payload) for anything malformed or from a newer
major version. Alerts carry codes only: no free text can reach them; so do rescue steps.
Fields a receiver does not know are ignored, and a type it does not know is a
:class:`MessageError` that every receiver logs and drops: older consoles keep working
beside newer ones (``rescue_step`` is such a newer type).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import uuid
from typing import Any, Literal, overload

from escalation.health import HEALTH_SIGNALS
from escalation.levels import LEVELS
from escalation.reasons import REASONS, RISKS
from escalation.statuses import STATUSES

VERSION = 1
MAX_BYTES = 8192
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,79}$")
#: identities are certificate common names and appear in topics: no '/', '+', '#'
IDENTITY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class MessageError(ValueError):
    """A payload that is not a valid message of this version (the text never echoes it)."""


def new_id() -> str:
    return uuid.uuid4().hex


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def parse_time(s: object) -> dt.datetime:
    if not isinstance(s, str):
        raise MessageError("bad timestamp")
    try:
        t = dt.datetime.fromisoformat(s)
    except ValueError:
        raise MessageError("bad timestamp") from None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


@dataclasses.dataclass(frozen=True, slots=True)
class Alert:
    """An escalation as supervisors see it (``id`` = escalation id; a re-alert has its own id)."""

    id: str
    escalation: str
    counselor: str
    contact: str | None
    level: str
    reason: str
    call_s: float
    risk: str
    raised_at: dt.datetime
    realert: bool = False
    type = "alert"


@dataclasses.dataclass(frozen=True, slots=True)
class Receipt:
    """A supervisor console has the alert on screen (→ "delivered")."""

    id: str
    escalation: str
    supervisor: str
    at: dt.datetime
    type = "receipt"


@dataclasses.dataclass(frozen=True, slots=True)
class Ack:
    id: str
    escalation: str
    supervisor: str
    at: dt.datetime
    type = "ack"


@dataclasses.dataclass(frozen=True, slots=True)
class Resolve:
    id: str
    escalation: str
    by: str
    outcome: str
    at: dt.datetime
    type = "resolve"


@dataclasses.dataclass(frozen=True, slots=True)
class Whisper:
    id: str
    escalation: str
    by: str
    text: str
    at: dt.datetime
    type = "whisper"


@dataclasses.dataclass(frozen=True, slots=True)
class Presence:
    counselor: str
    status: str
    at: dt.datetime
    call_s: float | None = None
    escalation: str | None = None  # state of the newest open escalation, if any
    unexpected: bool = False  # True only in the Last Will
    id: str = ""
    health: tuple[str, ...] = ()  # live call-health signal codes (escalation.health.HEALTH_SIGNALS)
    #: the console's X25519 sealing public key (base64), for follow-ups handed to it
    key: str = ""
    #: a trainee in training mode (escalation/training.py): not on real calls, not in coverage
    practice: bool = False
    #: chats the counselor holds that keep calls from ringing (the chat line); an older
    #: supervisor console ignores it and shows the status as sent
    chats: int = 0
    type = "presence"


@dataclasses.dataclass(frozen=True, slots=True)
class Ring:
    """A missed or abandoned ring (no caller data)."""

    id: str
    counselor: str
    reason: str
    rang_s: float
    at: dt.datetime
    #: the missed contact's id on the counselor's laptop (= its callback id); optional,
    #: older consoles neither send nor read it
    contact: str | None = None
    #: whether the caller's number reached Faro (never the number itself); optional
    shown: bool | None = None
    #: "chat" for a chat the router saw abandoned (optional; a call when absent)
    channel: str | None = None
    type = "ring"


@dataclasses.dataclass(frozen=True, slots=True)
class Answered:
    """A ring that was answered, and how long it rang (speed to answer). No caller data."""

    id: str
    counselor: str
    rang_s: float
    at: dt.datetime
    #: "chat" for a chat answered (the router's identity sends it; optional: a call when absent)
    channel: str | None = None
    type = "answered"


@dataclasses.dataclass(frozen=True, slots=True)
class ChatQueue:
    """The chat router's queue (retained, escalation/chat_queue.py): how many people wait to
    be answered, how many chats are open, the oldest wait as it was at ``at``. No chat
    content, no addresses."""

    id: str
    counselor: str  # the router's identity (the topic's owner)
    waiting: int
    open: int
    oldest_s: float
    at: dt.datetime
    type = "chat_queue"


@dataclasses.dataclass(frozen=True, slots=True)
class ChatAlert:
    """A chat nobody accepted in time (retained while it waits; cleared when it is answered
    or the person leaves): its id, how long it had waited at ``at``, how many offers."""

    id: str
    counselor: str  # the router's identity
    chat: str
    waited_s: float
    offers: int
    at: dt.datetime
    type = "chat_alert"


#: where a callback stands (escalation/callbacks.py)
CALLBACK_STATES = ("open", "assigned", "closed")
#: what the counselor who called back says happened (no_answer puts it back in the queue)
CALLBACK_OUTCOMES = ("reached", "no_answer", "wrong_number", "not_allowed", "duplicate", "other")
_CODE = re.compile(r"^[a-z_]{1,32}$")


@dataclasses.dataclass(frozen=True, slots=True)
class CallbackState:
    """One missed or abandoned contact in the callback queue, as every supervisor and the
    counselors concerned see it: codes, ids, times and a version (``id`` is unique per
    version). Retained on ``s/<counselor>/cb/<callback>/state``; the highest version wins,
    and of two with the same version the first the broker took."""

    id: str
    callback: str  # the contact's id on the laptop that took the ring
    counselor: str  # that laptop's counselor (the number stays there)
    reason: str  # unanswered, abandoned, busy
    rang_s: float
    rung_at: dt.datetime
    shown: bool  # the caller's number reached Faro
    allowed: bool  # the organisation's consent rule allows a callback
    state: str  # open, assigned, closed
    version: int
    by: str  # who made this version (a supervisor, or the counselor whose outcome closed it)
    at: dt.datetime
    assignee: str | None = None
    key: str | None = None  # the assignee console's sealing key, when it is not the counselor
    why: str | None = None  # code: why it is open again (assignee_offline, no_answer, released)
    outcome: str | None = None  # code: how it was closed
    attempts: int = 0  # callback attempts without an answer
    type = "callback"


@dataclasses.dataclass(frozen=True, slots=True)
class CallbackPackage:
    """The number to call back, sealed to the assignee console's key by the laptop that
    took the ring (relayed by a supervisor, who cannot read it)."""

    id: str
    callback: str
    counselor: str
    assignee: str
    version: int
    sealed: str
    at: dt.datetime
    type = "callback_package"


@dataclasses.dataclass(frozen=True, slots=True)
class CallbackOutcome:
    """The assignee called back (or could not): ``outcome`` is a code."""

    id: str
    callback: str
    counselor: str  # who called back
    origin: str  # the counselor whose laptop took the ring
    version: int
    outcome: str
    at: dt.datetime
    type = "callback_outcome"


CallbackMessage = CallbackState | CallbackPackage | CallbackOutcome


@dataclasses.dataclass(frozen=True, slots=True)
class RescueStep:
    """One imminent-risk rescue step of the escalation's call (the counselor's checklist):
    a step code and when it was taken. Never the caller's location or any text: the code
    is all there is (``[a-z_]``, so a newer counselor's new step still decodes here)."""

    id: str
    escalation: str
    counselor: str
    step: str
    at: dt.datetime
    type = "rescue_step"


@dataclasses.dataclass(frozen=True, slots=True)
class TransferRequest:
    """A counselor asks the supervisors to hand one of its follow-ups to another counselor.
    No personal data: the follow-up's id on the counselor's laptop, when it is due, the
    attempts left, the risk summary code and the reason code (``id`` = ``transfer:req``)."""

    id: str
    transfer: str
    counselor: str
    follow_up: str
    due_at: dt.datetime
    attempts_left: int
    risk: str
    reason: str
    at: dt.datetime
    type = "transfer_request"


@dataclasses.dataclass(frozen=True, slots=True)
class TransferDecision:
    """A supervisor's answer: approved to ``recipient`` (with its sealing public key, from its
    presence), or declined with a reason code."""

    id: str
    transfer: str
    counselor: str
    supervisor: str
    approved: bool
    recipient: str | None
    key: str | None
    reason: str | None
    at: dt.datetime
    type = "transfer_decision"


@dataclasses.dataclass(frozen=True, slots=True)
class TransferPackage:
    """The follow-up itself, sealed twice: to the recipient console's key (``sealed``) and
    to the organisation's recovery key (``org_sealed``), base64. Relayed by a supervisor,
    who can read neither."""

    id: str
    transfer: str
    counselor: str
    recipient: str
    sealed: str
    org_sealed: str
    at: dt.datetime
    type = "transfer_package"


@dataclasses.dataclass(frozen=True, slots=True)
class TransferAccepted:
    """The recipient has the follow-up in its store (``counselor`` = the recipient,
    ``sender`` = who handed it on)."""

    id: str
    transfer: str
    counselor: str
    sender: str
    at: dt.datetime
    type = "transfer_accepted"


@dataclasses.dataclass(frozen=True, slots=True)
class QualityRecord:
    """One call's quality figures (docs/quality.md), sent only with the counselor's consent
    (``quality.share_figures``): numbers, codes and booleans. ``id`` is the contact's id (a
    random id, never the caller's number); ``seq`` the counselor laptop's own count of its
    records (their order, whatever its clock); ``at`` its clock when this copy was published
    (the supervisor measures the laptop's clock from it); ``breaks``/``break_s`` the breaks
    of the 12 hours before the call ended. A number is None when the call had no audio."""

    id: str
    counselor: str
    seq: int
    ended_at: dt.datetime
    duration_s: float
    audio: bool
    talk_share: float | None
    interruptions: int | None
    caller_interruptions: int | None
    longest_caller_silence_s: float | None
    muted_speech: int | None
    overlap_s: float | None
    disposition: str | None
    assessed: bool
    risk: str
    follow_up: bool
    breaks: int
    break_s: float
    at: dt.datetime
    # a chat's figures (docs/chat.md "Quality figures"); absent (None) for a call and in the
    # records of a console older than the chat line, ignored by one that does not know them
    channel: str | None = None
    messages_in: int | None = None
    messages_out: int | None = None
    response_median_s: float | None = None
    response_longest_s: float | None = None
    longest_wait_s: float | None = None
    message_share: float | None = None
    type = "quality_record"


@dataclasses.dataclass(frozen=True, slots=True)
class QualityReceipt:
    """A supervisor console keeps the record ``record`` (the counselor stops sending it)."""

    id: str
    record: str
    counselor: str
    supervisor: str
    at: dt.datetime
    type = "quality_receipt"


@dataclasses.dataclass(frozen=True, slots=True)
class DebriefMark:
    """A supervisor would like a debrief about one of the counselor's calls: its record id
    and its end as the counselor's laptop stamped it (so the counselor reads its own time)."""

    id: str
    record: str
    counselor: str
    supervisor: str
    ended_at: dt.datetime
    at: dt.datetime
    type = "debrief_mark"


@dataclasses.dataclass(frozen=True, slots=True)
class CareRequest:
    """The counselor asks the supervisors, privately, for a break (``kind`` ``break``; a
    debrief request is an alert at level ``debrief``). Only supervisors read it."""

    id: str
    counselor: str
    kind: str
    at: dt.datetime
    type = "care_request"


@dataclasses.dataclass(frozen=True, slots=True)
class AssistRequest:
    """A supervisor asks to join a counselor's call in progress (live assistance,
    escalation/assist.py): ``mode`` listen, coach or barge; ``token`` the one-time grant its
    SIP leg will carry. Only that counselor's laptop and supervisors read it."""

    id: str
    counselor: str
    supervisor: str
    mode: str
    token: str
    at: dt.datetime
    type = "assist_request"


@dataclasses.dataclass(frozen=True, slots=True)
class AssistControl:
    """The supervisor changes the mode (``action`` ``mode``) or leaves (``end``)."""

    id: str
    counselor: str
    supervisor: str
    action: str
    mode: str
    at: dt.datetime
    type = "assist_control"


@dataclasses.dataclass(frozen=True, slots=True)
class AssistState:
    """The counselor's laptop says where a live-assistance session is: ``ready`` (dial
    ``uri`` now), ``live``, ``mode`` (changed), ``ended`` or ``refused`` (``reason`` a code)."""

    id: str
    counselor: str
    supervisor: str
    state: str
    mode: str
    at: dt.datetime
    uri: str | None = None
    reason: str | None = None
    type = "assist_state"


AssistMessage = AssistRequest | AssistControl | AssistState
QualityMessage = QualityRecord | QualityReceipt | DebriefMark | CareRequest
TransferMessage = TransferRequest | TransferDecision | TransferPackage | TransferAccepted
Message = (
    Alert
    | Receipt
    | Ack
    | Resolve
    | Whisper
    | Presence
    | Ring
    | RescueStep
    | TransferMessage
    | Answered
    | CallbackMessage
    | QualityMessage
    | AssistMessage
    | ChatQueue
    | ChatAlert
)
_TYPES: dict[str, type] = {
    c.type: c
    for c in (
        Alert,
        Receipt,
        Ack,
        Resolve,
        Whisper,
        Presence,
        Ring,
        RescueStep,
        TransferRequest,
        TransferDecision,
        TransferPackage,
        TransferAccepted,
        Answered,
        CallbackState,
        CallbackPackage,
        CallbackOutcome,
        QualityRecord,
        QualityReceipt,
        DebriefMark,
        CareRequest,
        AssistRequest,
        AssistControl,
        AssistState,
        ChatQueue,
        ChatAlert,
    )
}
CHANNELS = ("call", "chat")
ASSIST_MODES = ("listen", "coach", "barge")
ASSIST_STATES = ("ready", "live", "mode", "ended", "refused")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_SIP_URI = re.compile(r"^sips?:[^\s\"<>]{1,200}$")
#: a wrap-up disposition code (core/forms.py codes; a newer form's code still decodes)
DISPOSITION_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
CARE_KINDS = ("break",)
_B64 = re.compile(r"^[A-Za-z0-9+/]{40,8000}={0,2}$")
_KEY = re.compile(r"^[A-Za-z0-9+/]{43}=$")  # 32 bytes, base64
#: a rescue step code (storage.records.RESCUE_STEPS holds the ones this Faro has words for)
STEP_CODE = re.compile(r"^[a-z_]{1,32}$")
_TIME_FIELDS = ("raised_at", "at")


def encode(msg: Message) -> bytes:
    d: dict[str, Any] = {"v": VERSION, "type": msg.type}
    for f in dataclasses.fields(msg):
        value = getattr(msg, f.name)
        d[f.name] = iso(value) if isinstance(value, dt.datetime) else value
    data = json.dumps(d, separators=(",", ":"), ensure_ascii=False).encode()
    if len(data) > MAX_BYTES:
        raise MessageError("message too large")
    return data


@overload
def _str(
    d: dict[str, Any],
    key: str,
    pattern: re.Pattern[str] | None = None,
    choices: tuple[str, ...] | None = None,
    optional: Literal[False] = False,
) -> str: ...
@overload
def _str(
    d: dict[str, Any],
    key: str,
    pattern: re.Pattern[str] | None = None,
    choices: tuple[str, ...] | None = None,
    *,
    optional: bool,
) -> str | None: ...
def _str(
    d: dict[str, Any],
    key: str,
    pattern: re.Pattern[str] | None = None,
    choices: tuple[str, ...] | None = None,
    optional: bool = False,
) -> str | None:
    v = d.get(key)
    if v is None and optional:
        return None
    if not isinstance(v, str):
        raise MessageError(f"field {key} missing or not text")
    if pattern is not None and not pattern.match(v):
        raise MessageError(f"field {key} malformed")
    if choices is not None and v not in choices:
        raise MessageError(f"field {key} has an unknown value")
    return v


@overload
def _num(d: dict[str, Any], key: str, optional: Literal[False] = False) -> float: ...
@overload
def _num(d: dict[str, Any], key: str, optional: bool) -> float | None: ...
def _num(d: dict[str, Any], key: str, optional: bool = False) -> float | None:
    v = d.get(key)
    if v is None and optional:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or v > 1e7:
        raise MessageError(f"field {key} is not a duration")
    return float(v)


def decode(data: bytes, max_text: int = 4000) -> Message:
    if len(data) > MAX_BYTES:
        raise MessageError("message too large")
    try:
        d = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MessageError("not JSON") from None
    if not isinstance(d, dict):
        raise MessageError("not a JSON object")
    v = d.get("v")
    if not isinstance(v, int) or isinstance(v, bool):
        raise MessageError("no version")
    if v > VERSION:
        raise MessageError(f"version {v} is newer than this Faro understands ({VERSION})")
    kind = d.get("type")
    if kind not in _TYPES:
        raise MessageError("unknown message type")
    if kind == "alert":
        realert = d.get("realert", False)
        if not isinstance(realert, bool):
            raise MessageError("field realert malformed")
        return Alert(
            _str(d, "id", _ID),
            _str(d, "escalation", _ID),
            _str(d, "counselor", IDENTITY),
            _str(d, "contact", _ID, optional=True),
            _str(d, "level", choices=LEVELS),
            _str(d, "reason", choices=REASONS),
            _num(d, "call_s"),
            _str(d, "risk", choices=RISKS),
            parse_time(d.get("raised_at")),
            realert,
        )
    at = parse_time(d.get("at"))
    if kind in ("receipt", "ack"):
        reply: type[Receipt | Ack] = Receipt if kind == "receipt" else Ack
        return reply(
            _str(d, "id", _ID), _str(d, "escalation", _ID), _str(d, "supervisor", IDENTITY), at
        )
    if kind == "resolve":
        return Resolve(
            _str(d, "id", _ID),
            _str(d, "escalation", _ID),
            _str(d, "by", IDENTITY),
            _str(d, "outcome", re.compile(r"^[a-z_]{1,32}$")),
            at,
        )
    if kind == "rescue_step":
        return RescueStep(
            _str(d, "id", _ID),
            _str(d, "escalation", _ID),
            _str(d, "counselor", IDENTITY),
            _str(d, "step", STEP_CODE),
            at,
        )
    if kind.startswith("transfer_"):
        return _transfer(kind, d, at)
    if kind.startswith("callback"):
        return _callback(kind, d, at)
    if kind == "answered":
        return Answered(
            _str(d, "id", _ID),
            _str(d, "counselor", IDENTITY),
            _num(d, "rang_s"),
            at,
            _channel(d),
        )
    if kind == "chat_queue":
        return ChatQueue(
            _str(d, "id", _ID),
            _str(d, "counselor", IDENTITY),
            _count(d, "waiting") or 0,
            _count(d, "open") or 0,
            _num(d, "oldest_s"),
            at,
        )
    if kind == "chat_alert":
        return ChatAlert(
            _str(d, "id", _ID),
            _str(d, "counselor", IDENTITY),
            _str(d, "chat", _ID),
            _num(d, "waited_s"),
            _count(d, "offers") or 0,
            at,
        )
    if kind in ("quality_record", "quality_receipt", "debrief_mark", "care_request"):
        return _quality(kind, d, at)
    if kind.startswith("assist_"):
        return _assist(kind, d, at)
    if kind == "whisper":
        text = _str(d, "text")
        if not text.strip() or len(text) > max_text:
            raise MessageError("whisper empty or too long")
        return Whisper(
            _str(d, "id", _ID), _str(d, "escalation", _ID), _str(d, "by", IDENTITY), text, at
        )
    if kind == "presence":
        unexpected = d.get("unexpected", False)
        if not isinstance(unexpected, bool):
            raise MessageError("field unexpected malformed")
        practice = d.get("practice", False)
        if not isinstance(practice, bool):
            raise MessageError("field practice malformed")
        health = d.get("health", [])
        if not isinstance(health, list) or any(h not in HEALTH_SIGNALS for h in health):
            raise MessageError("field health malformed")
        return Presence(
            _str(d, "counselor", IDENTITY),
            _str(d, "status", choices=STATUSES),
            at,
            _num(d, "call_s", optional=True),
            _str(d, "escalation", re.compile(r"^[a-z]{1,16}$"), optional=True),
            unexpected,
            _str(d, "id", optional=True) or "",
            tuple(health),
            _str({"key": d.get("key") or None}, "key", _KEY, optional=True) or "",
            practice,
            _chats(d),
        )
    shown = d.get("shown")
    if shown is not None and not isinstance(shown, bool):
        raise MessageError("field shown malformed")
    return Ring(
        _str(d, "id", _ID),
        _str(d, "counselor", IDENTITY),
        _str(d, "reason", choices=("unanswered", "abandoned", "busy")),
        _num(d, "rang_s"),
        at,
        _str(d, "contact", _ID, optional=True),
        shown,
        _channel(d),
    )


def _chats(d: dict[str, Any]) -> int:
    v = d.get("chats", 0)
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 100:
        raise MessageError("field chats malformed")
    return v


def _channel(d: dict[str, Any]) -> str | None:
    """An optional channel; one this Faro does not know reads as absent (a call's figures)."""
    v = d.get("channel")
    return v if v in CHANNELS else None


def _int(d: dict[str, Any], key: str) -> int:
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 100:
        raise MessageError(f"field {key} is not a count")
    return v


def _transfer(kind: str, d: dict[str, Any], at: dt.datetime) -> TransferMessage:
    ids = (_str(d, "id", _ID), _str(d, "transfer", _ID), _str(d, "counselor", IDENTITY))
    if kind == "transfer_request":
        return TransferRequest(
            *ids,
            _str(d, "follow_up", _ID),
            parse_time(d.get("due_at")),
            _int(d, "attempts_left"),
            _str(d, "risk", choices=RISKS),
            _str(d, "reason", re.compile(r"^[a-z_]{1,32}$")),
            at,
        )
    if kind == "transfer_decision":
        approved = d.get("approved")
        if not isinstance(approved, bool):
            raise MessageError("field approved malformed")
        recipient = _str(d, "recipient", IDENTITY, optional=not approved)
        key = _str(d, "key", _KEY, optional=not approved)
        reason = _str(d, "reason", re.compile(r"^[a-z_]{1,32}$"), optional=approved)
        return TransferDecision(
            *ids, _str(d, "supervisor", IDENTITY), approved, recipient, key, reason, at
        )
    if kind == "transfer_package":
        return TransferPackage(
            *ids,
            _str(d, "recipient", IDENTITY),
            _str(d, "sealed", _B64),
            _str(d, "org_sealed", _B64),
            at,
        )
    return TransferAccepted(*ids, _str(d, "sender", IDENTITY), at)


def _bool(d: dict[str, Any], key: str) -> bool:
    v = d.get(key)
    if not isinstance(v, bool):
        raise MessageError(f"field {key} malformed")
    return v


def _version(d: dict[str, Any]) -> int:
    v = d.get("version")
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 1_000_000:
        raise MessageError("field version is not a version")
    return v


def _callback(kind: str, d: dict[str, Any], at: dt.datetime) -> CallbackMessage:
    ids = (_str(d, "id", _ID), _str(d, "callback", _ID), _str(d, "counselor", IDENTITY))
    if kind == "callback":
        return CallbackState(
            *ids,
            _str(d, "reason", choices=("unanswered", "abandoned", "busy")),
            _num(d, "rang_s"),
            parse_time(d.get("rung_at")),
            _bool(d, "shown"),
            _bool(d, "allowed"),
            _str(d, "state", choices=CALLBACK_STATES),
            _version(d),
            _str(d, "by", IDENTITY),
            at,
            _str(d, "assignee", IDENTITY, optional=True),
            _str(d, "key", _KEY, optional=True),
            _str(d, "why", _CODE, optional=True),
            _str(d, "outcome", _CODE, optional=True),
            _int(d, "attempts") if "attempts" in d else 0,
        )
    if kind == "callback_package":
        return CallbackPackage(
            *ids, _str(d, "assignee", IDENTITY), _version(d), _str(d, "sealed", _B64), at
        )
    if kind == "callback_outcome":
        return CallbackOutcome(
            *ids,
            _str(d, "origin", IDENTITY),
            _version(d),
            _str(d, "outcome", _CODE),
            at,
        )
    raise MessageError("unknown message type")


def _count(d: dict[str, Any], key: str, optional: bool = False) -> int | None:
    v = d.get(key)
    if v is None and optional:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 1_000_000:
        raise MessageError(f"field {key} is not a count")
    return v


def _share(d: dict[str, Any], key: str) -> float | None:
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
        raise MessageError(f"field {key} is not a share")
    return float(v)


def _quality(kind: str, d: dict[str, Any], at: dt.datetime) -> QualityMessage:
    mid, counselor = _str(d, "id", _ID), _str(d, "counselor", IDENTITY)
    if kind == "care_request":
        return CareRequest(mid, counselor, _str(d, "kind", choices=CARE_KINDS), at)
    if kind == "quality_receipt":
        return QualityReceipt(
            mid, _str(d, "record", _ID), counselor, _str(d, "supervisor", IDENTITY), at
        )
    if kind == "debrief_mark":
        return DebriefMark(
            mid,
            _str(d, "record", _ID),
            counselor,
            _str(d, "supervisor", IDENTITY),
            parse_time(d.get("ended_at")),
            at,
        )
    seq = _count(d, "seq")
    assert seq is not None
    return QualityRecord(
        mid,
        counselor,
        seq,
        parse_time(d.get("ended_at")),
        _num(d, "duration_s"),
        _bool(d, "audio"),
        _share(d, "talk_share"),
        _count(d, "interruptions", optional=True),
        _count(d, "caller_interruptions", optional=True),
        _num(d, "longest_caller_silence_s", optional=True),
        _count(d, "muted_speech", optional=True),
        _num(d, "overlap_s", optional=True),
        _str(d, "disposition", DISPOSITION_CODE, optional=True),
        _bool(d, "assessed"),
        _str(d, "risk", choices=RISKS),
        _bool(d, "follow_up"),
        _count(d, "breaks") or 0,
        _num(d, "break_s"),
        at,
        _str(d, "channel", _CODE, optional=True),
        _count(d, "messages_in", optional=True),
        _count(d, "messages_out", optional=True),
        _num(d, "response_median_s", optional=True),
        _num(d, "response_longest_s", optional=True),
        _num(d, "longest_wait_s", optional=True),
        _share(d, "message_share"),
    )


def _assist(kind: str, d: dict[str, Any], at: dt.datetime) -> AssistMessage:
    ids = (_str(d, "id", _ID), _str(d, "counselor", IDENTITY), _str(d, "supervisor", IDENTITY))
    if kind == "assist_request":
        return AssistRequest(
            *ids, _str(d, "mode", choices=ASSIST_MODES), _str(d, "token", _TOKEN), at
        )
    if kind == "assist_control":
        return AssistControl(
            *ids,
            _str(d, "action", choices=("mode", "end")),
            _str(d, "mode", choices=ASSIST_MODES),
            at,
        )
    if kind == "assist_state":
        return AssistState(
            *ids,
            _str(d, "state", choices=ASSIST_STATES),
            _str(d, "mode", choices=ASSIST_MODES),
            at,
            _str(d, "uri", _SIP_URI, optional=True),
            _str(d, "reason", _CODE, optional=True),
        )
    raise MessageError("unknown message type")
