"""The counselor side: raise escalations, follow their lifecycle, keep presence, whisper.

:class:`CounselorAgent` owns one :class:`escalation.transport.MqttLink`. Order of an
escalation: record and outbox (encrypted store) → publish the retained alert (QoS 1) →
"sent" on the broker's PUBACK → "delivered" on a supervisor console's receipt (the outbox
item is done) → "acknowledged" → "resolved". Until a receipt arrives the alert is published
again at every reconnection and every ``escalation.resend_s``; supervisors drop repeats by id.
Presence is a retained message; the Last Will marks an unexpected disconnect.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any, Callable

from core.clock import Clock, Timer
from core.config import Config
from core.events import Event, EventBus
from core.i18n import _
from core.status import Level, StatusReport
from escalation import events as ev
from escalation import levels, topics
from escalation import messages as m
from escalation import options as o
from escalation.lifecycle import Escalation, Ladder
from escalation.outbox import ALERT, EVENT, Outbox
from escalation.transport import LinkSettings, MqttLink

log = logging.getLogger(__name__)


class LinkStatus:
    """Publishes ``StatusReport(component="broker")`` only when the link's state changes."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._last: tuple[Level, str] | None = None
        self._lock = threading.Lock()

    def report(self, level: Level, text: str) -> None:
        with self._lock:
            if self._last == (level, text):
                return
            self._last = (level, text)
        self._bus.publish(StatusReport("broker", level, text))

    @property
    def last(self) -> tuple[Level, str] | None:
        return self._last


class CounselorAgent:
    def __init__(self, config: Config, clock: Clock, bus: EventBus, outbox: Outbox,
                 settings: LinkSettings | None, *,
                 link_factory: Callable[..., MqttLink] = MqttLink) -> None:
        self.config = config
        self.clock = clock
        self.bus = bus
        self.outbox = outbox
        self.settings = settings
        self.identity = settings.identity if settings else ""
        self.status = LinkStatus(bus)
        self._lock = threading.RLock()
        self._queue: list[Event] = []
        self._publishing = False
        self.escalations: dict[str, Escalation] = {}
        self._ladders: dict[str, Ladder] = {}
        self._presence = levels.AVAILABLE
        self._health: tuple[str, ...] = ()
        self._call_started: float | None = None
        self._resend: Timer | None = None
        self._seen_msgs: set[str] = set()
        self._gates: dict[str, tuple[threading.Event, int]] = {}
        self._started = self._stopped = False
        self.link: MqttLink | None = None
        if settings is not None:
            will = m.encode(m.Presence(self.identity, levels.OFFLINE, clock.now(), unexpected=True,
                                       id=m.new_id()))
            self.link = link_factory(
                settings, subscriptions=[(topics.counselor_inbox(self.identity), 1)],
                on_message=self._on_message, on_state=self._on_link,
                on_connected=self._on_connected, will=(topics.presence(self.identity), will))
        outbox.on_ready(self._outbox_ready)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        self._reload()
        if self.link is None:
            self.status.report(Level.OFF, _("Supervisors: escalation is not set up on this laptop"))
        else:
            self.status.report(Level.WARNING, _("Supervisors: connecting…"))
            self.link.start()
        self._schedule_resend()

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            if self._resend:
                self._resend.cancel()
            for ladder in self._ladders.values():
                ladder.cancel()
        if self.link is not None:
            bye = m.encode(m.Presence(self.identity, levels.OFFLINE, self.clock.now(), id=m.new_id()))
            self.link.stop(farewell=[(topics.presence(self.identity), bye, True)])

    @property
    def connected(self) -> bool:
        return bool(self.link and self.link.connected)

    # -- what the counselor does ------------------------------------------------------------
    def raise_escalation(self, level: str, call_id: str | None = None, *, reason: str | None = None,
                         risk: str = "unknown", call_s: float = 0.0, source: str = "ui") -> str:
        """Record, persist, then publish a new escalation. Returns its id."""
        if level not in levels.LEVELS:
            raise ValueError(f"unknown escalation level {level!r}")
        reason = reason or levels.DEFAULT_REASON[level]
        if reason not in levels.REASONS:
            raise ValueError(f"unknown reason code {reason!r}")
        esc = Escalation(m.new_id(), self.identity or "unconfigured", call_id, level, reason,
                         risk if risk in levels.RISKS else "unknown", max(0.0, call_s),
                         self.clock.now(), source)
        payload = m.encode(self._alert(esc))
        gate = threading.Event()  # later steps wait until "raised" is in the store
        with self._lock:
            self.escalations[esc.id] = esc
            self._gates[esc.id] = (gate, threading.get_ident())
            try:
                self.outbox.add(ALERT, esc.id, payload)     # 1. the encrypted outbox first
            except Exception:
                log.exception("could not persist escalation %s; sending it anyway", esc.id)
            self._emit_state(esc, levels_state=ev.RAISED, by=None)
            self._arm_ladder(esc, 0.0)
        log.info("escalation %s raised (level %s, source %s)", esc.id, level, source)
        self._flush()
        try:
            self._publish_alert(esc, payload)           # 2. then the broker (never under our
        finally:                                        #    lock: paho calls back under its own)
            try:                                        # 3. history and audit row
                self.outbox.record(esc.id, call_id, level, ev.RAISED, esc.detail())
            except Exception:
                log.exception("could not record escalation %s", esc.id)
            finally:
                with self._lock:
                    self._gates.pop(esc.id, None)
                gate.set()
        self._send_presence()
        return esc.id

    def whisper(self, escalation_id: str, text: str) -> None:
        text = text.strip()
        limit = self.config.get(o.WHISPER_MAX_CHARS)
        if not text or len(text) > limit:
            raise ValueError(f"a whisper has 1 to {limit} characters")
        esc = self.escalations.get(escalation_id)
        if esc is None:
            raise KeyError(escalation_id)
        msg = m.Whisper(m.new_id(), escalation_id, self.identity, text, self.clock.now())
        self._send_event(esc, msg)
        self.outbox.whisper(escalation_id, "out", text)
        self.bus.publish(ev.WhisperReceived(escalation_id, "out", self.identity, text, msg.at))

    def resolve(self, escalation_id: str, outcome: str = "resolved_by_counselor") -> None:
        esc = self.escalations.get(escalation_id)
        if esc is None or not esc.open:
            return
        msg = m.Resolve(m.new_id(), escalation_id, self.identity, outcome, self.clock.now())
        self._send_event(esc, msg)
        self._resolved(esc, self.identity, outcome)

    def set_presence(self, status: str, call_started_mono: float | None = None) -> None:
        with self._lock:
            self._presence = status
            self._call_started = call_started_mono
        self._send_presence()

    def set_health(self, signals: tuple[str, ...]) -> None:
        """The live call-health signals supervisors see with the presence (codes only)."""
        with self._lock:
            if signals == self._health:
                return
            self._health = signals
        self._send_presence()

    def ring(self, reason: str, rang_s: float) -> None:
        msg = m.Ring(m.new_id(), self.identity, reason, max(0.0, rang_s), self.clock.now())
        payload = m.encode(msg)
        self.outbox.add(EVENT, msg.id, payload)
        self._publish_event_item(topics.ring(self.identity), msg.id, payload)

    def open_escalations(self) -> list[Escalation]:
        with self._lock:
            return [e for e in self.escalations.values() if e.open]

    def current(self) -> Escalation | None:
        """The newest open escalation (what the LED and the panel show)."""
        open_ = self.open_escalations()
        return max(open_, key=lambda e: e.raised_at) if open_ else None

    # -- internals: publishing ---------------------------------------------------------------
    def _alert(self, esc: Escalation, realert: bool = False) -> m.Alert:
        return m.Alert(esc.id + (":r1" if realert else ""), esc.id, esc.counselor, esc.call_id,
                       esc.level, esc.reason, round(esc.call_s, 1), esc.risk, esc.raised_at,
                       realert)

    def _publish_alert(self, esc: Escalation, payload: bytes) -> None:
        if self.link is None:
            return
        self.outbox.attempted(esc.id)
        self.link.publish(topics.alert(esc.counselor, esc.id), payload, qos=1, retain=True,
                          on_sent=lambda ok, i=esc.id: self._alert_sent(i, ok))

    def _alert_sent(self, escalation_id: str, ok: bool) -> None:
        if not ok:
            log.error("the broker refused escalation %s (check the ACL and certificate)",
                      escalation_id)
            return
        self._advance(escalation_id, ev.SENT, None)

    def _send_event(self, esc: Escalation, msg: m.Message) -> None:
        payload = m.encode(msg)
        self.outbox.add(EVENT, msg.id, payload)
        self._publish_event_item(topics.counselor_event(esc.counselor, esc.id), msg.id, payload)

    def _publish_event_item(self, topic: str, message_id: str, payload: bytes) -> None:
        if self.link is not None:
            self.link.publish(topic, payload, qos=1,
                              on_sent=lambda ok: ok and self.outbox.mark_sent(message_id))

    def _send_presence(self) -> None:
        if self.link is None or not self.identity:
            return
        with self._lock:
            started = self._call_started
            call_s = None if started is None else max(0.0, self.clock.monotonic() - started)
            cur = self.current()
            msg = m.Presence(self.identity, self._presence, self.clock.now(),
                             None if call_s is None else round(call_s, 1),
                             cur.state if cur else None, id=m.new_id(),
                             health=self._health)
        self.link.publish(topics.presence(self.identity), m.encode(msg), qos=1, retain=True)

    def _republish(self, everything_open: bool) -> None:
        """Publish again what may not have arrived: undelivered alerts (or every open one),
        and events the broker never acknowledged."""
        if self.link is None or not self.link.connected:
            return
        pending = {p.message_id: p for p in self.outbox.pending()}
        with self._lock:
            open_ = [e for e in self.escalations.values() if e.open]
        for esc in open_:
            item = pending.get(esc.id)
            if item is not None or everything_open:
                self._publish_alert(esc, item.payload if item else m.encode(self._alert(esc)))
                if esc.realerted and (item is not None or everything_open):
                    self.link.publish(topics.realert(esc.counselor, esc.id),
                                      m.encode(self._alert(esc, True)), qos=1, retain=True)
        for p in pending.values():
            if p.kind != EVENT:
                continue
            try:
                msg = m.decode(p.payload)
            except m.MessageError:
                self.outbox.mark_sent(p.message_id)
                continue
            if isinstance(msg, m.Ring):
                topic = topics.ring(self.identity)
            else:
                topic = topics.counselor_event(self.identity, msg.escalation)  # type: ignore[union-attr]
            self._publish_event_item(topic, p.message_id, p.payload)

    def _schedule_resend(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._resend = self.clock.call_later(self.config.get(o.RESEND_S), self._resend_tick)

    def _resend_tick(self) -> None:
        self._republish(everything_open=False)
        self._schedule_resend()

    # -- internals: link and messages (network thread) --------------------------------------
    def _on_link(self, up: bool, reason: str) -> None:
        if up:
            self.status.report(Level.OK, _("Supervisors: connected"))
        else:
            self.status.report(Level.WARNING, _("Supervisors: not connected — retrying"))

    def _on_connected(self) -> None:
        self._send_presence()
        self._republish(everything_open=True)

    def _outbox_ready(self) -> None:
        self._reload()
        self._republish(everything_open=False)

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        if not payload:
            return  # a cleared retained message
        try:
            msg = m.decode(payload, self.config.get(o.WHISPER_MAX_CHARS))
            side, who, esc_id, leaf = topics.parse(topic)
        except (m.MessageError, ValueError) as exc:
            log.warning("ignored a malformed message on the inbox: %s", exc)
            return
        if side != "s" or who != self.identity or esc_id is None:
            return
        if getattr(msg, "escalation", None) != esc_id:
            log.warning("ignored a reply whose escalation does not match its topic")
            return
        esc = self._known(esc_id)
        if esc is None:
            return
        if isinstance(msg, m.Receipt):
            self.outbox.mark_sent(esc_id)
            self._advance(esc_id, ev.DELIVERED, msg.supervisor)
        elif isinstance(msg, m.Ack):
            self.outbox.mark_sent(esc_id)
            self._advance(esc_id, ev.ACKNOWLEDGED, msg.supervisor)
        elif isinstance(msg, m.Resolve):
            if esc.open:
                self._resolved(esc, msg.by, msg.outcome)
        elif isinstance(msg, m.Whisper):
            with self._lock:
                if msg.by == self.identity or msg.id in self._seen_msgs:
                    return
                self._seen_msgs.add(msg.id)
            self.outbox.whisper(esc_id, "in", msg.text)
            self.bus.publish(ev.WhisperReceived(esc_id, "in", msg.by, msg.text, msg.at))

    def _known(self, esc_id: str) -> Escalation | None:
        with self._lock:
            esc = self.escalations.get(esc_id)
        if esc is not None:
            return esc
        rec = self.outbox.escalation(esc_id)  # raised before a restart
        if rec is None or rec.get("state") == ev.RESOLVED:
            return None
        return self._restore(esc_id, rec)

    # -- internals: state ----------------------------------------------------------------------
    def _advance(self, esc_id: str, state: str, by: str | None, outcome: str | None = None) -> None:
        gate = self._gates.get(esc_id)
        if gate is not None and gate[1] != threading.get_ident():
            gate[0].wait(5.0)
        with self._lock:
            esc = self.escalations.get(esc_id)
            if esc is None:
                return
            steps = esc.advance(state, by, outcome)
            if not steps:
                return
            if esc.acknowledged or not esc.open:
                ladder = self._ladders.pop(esc_id, None)
                if ladder:
                    ladder.cancel()
            for s, who in steps:
                self._emit_state(esc, s, who)
            try:
                self.outbox.record(esc.id, esc.call_id, esc.level, esc.state, esc.detail())
            except Exception:
                log.exception("could not record escalation %s", esc.id)
        log.info("escalation %s %s", esc_id, state)
        self._flush()
        self._send_presence()

    def _resolved(self, esc: Escalation, by: str, outcome: str) -> None:
        self.outbox.mark_sent(esc.id)
        self._advance(esc.id, ev.RESOLVED, by, outcome)
        if self.link is not None:  # clear the retained alert for consoles that start later
            self.link.publish(topics.alert(esc.counselor, esc.id), b"", qos=1, retain=True)
            self.link.publish(topics.realert(esc.counselor, esc.id), b"", qos=1, retain=True)

    def _emit_state(self, esc: Escalation, levels_state: str, by: str | None) -> None:
        self._queue.append(ev.EscalationStateChanged(
            esc.id, esc.call_id, esc.level, levels_state, by, self.clock.now(),
            esc.outcome if levels_state == ev.RESOLVED else None))

    def _flush(self) -> None:
        while True:
            with self._lock:
                if self._publishing or not self._queue:
                    return
                self._publishing = True
                batch, self._queue = self._queue, []
            try:
                for e in batch:
                    self.bus.publish(e)
            finally:
                with self._lock:
                    self._publishing = False

    def _arm_ladder(self, esc: Escalation, elapsed: float) -> None:
        t1 = float(self.config.get(o.T1_S).get(esc.level, 60.0))
        t2 = float(self.config.get(o.T2_S).get(esc.level, 180.0))
        ladder = Ladder(self.clock, t1, t2, lambda i=esc.id: self._t1(i), lambda i=esc.id: self._t2(i))
        self._ladders[esc.id] = ladder
        ladder.start(elapsed)

    def _t1(self, esc_id: str) -> None:
        with self._lock:
            esc = self.escalations.get(esc_id)
            if esc is None or esc.acknowledged or esc.realerted:
                return
            esc.realerted = True
            self.outbox.record(esc.id, esc.call_id, esc.level, esc.state, esc.detail())
            self.outbox.audit("escalation.realert", esc.id, {"level": esc.level})
            self._queue.append(ev.EscalationRealerted(esc.id, esc.level))
        log.warning("escalation %s not acknowledged after T1: alerting again", esc_id)
        self._flush()
        if self.link is not None:
            self.link.publish(topics.realert(esc.counselor, esc.id),
                              m.encode(self._alert(esc, True)), qos=1, retain=True)

    def _t2(self, esc_id: str) -> None:
        with self._lock:
            esc = self.escalations.get(esc_id)
            if esc is None or esc.acknowledged or esc.fallback_due:
                return
            esc.fallback_due = True
            self.outbox.record(esc.id, esc.call_id, esc.level, esc.state, esc.detail())
            self.outbox.audit("escalation.fallback", esc.id, {"level": esc.level})
            self._queue.append(ev.FallbackNumberDue(esc.id, esc.level,
                                                    self.config.get(o.FALLBACK_PHONE)))
        log.warning("escalation %s not acknowledged after T2: fallback number shown", esc_id)
        self._flush()

    # -- restart --------------------------------------------------------------------------------
    def _reload(self) -> None:
        """Bring back escalations whose alert never reached a supervisor (after a restart)."""
        for p in self.outbox.pending(ALERT):
            try:
                alert = m.decode(p.payload)
            except m.MessageError:
                log.error("dropping an unreadable outbox item")
                self.outbox.mark_sent(p.message_id)
                continue
            if not isinstance(alert, m.Alert) or alert.escalation in self.escalations:
                continue
            rec = self.outbox.escalation(alert.escalation) or {}
            if rec.get("state") == ev.RESOLVED:
                self.outbox.mark_sent(p.message_id)
                continue
            esc = Escalation(alert.escalation, alert.counselor, alert.contact, alert.level,
                             alert.reason, alert.risk, alert.call_s, alert.raised_at,
                             str((rec.get("detail") or {}).get("source", "restart")))
            with self._lock:
                self.escalations[esc.id] = esc
                elapsed = (self.clock.now() - alert.raised_at).total_seconds()
                self._arm_ladder(esc, max(0.0, elapsed))
                self._emit_state(esc, ev.RAISED, None)
            log.info("escalation %s restored from the outbox", esc.id)
        self._flush()

    def _restore(self, esc_id: str, rec: dict[str, Any]) -> Escalation | None:
        d = rec.get("detail") or {}
        try:
            raised = dt.datetime.fromisoformat(str(d.get("raised_at")))
        except ValueError:
            return None
        esc = Escalation(esc_id, str(d.get("counselor") or self.identity), rec.get("contact_id"),
                         rec.get("level", "consult"), str(d.get("reason", "other")),
                         str(d.get("risk", "unknown")), float(d.get("call_s") or 0.0), raised,
                         str(d.get("source", "restart")))
        state = rec.get("state", ev.RAISED)
        if state in ev.STATES:
            esc.state = state
        esc.by = d.get("by")
        with self._lock:
            self.escalations.setdefault(esc_id, esc)
            return self.escalations[esc_id]
