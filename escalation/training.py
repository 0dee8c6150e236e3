"""Training mode on the link: a trainee's practice calls, watched by a supervisor.

A trainee's console in training mode (``calls.training``) never raises a real escalation:
:class:`CounselorTraining`, attached to the counselor agent, takes every escalation the
console asks for (the button, the keys, the button box, an imminent-risk proposal, a
debrief request) and turns it into a **practice alert** on the trainee's own practice
topics. Real supervisors' alert queues, the T1/T2 ladder, the backup group and the fallback
number never see it, by construction:

- practice messages have their own types (``practice_status``, ``practice_alert``,
  ``practice_ack``, ``practice_note``) with their own decoder (:func:`decode`); the real
  decoder (escalation/messages.py) does not know them and drops them, so an older console,
  or any real path a practice message might stray into, refuses it;
- they travel on their own topics (below), which only the watch subscribes to;
- no ladder is ever armed for them, and they are kept in memory only: never in the real
  outbox, the store's escalation mirror or its audit.

The trainee's presence stays on the real board, marked ``practice`` (escalation/messages.py
``Presence.practice``): supervisors see that the trainee is practising, and the coverage
count leaves a trainee out.

| topic | writer | retained | what |
|---|---|---|---|
| ``faro/v1/c/C/practice/status`` | trainee | yes | scenario, its kind and difficulty, risk level code, rescue step codes |
| ``faro/v1/c/C/practice/alert`` | trainee | no | a practice escalation (level, reason, risk, call_s), again at every connection until acknowledged |
| ``faro/v1/c/C/practice/note`` | trainee | no | a trainee's note to the watching supervisor |
| ``faro/v1/s/C/practice/ack`` | supervisor | no | a practice escalation acknowledged |
| ``faro/v1/s/C/practice/note`` | supervisor | no | feedback to the trainee (text, like a whisper) |

The existing ACL covers them (a counselor writes its own subtree and reads its inbox). Like
a whisper, a note is free text: it is never logged and never put in a real record.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import logging
import re
import threading
from typing import TYPE_CHECKING, Any

from core.events import Event
from escalation import events as ev
from escalation import messages as m
from escalation import options as o
from escalation import reasons
from escalation.levels import DEFAULT_REASON, LEVELS
from escalation.topics import ROOT

if TYPE_CHECKING:
    from escalation.counselor.agent import CounselorAgent
    from escalation.supervisor import SupervisorAgent

log = logging.getLogger(__name__)

VERSION = 1
LEAVES = ("status", "alert", "note", "ack")
ALL_PRACTICE = f"{ROOT}/c/+/practice/#"
#: outcome of practice escalations still open when the practice call's wrap-up ends
PRACTICE_OVER = "practice_over"
#: the risk level codes a status carries ("" : not assessed yet)
RISK_LEVELS = ("", "low", "moderate", "high", "imminent")
_CODE = re.compile(r"^[a-z0-9_-]{0,48}$")
MAX_NOTES = 100


def practice_topic(side: str, counselor: str, leaf: str) -> str:
    return f"{ROOT}/{side}/{counselor}/practice/{leaf}"


def parse_topic(topic: str) -> tuple[str, str, str] | None:
    """(side 'c'|'s', identity, leaf) of a practice topic; None for any other topic."""
    parts = topic.split("/")
    if len(parts) == 6 and parts[:2] == ["faro", "v1"] and parts[4] == "practice":
        if parts[2] in ("c", "s") and parts[5] in LEAVES:
            return parts[2], parts[3], parts[5]
    return None


# -- messages ----------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class PracticeStatus:
    id: str
    counselor: str
    scenario: str  # the scenario's id
    kind: str  # third_party, attempt_in_progress, silent_caller, abusive_caller
    difficulty: int
    call: str  # the practice call's id ("": between calls)
    risk: str  # the newest saved assessment's level ("": none yet)
    steps: tuple[str, ...]  # rescue step codes, in order
    at: dt.datetime
    type = "practice_status"


@dataclasses.dataclass(frozen=True, slots=True)
class PracticeAlert:
    id: str
    escalation: str
    counselor: str
    level: str
    reason: str
    risk: str
    call_s: float
    raised_at: dt.datetime
    type = "practice_alert"


@dataclasses.dataclass(frozen=True, slots=True)
class PracticeAck:
    id: str
    escalation: str
    counselor: str
    supervisor: str
    at: dt.datetime
    type = "practice_ack"


@dataclasses.dataclass(frozen=True, slots=True)
class PracticeNote:
    """Feedback between the watching supervisor and the trainee (free text, never logged)."""

    id: str
    counselor: str  # the trainee
    by: str
    text: str
    at: dt.datetime
    type = "practice_note"


PracticeMessage = PracticeStatus | PracticeAlert | PracticeAck | PracticeNote
_TYPES = {c.type: c for c in (PracticeStatus, PracticeAlert, PracticeAck, PracticeNote)}


def encode(msg: PracticeMessage) -> bytes:
    d: dict[str, Any] = {"v": VERSION, "type": msg.type, "practice": True}
    for f in dataclasses.fields(msg):
        value = getattr(msg, f.name)
        if isinstance(value, dt.datetime):
            value = m.iso(value)
        elif isinstance(value, tuple):
            value = list(value)
        d[f.name] = value
    data = json.dumps(d, separators=(",", ":"), ensure_ascii=False).encode()
    if len(data) > m.MAX_BYTES:
        raise m.MessageError("message too large")
    return data


def _s(d: dict[str, Any], key: str, pattern: re.Pattern[str] | None = None) -> str:
    v = d.get(key)
    if not isinstance(v, str) or (pattern is not None and not pattern.match(v)):
        raise m.MessageError(f"field {key} missing or malformed")
    return v


def decode(data: bytes, max_text: int = 4000) -> PracticeMessage:
    """A practice message; :class:`escalation.messages.MessageError` for anything else
    (a real message too: the two never stand in for each other). Unknown fields ignored."""
    if len(data) > m.MAX_BYTES:
        raise m.MessageError("message too large")
    try:
        d = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise m.MessageError("not JSON") from None
    if not isinstance(d, dict) or d.get("practice") is not True:
        raise m.MessageError("not a practice message")
    v = d.get("v")
    if not isinstance(v, int) or isinstance(v, bool) or v > VERSION:
        raise m.MessageError("no version or a newer one")
    kind = d.get("type")
    if kind not in _TYPES:
        raise m.MessageError("unknown practice message type")
    ident = _s(d, "id", m._ID)  # noqa: SLF001 - the same id rule as every message
    counselor = _s(d, "counselor", m.IDENTITY)
    if kind == "practice_status":
        steps = d.get("steps", [])
        difficulty = d.get("difficulty")
        if not isinstance(steps, list) or not all(
            isinstance(s, str) and m.STEP_CODE.match(s) for s in steps
        ):
            raise m.MessageError("field steps malformed")
        if difficulty not in (1, 2, 3) or isinstance(difficulty, bool):
            raise m.MessageError("field difficulty malformed")
        risk = d.get("risk", "")
        if risk not in RISK_LEVELS:
            raise m.MessageError("field risk has an unknown value")
        return PracticeStatus(
            ident,
            counselor,
            _s(d, "scenario", _CODE),
            _s(d, "kind", _CODE),
            int(difficulty),
            _s(d, "call", _CODE),
            str(risk),
            tuple(steps[:50]),
            m.parse_time(d.get("at")),
        )
    if kind == "practice_alert":
        level, reason, risk = d.get("level"), d.get("reason"), d.get("risk")
        if level not in LEVELS or reason not in reasons.REASONS or risk not in reasons.RISKS:
            raise m.MessageError("field level, reason or risk has an unknown value")
        call_s = d.get("call_s")
        if isinstance(call_s, bool) or not isinstance(call_s, (int, float)) or call_s < 0:
            raise m.MessageError("field call_s is not a duration")
        return PracticeAlert(
            ident,
            _s(d, "escalation", m._ID),  # noqa: SLF001
            counselor,
            str(level),
            str(reason),
            str(risk),
            float(call_s),
            m.parse_time(d.get("raised_at")),
        )
    if kind == "practice_ack":
        return PracticeAck(
            ident,
            _s(d, "escalation", m._ID),  # noqa: SLF001
            counselor,
            _s(d, "supervisor", m.IDENTITY),
            m.parse_time(d.get("at")),
        )
    text = _s(d, "text")
    if not text.strip() or len(text) > max_text:
        raise m.MessageError("note empty or too long")
    return PracticeNote(ident, counselor, _s(d, "by", m.IDENTITY), text, m.parse_time(d.get("at")))


# -- events --------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class PracticeNoteReceived(Event):
    """A practice note on either side (``direction`` "in" = received, "out" = sent)."""

    counselor: str  # the trainee
    direction: str
    by: str
    text: str  # never logged
    at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class PracticeChanged(Event):
    """The watch's picture of a trainee changed (supervisor side)."""

    counselor: str


# -- the trainee's side ----------------------------------------------------------------------
@dataclasses.dataclass
class PracticeEscalation:
    id: str
    call_id: str | None
    level: str
    reason: str
    risk: str
    call_s: float
    raised_at: dt.datetime
    state: str = ev.RAISED
    by: str | None = None

    @property
    def open(self) -> bool:
        return self.state != ev.RESOLVED


class CounselorTraining:
    """The trainee's practice link, attached to the counselor agent
    (``self.training = CounselorTraining(self)``). Inactive outside training mode."""

    def __init__(self, agent: CounselorAgent) -> None:
        from calls.options import TRAINING

        self.agent = agent
        self.active = bool(agent.config.get(TRAINING))
        self._lock = threading.Lock()
        self.escalations: dict[str, PracticeEscalation] = {}
        self._seen: set[str] = set()
        self._status: PracticeStatus | None = None
        self._scenario: tuple[str, str, int] = ("", "", 1)
        self._call = ""
        self._risk = ""
        self._steps: list[str] = []
        agent.presence.practice = self.active

    # -- what the trainee's session tells it (app/training.py) ------------------------------
    def set_scenario(self, scenario: str, kind: str, difficulty: int, call_id: str = "") -> None:
        """The practice call now (a new call starts with no risk level and no steps)."""
        with self._lock:
            self._scenario = (scenario, kind, difficulty if difficulty in (1, 2, 3) else 1)
            self._call = call_id if _CODE.match(call_id) else ""
            self._risk, self._steps = "", []
        self.publish_status()

    def set_risk(self, level: str) -> None:
        with self._lock:
            self._risk = level if level in RISK_LEVELS else ""
        self.publish_status()

    def add_step(self, step: str) -> None:
        if not m.STEP_CODE.match(step):
            return
        with self._lock:
            self._steps.append(step)
        self.publish_status()

    def call_over(self) -> None:
        """The practice call's contact is over: its practice escalations end here."""
        with self._lock:
            still = [e for e in self.escalations.values() if e.open]
            for e in still:
                e.state = ev.RESOLVED
        for e in still:
            self._emit(e, ev.RESOLVED, None, PRACTICE_OVER)

    # -- escalations (CounselorAgent.raise_escalation hands them here in training mode) ------
    def raise_practice(
        self,
        level: str,
        call_id: str | None,
        *,
        reason: str | None = None,
        risk: str = "unknown",
        call_s: float = 0.0,
    ) -> str:
        if level not in LEVELS:
            raise ValueError(f"unknown escalation level {level!r}")
        reason = reason or DEFAULT_REASON[level]
        esc = PracticeEscalation(
            m.new_id(),
            call_id,
            level,
            reason if reason in reasons.REASONS else DEFAULT_REASON[level],
            risk if risk in reasons.RISKS else "unknown",
            max(0.0, call_s),
            self.agent.clock.now(),
        )
        with self._lock:
            self.escalations[esc.id] = esc
        log.info(
            "practice escalation %s raised (level %s): to the watching supervisor", esc.id, level
        )
        self._emit(esc, ev.RAISED, None)
        self._send_alert(esc)
        return esc.id

    def owns(self, escalation_id: str) -> bool:
        with self._lock:
            return escalation_id in self.escalations

    def open_escalations(self) -> list[PracticeEscalation]:
        with self._lock:
            return [copy.copy(e) for e in self.escalations.values() if e.open]

    def resolve(self, escalation_id: str, outcome: str = "resolved_by_counselor") -> None:
        with self._lock:
            esc = self.escalations.get(escalation_id)
            if esc is None or not esc.open:
                return
            esc.state = ev.RESOLVED
        self._emit(esc, ev.RESOLVED, self.agent.identity, outcome)

    def note(self, text: str) -> None:
        """The trainee writes to the watching supervisor (the escalation panel's whisper)."""
        text = self._checked(text)
        msg = PracticeNote(
            m.new_id(), self.agent.identity, self.agent.identity, text, self.agent.clock.now()
        )
        self._publish(practice_topic("c", self.agent.identity, "note"), encode(msg))
        self.agent.bus.publish(PracticeNoteReceived(msg.counselor, "out", msg.by, text, msg.at))

    def _checked(self, text: str) -> str:
        text = text.strip()
        limit = self.agent.config.get(o.WHISPER_MAX_CHARS)
        if not text or len(text) > limit:
            raise ValueError(f"a note has 1 to {limit} characters")
        return text

    # -- the link -------------------------------------------------------------------------
    def republish(self) -> None:
        """At every connection: the status, and every practice alert not acknowledged."""
        if not self.active:
            return
        self.publish_status()
        with self._lock:
            waiting = [e for e in self.escalations.values() if e.open and e.by is None]
        for esc in waiting:
            self._send_alert(esc)

    def farewell(self) -> list[tuple[str, bytes, bool]]:
        """What a clean stop publishes: the retained status cleared."""
        if not self.active or not self.agent.identity:
            return []
        return [(practice_topic("c", self.agent.identity, "status"), b"", True)]

    def publish_status(self) -> None:
        if not self.active or not self.agent.identity:
            return
        with self._lock:
            sid, kind, difficulty = self._scenario
            msg = PracticeStatus(
                m.new_id(),
                self.agent.identity,
                sid,
                kind,
                difficulty,
                self._call,
                self._risk,
                tuple(self._steps),
                self.agent.clock.now(),
            )
            self._status = msg
        self._publish(practice_topic("c", self.agent.identity, "status"), encode(msg), retain=True)

    def on_message(self, topic: str, payload: bytes) -> bool:
        """True when ``topic`` is a practice topic (handled here, whatever the payload)."""
        parsed = parse_topic(topic)
        if parsed is None:
            return False
        side, who, leaf = parsed
        if side != "s" or who != self.agent.identity or not payload:
            return True
        try:
            msg = decode(payload, self.agent.config.get(o.WHISPER_MAX_CHARS))
        except m.MessageError as exc:
            log.warning("ignored a malformed practice message: %s", exc)
            return True
        if msg.counselor != who:
            log.warning("ignored a practice message whose counselor does not match its topic")
            return True
        with self._lock:
            if msg.id in self._seen:
                return True
            self._seen.add(msg.id)
        if isinstance(msg, PracticeAck) and leaf == "ack":
            with self._lock:
                esc = self.escalations.get(msg.escalation)
                fresh = esc is not None and esc.open and esc.by is None
                if fresh and esc is not None:
                    esc.state, esc.by = ev.ACKNOWLEDGED, msg.supervisor
            if fresh and esc is not None:
                self._emit(esc, ev.ACKNOWLEDGED, msg.supervisor)
        elif isinstance(msg, PracticeNote) and leaf == "note":
            self.agent.bus.publish(PracticeNoteReceived(who, "in", msg.by, msg.text, msg.at))
        return True

    def _send_alert(self, esc: PracticeEscalation) -> None:
        msg = PracticeAlert(
            esc.id + ":" + m.new_id()[:8],
            esc.id,
            self.agent.identity,
            esc.level,
            esc.reason,
            esc.risk,
            round(esc.call_s, 1),
            esc.raised_at,
        )

        def sent(ok: bool) -> None:
            with self._lock:
                first = ok and esc.state == ev.RAISED
                if first:
                    esc.state = ev.SENT
            if first:
                self._emit(esc, ev.SENT, None)

        self._publish(practice_topic("c", self.agent.identity, "alert"), encode(msg), on_sent=sent)

    def _publish(
        self, topic: str, payload: bytes, retain: bool = False, on_sent: Any = None
    ) -> None:
        link = self.agent.link
        if link is not None:
            link.publish(topic, payload, qos=1, retain=retain, on_sent=on_sent)

    def _emit(
        self, esc: PracticeEscalation, state: str, by: str | None, outcome: str | None = None
    ) -> None:
        """The console's own panel and lights follow a practice escalation as any other;
        nothing else of the real lifecycle (no outbox, no record, no ladder) runs."""
        self.agent.bus.publish(
            ev.EscalationStateChanged(
                esc.id, esc.call_id, esc.level, state, by, self.agent.clock.now(), outcome
            )
        )


# -- the supervisor's side -----------------------------------------------------------------
@dataclasses.dataclass
class WatchedAlert:
    escalation: str
    level: str
    reason: str
    risk: str
    call_s: float
    raised_at: dt.datetime
    by: str | None = None


@dataclasses.dataclass
class Trainee:
    counselor: str
    status: PracticeStatus | None = None
    alerts: list[WatchedAlert] = dataclasses.field(default_factory=list)
    notes: list[tuple[str, str, str, dt.datetime]] = dataclasses.field(default_factory=list)


class SupervisorTraining:
    """The watch: trainees' practice status, practice alerts and feedback, attached to the
    supervisor agent (``self.training = SupervisorTraining(self)``). Nothing here touches
    the real board, the alert queue or the store."""

    SUBSCRIPTION = ALL_PRACTICE

    def __init__(self, agent: SupervisorAgent) -> None:
        self.agent = agent
        self._lock = threading.Lock()
        self.trainees: dict[str, Trainee] = {}
        self._seen: set[str] = set()

    def snapshot(self) -> list[Trainee]:
        with self._lock:
            return copy.deepcopy(sorted(self.trainees.values(), key=lambda t: t.counselor))

    def trainee(self, counselor: str) -> Trainee | None:
        with self._lock:
            t = self.trainees.get(counselor)
            return copy.deepcopy(t) if t else None

    def acknowledge(self, counselor: str, escalation: str) -> None:
        with self._lock:
            t = self.trainees.get(counselor)
            item = next((a for a in t.alerts if a.escalation == escalation), None) if t else None
            if item is None:
                raise KeyError(escalation)
            item.by = item.by or self.agent.identity
        msg = PracticeAck(
            m.new_id(), escalation, counselor, self.agent.identity, self.agent.clock.now()
        )
        self._publish(practice_topic("s", counselor, "ack"), encode(msg))
        self.agent.bus.publish(PracticeChanged(counselor))

    def feedback(self, counselor: str, text: str) -> None:
        """Feedback to the trainee (text, like a whisper; marked practice)."""
        text = text.strip()
        limit = self.agent.config.get(o.WHISPER_MAX_CHARS)
        if not text or len(text) > limit:
            raise ValueError(f"feedback has 1 to {limit} characters")
        msg = PracticeNote(m.new_id(), counselor, self.agent.identity, text, self.agent.clock.now())
        self._publish(practice_topic("s", counselor, "note"), encode(msg))
        with self._lock:
            t = self.trainees.setdefault(counselor, Trainee(counselor))
            self._add_note(t, ("out", self.agent.identity, text, msg.at))
        self.agent.bus.publish(PracticeNoteReceived(counselor, "out", msg.by, text, msg.at))

    def on_message(self, topic: str, payload: bytes) -> bool:
        parsed = parse_topic(topic)
        if parsed is None:
            return False
        side, who, leaf = parsed
        if side != "c":
            return True  # another supervisor's ack or feedback: its own business
        if not payload:
            if leaf == "status":  # the trainee stopped cleanly: off the watch
                with self._lock:
                    gone = self.trainees.pop(who, None)
                if gone is not None:
                    self.agent.bus.publish(PracticeChanged(who))
            return True
        try:
            msg = decode(payload, self.agent.config.get(o.WHISPER_MAX_CHARS))
        except m.MessageError as exc:
            log.warning("ignored a malformed practice message: %s", exc)
            return True
        if msg.counselor != who:
            log.warning("ignored a practice message whose counselor does not match its topic")
            return True
        with self._lock:
            if msg.id in self._seen:
                return True
            self._seen.add(msg.id)
            t = self.trainees.setdefault(who, Trainee(who))
            if isinstance(msg, PracticeStatus) and leaf == "status":
                if t.status is None or (t.status.scenario, t.status.call) != (
                    msg.scenario,
                    msg.call,
                ):
                    t.alerts.clear()  # a new practice call
                t.status = msg
            elif isinstance(msg, PracticeAlert) and leaf == "alert":
                if not any(a.escalation == msg.escalation for a in t.alerts):
                    t.alerts.append(
                        WatchedAlert(
                            msg.escalation,
                            msg.level,
                            msg.reason,
                            msg.risk,
                            msg.call_s,
                            msg.raised_at,
                        )
                    )
            elif isinstance(msg, PracticeNote) and leaf == "note":
                self._add_note(t, ("in", msg.by, msg.text, msg.at))
                note = msg
            else:
                return True
        if isinstance(msg, PracticeNote):
            self.agent.bus.publish(PracticeNoteReceived(who, "in", note.by, note.text, note.at))
        self.agent.bus.publish(PracticeChanged(who))
        return True

    @staticmethod
    def _add_note(t: Trainee, note: tuple[str, str, str, dt.datetime]) -> None:
        t.notes.append(note)
        del t.notes[:-MAX_NOTES]

    def _publish(self, topic: str, payload: bytes) -> None:
        link = self.agent.link
        if link is not None:
            link.publish(topic, payload, qos=1)
