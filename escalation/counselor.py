"""The counselor side: raise escalations, follow their lifecycle, keep presence, whisper.

:class:`CounselorAgent` owns one :class:`escalation.transport.MqttLink`. Order of an
escalation: record and outbox (encrypted store) → publish the retained alert (QoS 1) →
"sent" on the broker's PUBACK → "delivered" on a supervisor console's receipt (the outbox
item is done) → "acknowledged" → "resolved". Until a receipt arrives the alert is published
again at every reconnection and every ``escalation.resend_s``; supervisors drop repeats by id.
Resolving queues the clearing of the retained alert and re-alert (escalation/reconcile.py)
like any other outbox item, and the agent reads its own retained alerts back at every
connection: one it knows is over is cleared again, one it has open but that someone cleared
is published again. Presence is a retained message; the Last Will marks an unexpected
disconnect. The command-line agent (``presence=False``) has neither: it is not a counselor at
work, only a drill; with ``strays="resolve"`` it also ends any escalation of its own that it
finds retained and does not know (left by a run that was killed).
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
from escalation.outbox import ALERT, CLEAR, EVENT, Outbox
from escalation.reconcile import clear_retained, publish_clear
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
                 link_factory: Callable[..., MqttLink] = MqttLink, presence: bool = True,
                 strays: str = "keep") -> None:
        assert strays in ("keep", "resolve"), strays
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
        self._with_presence = presence
        self._strays = strays
        #: retained alerts of ours that no record explains yet (the store may be locked)
        self._undecided: set[str] = set()
        self.link: MqttLink | None = None
        if settings is not None:
            will = None
            if presence:
                will = (topics.presence(self.identity), m.encode(m.Presence(
                    self.identity, levels.OFFLINE, clock.now(), unexpected=True, id=m.new_id())))
            # our own alerts come back only as retained copies (no_local): to reconcile them
            subs = [(topics.counselor_inbox(self.identity), 1, False),
                    (topics.own_alerts(self.identity), 1, True),
                    (topics.own_realerts(self.identity), 1, True)]
            self.link = link_factory(
                settings, subscriptions=subs,
                on_message=self._on_message, on_state=self._on_link,
                on_connected=self._on_connected, will=will)
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
            farewell = []
            if self._with_presence:
                bye = m.encode(m.Presence(self.identity, levels.OFFLINE, self.clock.now(),
                                          id=m.new_id()))
                farewell.append((topics.presence(self.identity), bye, True))
            self.link.stop(farewell=farewell)

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

    def known(self, escalation_id: str) -> Escalation | None:
        """The escalation, brought back from the outbox's records if it was raised before a
        restart and is not over (None otherwise)."""
        return self._known(escalation_id)

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
        if self.link is None or not self.identity or not self._with_presence:
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
            if p.kind == CLEAR:
                publish_clear(self.link, self.outbox, p.message_id, p.payload)
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
        with self._lock:
            undecided, self._undecided = self._undecided, set()
        for esc_id in undecided:  # the store is open now: its records can tell
            self._own_retained(esc_id, b"", True, recheck=True)

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        try:
            side, who, esc_id, leaf = topics.parse(topic)
        except ValueError:
            log.warning("ignored a message on a foreign topic")
            return
        if side == "c" and who == self.identity and esc_id and leaf in ("alert", "realert"):
            self._own_retained(esc_id, payload, retained)
            return
        if not payload:
            return  # a cleared retained message
        try:
            msg = m.decode(payload, self.config.get(o.WHISPER_MAX_CHARS))
        except m.MessageError as exc:
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

    def _own_retained(self, esc_id: str, payload: bytes, retained: bool,
                      recheck: bool = False) -> None:
        """Our own alert or re-alert, as the broker holds it: reconcile it with what we know.
        A retained copy (at subscription) of an escalation that is over is cleared again; an
        open one that someone emptied is published again; live copies are our own echo."""
        with self._lock:
            esc = self.escalations.get(esc_id)
        if esc is not None:
            if not payload and esc.open and not retained:
                log.warning("escalation %s was cleared on the broker while open: publishing "
                            "it again", esc_id)
                self._publish_alert(esc, m.encode(self._alert(esc)))
                if esc.realerted and self.link is not None:
                    self.link.publish(topics.realert(esc.counselor, esc.id),
                                      m.encode(self._alert(esc, True)), qos=1, retain=True)
            elif payload and retained and not esc.open:
                self._clear(esc, again=True)
            return
        if not retained or (not payload and not recheck):
            return
        rec = self.outbox.escalation(esc_id)
        if rec is not None and rec.get("state") == ev.RESOLVED:
            log.info("escalation %s is over but was still retained on the broker: clearing it",
                     esc_id)
            clear_retained(self.link, self.outbox, f"{esc_id}:clear:{m.new_id()[:8]}",
                           [topics.alert(self.identity, esc_id),
                            topics.realert(self.identity, esc_id)])
        elif rec is not None:
            self._known(esc_id)
        elif self._strays == "resolve" and payload:
            self._adopt(esc_id, payload)
        elif not recheck:
            with self._lock:
                self._undecided.add(esc_id)
        else:
            log.warning("a retained escalation %s of this laptop is unknown to it "
                        "('faro supervisor stale' lists it)", esc_id)

    def _adopt(self, esc_id: str, payload: bytes) -> None:
        """An escalation of ours the broker holds and we have no record of (a killed drill):
        take it back and end it, so it is not left open on every supervisor console."""
        try:
            alert = m.decode(payload)
        except m.MessageError:
            alert = None
        if not isinstance(alert, m.Alert) or alert.escalation != esc_id:
            return
        esc = Escalation(esc_id, self.identity, alert.contact, alert.level, alert.reason,
                         alert.risk, alert.call_s, alert.raised_at, "restart", state=ev.SENT)
        with self._lock:
            if esc_id in self.escalations:
                return
            self.escalations[esc_id] = esc
        log.info("escalation %s left open by an earlier run: ending it", esc_id)
        self.resolve(esc_id, "test_cancelled")

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
        self._clear(esc)  # the retained alert, for consoles that start later

    def _clear(self, esc: Escalation, again: bool = False) -> None:
        item = f"{esc.id}:clear" + (f":{m.new_id()[:8]}" if again else "")
        clear_retained(self.link, self.outbox, item,
                       [topics.alert(esc.counselor, esc.id), topics.realert(esc.counselor, esc.id)])

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
