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
    type = "presence"


@dataclasses.dataclass(frozen=True, slots=True)
class Ring:
    """A missed or abandoned ring (no caller data)."""

    id: str
    counselor: str
    reason: str
    rang_s: float
    at: dt.datetime
    type = "ring"


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


TransferMessage = TransferRequest | TransferDecision | TransferPackage | TransferAccepted
Message = Alert | Receipt | Ack | Resolve | Whisper | Presence | Ring | RescueStep | TransferMessage
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
    )
}
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
        )
    return Ring(
        _str(d, "id", _ID),
        _str(d, "counselor", IDENTITY),
        _str(d, "reason", choices=("unanswered", "abandoned", "busy")),
        _num(d, "rang_s"),
        at,
    )


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
