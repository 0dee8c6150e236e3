"""Quality review without recordings, and the counselor's private requests (docs/quality.md).

Counselor C, record R (= the contact's random id), request Q; all QoS 1, not retained,
under the existing ACL (a counselor writes only its own subtree and reads only its inbox,
so no other counselor can read any of this):

- ``quality_record`` on ``c/C/quality/R/record``: one call's figures, made at the end of
  its wrap-up by app/wiring.py from the store, **only if** ``quality.share_figures`` is on.
  An outbox item (``quality.record``) until a supervisor's ``quality_receipt`` comes back;
  published again at every connection and every ``escalation.resend_s``, each copy stamped
  with the laptop's clock at that moment (``at``), which the supervisor uses to measure that
  laptop's clock (:class:`ClockWatch`). Consent withdrawn: what is still waiting is dropped,
  never sent.
- ``care_request`` on ``c/C/quality/Q/care``: a break asked for privately; pending
  (``quality.care``) until a receipt.
- ``quality_receipt`` on ``s/C/quality/R/receipt``: a supervisor console keeps it.
- ``debrief_mark`` on ``s/C/quality/R/mark``: a supervisor would like a debrief about that
  call; the counselor is told privately (``DebriefMarked``), once per mark (kept as a local
  item ``quality.told`` until the counselor has seen it), and every supervisor console hears
  it too (one review queue for the centre).

A supervisor keeps each record (and each mark) first as a local outbox item
(``quality.keep``: durable, in the spool while the store is locked) and app/wiring.py moves
it to the store (storage/figures.py); the outbox's ids make a repeat harmless, after a
restart too. Break requests stay as local items (``quality.care_in``) until a supervisor
says they were answered.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json
import logging
import threading
from typing import TYPE_CHECKING, Any

from escalation import events as ev
from escalation import messages as m
from escalation import options as o
from escalation.topics import ROOT

if TYPE_CHECKING:
    from escalation.agent import Agent

log = logging.getLogger(__name__)

RECORD = "quality.record"  # counselor: published until a supervisor's receipt
CARE = "quality.care"  # counselor: a break request, published until a receipt
TOLD = "quality.told"  # counselor, local: a debrief mark the counselor has not seen yet
KEEP = "quality.keep"  # supervisor, local: a record or a mark for the store
CARE_IN = "quality.care_in"  # supervisor, local: a break request not answered yet
SEND = "quality.send"  # supervisor: published until the broker has it (marks)
#: all supervisors' quality traffic from counselors
ALL_COUNSELOR_QUALITY = f"{ROOT}/c/+/quality/#"
#: messages that arrive this soon after (re)connecting may have waited on the broker: they
#: are not used to measure a laptop's clock (a queued copy would make it look late)
BURST_S = 5.0
#: a laptop's clock is measured over this many of its latest live messages (a clock that
#: is corrected by NTP is followed within as many messages)
CLOCK_SAMPLES = 20
#: ...and of the last half hour only, so a clock stepped since is followed within minutes
CLOCK_WINDOW_S = 1800.0


def counselor_topic(counselor: str, item: str, leaf: str) -> str:
    return f"{ROOT}/c/{counselor}/quality/{item}/{leaf}"


def supervisor_topic(counselor: str, item: str, leaf: str) -> str:
    return f"{ROOT}/s/{counselor}/quality/{item}/{leaf}"


def parse(topic: str) -> tuple[str, str, str, str] | None:
    """(side 'c'|'s', counselor, item id, leaf) of a quality topic; None for any other."""
    parts = topic.split("/")
    if len(parts) == 7 and parts[:2] == ["faro", "v1"] and parts[4] == "quality":
        if parts[2] in ("c", "s"):
            return parts[2], parts[3], parts[5], parts[6]
    return None


def _decode(payload: bytes, kind: type) -> Any | None:
    try:
        msg = m.decode(payload)
    except m.MessageError as exc:
        log.warning("ignored a malformed quality message: %s", exc)
        return None
    return msg if isinstance(msg, kind) else None


def record_fields(msg: m.QualityRecord) -> dict[str, Any]:
    """A record as a plain dict (times as ISO UTC text), as a supervisor keeps it."""
    out = {f.name: getattr(msg, f.name) for f in dataclasses.fields(msg)}
    for key in ("ended_at", "at"):
        out[key] = m.iso(out[key])
    return out


class _Side:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self._lock = threading.RLock()

    @property
    def me(self) -> str:
        return self.agent.identity

    def _publish(self, topic: str, payload: bytes, message_id: str | None = None) -> None:
        link = self.agent.link
        if link is None:
            return
        sent = self.agent._done_when_sent(message_id) if message_id else None
        link.publish(topic, payload, qos=1, on_sent=sent)


# -- the counselor's laptop -------------------------------------------------------------------
class CounselorQuality(_Side):
    @property
    def consent(self) -> bool:
        return bool(self.agent.config.get(o.QUALITY_SHARE))

    def share(self, record: m.QualityRecord) -> bool:
        """Send one call's figures, if the counselor consented (False: nothing leaves).
        ``record.at`` is replaced by the time of each publication."""
        if not self.consent:
            return False
        if record.counselor != self.me:
            raise ValueError("a quality record names this laptop's counselor")
        payload = m.encode(record)
        if self.agent.outbox.add(RECORD, record.id, payload):
            log.info("quality record %s queued (seq %d)", record.id, record.seq)
        self._publish_record(payload)
        return True

    def ask_break(self) -> str:
        """Ask the supervisors, privately, for a break. Returns the request's id."""
        msg = m.CareRequest(m.new_id(), self.me, "break", self.agent.clock.now())
        payload = m.encode(msg)
        self.agent.outbox.add(CARE, msg.id, payload)
        self.agent.outbox.audit("quality.ask_break", msg.id, None)
        self._publish(counselor_topic(self.me, msg.id, "care"), payload)
        return msg.id

    def waiting(self) -> dict[str, int]:
        """How many records and break requests have not reached a supervisor yet."""
        pending = self.agent.outbox.pending()
        return {
            "records": sum(1 for p in pending if p.kind == RECORD),
            "care": sum(1 for p in pending if p.kind == CARE),
        }

    def unseen_marks(self) -> list[m.DebriefMark]:
        """Debriefs a supervisor asked for that the counselor has not marked as seen."""
        out = []
        for p in self.agent.outbox.pending(TOLD):
            msg = _decode(p.payload, m.DebriefMark)
            if msg is not None:
                out.append(msg)
        return sorted(out, key=lambda mark: mark.ended_at)

    def seen(self, mark_id: str) -> None:
        self.agent.outbox.mark_sent(f"{mark_id}:told")

    def _publish_record(self, payload: bytes) -> None:
        msg = _decode(payload, m.QualityRecord)
        if msg is None:
            return
        fresh = dataclasses.replace(msg, at=self.agent.clock.now())
        self._publish(counselor_topic(self.me, msg.id, "record"), m.encode(fresh))

    def republish(self) -> None:
        consent = self.consent
        for p in self.agent.outbox.pending():
            if p.kind == RECORD:
                if not consent:  # withdrawn: what waits is never sent
                    self.agent.outbox.mark_sent(p.message_id)
                    continue
                self._publish_record(p.payload)
            elif p.kind == CARE:
                self._publish(counselor_topic(self.me, p.message_id, "care"), p.payload)

    def on_message(self, side: str, who: str, item: str, leaf: str, payload: bytes) -> None:
        if not payload or side != "s" or who != self.me:
            return
        if leaf == "receipt":
            receipt = _decode(payload, m.QualityReceipt)
            if receipt is None or receipt.record != item or receipt.counselor != self.me:
                return
            pending = {p.message_id: p.kind for p in self.agent.outbox.pending()}
            kind = pending.get(item)
            if kind not in (RECORD, CARE):
                return  # a repeat, or another supervisor's receipt after the first
            self.agent.outbox.mark_sent(item)
            if kind == CARE:
                self.agent.bus.publish(ev.CareRequestDelivered(item, receipt.supervisor))
        elif leaf == "mark":
            mark = _decode(payload, m.DebriefMark)
            if mark is None or mark.record != item or mark.counselor != self.me:
                return
            if self.agent.outbox.add(TOLD, f"{mark.id}:told", payload):
                log.info("a supervisor asked for a debrief about record %s", mark.record)
                self.agent.outbox.audit("quality.debrief_asked", mark.record, None)
                self.agent.bus.publish(
                    ev.DebriefMarked(mark.record, mark.ended_at, mark.supervisor)
                )


# -- clocks -----------------------------------------------------------------------------------
class ClockWatch:
    """How far each counselor laptop's clock is from this one, from its live messages.

    A message stamped ``at`` by the laptop and received ``now`` here gives
    ``now - at = offset + delay``, and a delay is never negative: the smallest of the
    samples of the last :data:`CLOCK_WINDOW_S` is the offset, within the network's delay
    (milliseconds). Retained copies and the burst right after a (re)connection — copies the
    broker held for this console — are not used: their delay is how long they waited. No
    live message yet: the offset is unknown (None) and the laptop's own times are used.
    A record received live is placed by its own sample (its ``ended_at`` and ``at`` come
    from one clock a moment apart), so a clock stepped since the last samples cannot
    misplace it."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self._samples: dict[str, collections.deque[tuple[float, float]]] = {}
        self._connected_mono: float | None = None
        self._lock = threading.Lock()

    def connected(self) -> None:
        with self._lock:
            self._connected_mono = self.clock.monotonic()

    def sample(self, counselor: str, at: dt.datetime, retained: bool = False) -> float | None:
        """Take one message's sample; returns it (None: not a live message)."""
        with self._lock:
            since, mono = self._connected_mono, self.clock.monotonic()
            if retained or since is None or mono - since < BURST_S:
                return None
            value = (self.clock.now() - at).total_seconds()
            samples = self._samples.setdefault(counselor, collections.deque(maxlen=CLOCK_SAMPLES))
            samples.append((mono, value))
            return value

    def offset(self, counselor: str) -> float | None:
        """Seconds to add to that laptop's times to get this laptop's (None: not measured)."""
        with self._lock:
            samples = self._samples.get(counselor)
            if not samples:
                return None
            mono = self.clock.monotonic()
            recent = [v for t, v in samples if mono - t <= CLOCK_WINDOW_S] or [samples[-1][1]]
            return round(min(recent), 3)


# -- the supervisor's console -----------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class KeepJob:
    """Work for the store: a record to keep (``record``) or a mark to apply (``mark``)."""

    message_id: str
    record: dict[str, Any] | None = None
    mark: m.DebriefMark | None = None


class SupervisorQuality(_Side):
    def __init__(self, agent: Agent) -> None:
        super().__init__(agent)
        self.clocks = ClockWatch(agent.clock)
        #: records received by this run (the store has them all, from every run)
        self.items: dict[str, dict[str, Any]] = {}
        self._care_seen: set[str] = set()

    # -- what the supervisor does -----------------------------------------------------------------
    def mark(self, record: dict[str, Any]) -> str:
        """Ask ``record``'s counselor, privately, for a debrief about that call. Returns the
        mark's id. The counselor reads "the call at HH:MM" in its own clock."""
        msg = m.DebriefMark(
            m.new_id(),
            str(record["id"]),
            str(record["counselor"]),
            self.me,
            m.parse_time(record["ended_at"]),
            self.agent.clock.now(),
        )
        data = m.encode(msg)
        self.agent.outbox.add(SEND, msg.id, data)
        self.agent.outbox.add(KEEP, f"{msg.id}:mark", data)
        self.agent.outbox.audit("quality.mark", msg.record, {"counselor": msg.counselor})
        with self._lock:
            item = self.items.get(msg.record)
            if item is not None and not item.get("marked_at"):
                item["marked_at"], item["marked_by"] = m.iso(msg.at), self.me
        self._publish(supervisor_topic(msg.counselor, msg.record, "mark"), data, msg.id)
        self.agent.bus.publish(ev.QualityWork())
        self.agent.bus.publish(ev.QualityChanged("mark", msg.counselor, msg.record))
        return msg.id

    def care_requests(self) -> list[m.CareRequest]:
        """Break requests not answered yet, oldest first (they survive a restart)."""
        out = []
        for p in self.agent.outbox.pending(CARE_IN):
            msg = _decode(p.payload, m.CareRequest)
            if msg is not None:
                out.append(msg)
        return sorted(out, key=lambda r: r.at)

    def care_answered(self, counselor: str) -> None:
        """The supervisor talked with ``counselor``: their break requests are answered."""
        for req in self.care_requests():
            if req.counselor == counselor:
                self.agent.outbox.mark_sent(f"{req.id}:in")
        self.agent.outbox.audit("quality.care_answered", counselor, None)
        self.agent.bus.publish(ev.QualityChanged("care_done", counselor))

    def work(self) -> list[KeepJob]:
        jobs = []
        for p in self.agent.outbox.pending(KEEP):
            if p.message_id.endswith(":mark"):
                mark = _decode(p.payload, m.DebriefMark)
                if mark is not None:
                    jobs.append(KeepJob(p.message_id, mark=mark))
                continue
            try:
                record = json.loads(p.payload)
            except ValueError:
                log.error("an unreadable quality item is kept in the outbox")
                continue
            if isinstance(record, dict):
                jobs.append(KeepJob(p.message_id, record=record))
        return jobs

    def kept(self, message_id: str) -> None:
        self.agent.outbox.mark_sent(message_id)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(v) for v in self.items.values()]

    # -- the link ---------------------------------------------------------------------------------
    def connected(self) -> None:
        self.clocks.connected()
        for p in self.agent.outbox.pending(SEND):
            mark = _decode(p.payload, m.DebriefMark)
            if mark is None:
                self.agent.outbox.mark_sent(p.message_id)
                continue
            self._publish(
                supervisor_topic(mark.counselor, mark.record, "mark"), p.payload, p.message_id
            )

    def presence(self, msg: m.Presence, retained: bool) -> None:
        self.clocks.sample(msg.counselor, msg.at, retained)

    def on_message(
        self, side: str, who: str, item: str, leaf: str, payload: bytes, retained: bool
    ) -> None:
        if not payload:
            return
        if side == "c" and leaf == "record":
            record = _decode(payload, m.QualityRecord)
            if record is not None and record.counselor == who and record.id == item:
                self._record(record, retained)
        elif side == "c" and leaf == "care":
            care = _decode(payload, m.CareRequest)
            if care is not None and care.counselor == who and care.id == item:
                self._care(care)
        elif side == "s" and leaf == "mark":
            mark = _decode(payload, m.DebriefMark)
            if mark is not None and mark.counselor == who and mark.supervisor != self.me:
                self._heard_mark(mark, payload)

    def _receipt(self, counselor: str, item: str) -> None:
        receipt = m.QualityReceipt(m.new_id(), item, counselor, self.me, self.agent.clock.now())
        self._publish(supervisor_topic(counselor, item, "receipt"), m.encode(receipt))

    def _record(self, msg: m.QualityRecord, retained: bool) -> None:
        own = self.clocks.sample(msg.counselor, msg.at, retained)
        fields = record_fields(msg)
        fields["received_at"] = m.iso(self.agent.clock.now())
        fields["offset_s"] = round(own, 3) if own is not None else self.clocks.offset(msg.counselor)
        with self._lock:
            known = msg.id in self.items
            if not known:
                self.items[msg.id] = dict(fields)
        fresh = not known and self.agent.outbox.add(
            KEEP, f"{msg.id}:rec", json.dumps(fields, sort_keys=True).encode()
        )
        self._receipt(msg.counselor, msg.id)  # every copy: the counselor may have missed one
        if fresh:
            log.info("quality record %s from %s", msg.id, msg.counselor)
            self.agent.bus.publish(ev.QualityWork())
            self.agent.bus.publish(ev.QualityChanged("record", msg.counselor, msg.id))

    def _care(self, msg: m.CareRequest) -> None:
        self.clocks.sample(msg.counselor, msg.at)
        self._receipt(msg.counselor, msg.id)
        with self._lock:
            if msg.id in self._care_seen:
                return
            self._care_seen.add(msg.id)
        if self.agent.outbox.add(CARE_IN, f"{msg.id}:in", m.encode(msg)):
            log.info("%s asked for a break", msg.counselor)
            self.agent.outbox.audit("quality.break_asked", msg.counselor, None)
            self.agent.bus.publish(ev.QualityChanged("care", msg.counselor, msg.id))

    def _heard_mark(self, msg: m.DebriefMark, payload: bytes) -> None:
        """Another supervisor's mark: the centre has one review queue."""
        if self.agent.outbox.add(KEEP, f"{msg.id}:mark", payload):
            with self._lock:
                item = self.items.get(msg.record)
                if item is not None and not item.get("marked_at"):
                    item["marked_at"], item["marked_by"] = m.iso(msg.at), msg.supervisor
            self.agent.bus.publish(ev.QualityWork())
            self.agent.bus.publish(ev.QualityChanged("mark", msg.counselor, msg.record))
