"""The counselor agent's outbox traffic: publish, publish again until confirmed, restore.

An alert stays in the outbox until a supervisor console's receipt; events (whispers,
resolutions, rings) until the broker acknowledges them. Undelivered items are published
again every ``escalation.resend_s`` and at every connection; after a restart the alerts
still pending come back as open escalations, their ladders re-armed for the time elapsed.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from typing import Any

from core.clock import Timer
from escalation import events as ev
from escalation import messages as m
from escalation import options as o
from escalation import topics
from escalation.counselor.lifecycle import Lifecycle
from escalation.lifecycle import Escalation
from escalation.outbox import ALERT, CLEAR, EVENT
from escalation.reconcile import publish_clear

log = logging.getLogger(__name__)


class Resend(Lifecycle):
    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._resend: Timer | None = None

    def resolve(self, escalation_id: str, outcome: str = "resolved_by_counselor") -> None:
        """End an open escalation: the resolution is an event like any other."""
        if self.training.owns(escalation_id):  # type: ignore[attr-defined]  # CounselorAgent's
            self.training.resolve(escalation_id, outcome)  # type: ignore[attr-defined]
            return
        esc = self.escalations.get(escalation_id)
        if esc is None or not esc.open:
            return
        msg = m.Resolve(m.new_id(), escalation_id, self.identity, outcome, self.clock.now())
        self._send_event(esc, msg)
        self._resolved(esc, self.identity, outcome)

    def _publish_alert(self, esc: Escalation, payload: bytes) -> None:
        if self.link is None:
            return
        self.outbox.attempted(esc.id)
        self.link.publish(
            topics.alert(esc.counselor, esc.id),
            payload,
            qos=1,
            retain=True,
            on_sent=functools.partial(self._alert_sent, esc.id),
        )

    def _alert_sent(self, escalation_id: str, ok: bool) -> None:
        if not ok:
            log.error(
                "the broker refused escalation %s (check the ACL and certificate)", escalation_id
            )
            return
        self._advance(escalation_id, ev.SENT, None)

    def _send_event(self, esc: Escalation, msg: m.Message) -> None:
        payload = m.encode(msg)
        self.outbox.add(EVENT, msg.id, payload)
        self._publish_event_item(topics.counselor_event(esc.counselor, esc.id), msg.id, payload)

    def _publish_event_item(self, topic: str, message_id: str, payload: bytes) -> None:
        if self.link is not None:
            self.link.publish(topic, payload, qos=1, on_sent=self._done_when_sent(message_id))

    def _republish(self, everything_open: bool) -> None:
        """Publish again what may not have arrived: undelivered alerts (or every open one),
        and events the broker never acknowledged."""
        if self.link is None or not self.link.connected:
            return
        pending = {p.message_id: p for p in self.outbox.pending()}
        for esc in self.open_escalations():
            item = pending.get(esc.id)
            if item is not None or everything_open:
                self._publish_alert(esc, item.payload if item else m.encode(self._alert(esc)))
                if esc.realerted:
                    self._publish_realert(esc)
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
            if isinstance(msg, (m.Ring, m.Answered)):
                topic = topics.ring(self.identity)
            elif isinstance(msg, (m.Whisper, m.Resolve, m.RescueStep)):
                topic = topics.counselor_event(self.identity, msg.escalation)
            else:
                continue  # nothing else is queued as a counselor's event
            self._publish_event_item(topic, p.message_id, p.payload)

    def _schedule_resend(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._resend = self.clock.call_later(self.config.get(o.RESEND_S), self._resend_tick)

    def _resend_tick(self) -> None:
        self._republish(everything_open=False)
        self._schedule_resend()

    # -- after a restart ------------------------------------------------------------------------
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
            esc = Escalation(
                alert.escalation,
                alert.counselor,
                alert.contact,
                alert.level,
                alert.reason,
                alert.risk,
                alert.call_s,
                alert.raised_at,
                str((rec.get("detail") or {}).get("source", "restart")),
            )
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
        esc = Escalation(
            esc_id,
            str(d.get("counselor") or self.identity),
            rec.get("contact_id"),
            rec.get("level", "consult"),
            str(d.get("reason", "other")),
            str(d.get("risk", "unknown")),
            float(d.get("call_s") or 0.0),
            raised,
            str(d.get("source", "restart")),
        )
        state = rec.get("state", ev.RAISED)
        if state in ev.STATES:
            esc.state = state
        esc.by = d.get("by")
        with self._lock:
            self.escalations.setdefault(esc_id, esc)
            return self.escalations[esc_id]
