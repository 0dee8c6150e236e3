"""The counselor agent's escalations and their ladders: state steps, events, T1 and T2.

Every step is recorded in the outbox and announced as
:class:`escalation.events.EscalationStateChanged`; events are queued under the agent's lock
and published, in order, after it is released. Acknowledgement or resolution stops the
ladder; T1 re-alerts every supervisor and the backup group; T2 shows the fallback number.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from core.events import Event
from escalation import events as ev
from escalation import messages as m
from escalation import options as o
from escalation import topics
from escalation.agent import Agent
from escalation.counselor.presence import Presence
from escalation.levels import NO_LADDER
from escalation.lifecycle import Escalation, Ladder
from escalation.reconcile import clear_retained

log = logging.getLogger(__name__)


class Lifecycle(Agent):
    def __init__(self, *args: Any, presence: bool = True, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.escalations: dict[str, Escalation] = {}
        self._ladders: dict[str, Ladder] = {}
        self._queue: list[Event] = []
        self._publishing = False
        #: escalations whose "raised" is not in the outbox yet, and the thread raising it
        self._gates: dict[str, tuple[threading.Event, int]] = {}
        self.presence = Presence(self.identity, self.clock, presence)

    def open_escalations(self) -> list[Escalation]:
        with self._lock:
            return [e for e in self.escalations.values() if e.open]

    def current(self) -> Escalation | None:
        """The newest open escalation (what the LED and the panel show)."""
        open_ = self.open_escalations()
        return max(open_, key=lambda e: e.raised_at) if open_ else None

    def _alert(self, esc: Escalation, realert: bool = False) -> m.Alert:
        return m.Alert(
            esc.id + (":r1" if realert else ""),
            esc.id,
            esc.counselor,
            esc.call_id,
            esc.level,
            esc.reason,
            round(esc.call_s, 1),
            esc.risk,
            esc.raised_at,
            realert,
        )

    def _publish_realert(self, esc: Escalation) -> None:
        if self.link is not None:
            self.link.publish(
                topics.realert(esc.counselor, esc.id),
                m.encode(self._alert(esc, True)),
                qos=1,
                retain=True,
            )

    def _send_presence(self) -> None:
        if self.link is None:
            return
        with self._lock:
            cur = self.current()
            msg = self.presence.message(cur.state if cur else None)
        if msg is not None:
            self.link.publish(self.presence.topic, m.encode(msg), qos=1, retain=True)

    # -- steps --------------------------------------------------------------------------------
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
        clear_retained(
            self.link,
            self.outbox,
            item,
            [topics.alert(esc.counselor, esc.id), topics.realert(esc.counselor, esc.id)],
        )

    def _emit_state(self, esc: Escalation, levels_state: str, by: str | None) -> None:
        self._queue.append(
            ev.EscalationStateChanged(
                esc.id,
                esc.call_id,
                esc.level,
                levels_state,
                by,
                self.clock.now(),
                esc.outcome if levels_state == ev.RESOLVED else None,
            )
        )

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

    # -- the ladder ---------------------------------------------------------------------------
    def _arm_ladder(self, esc: Escalation, elapsed: float) -> None:
        if esc.level in NO_LADDER:
            return  # a debrief is not urgent: it waits in the queue, never re-alerted
        t1 = float(self.config.get(o.T1_S).get(esc.level, 60.0))
        t2 = float(self.config.get(o.T2_S).get(esc.level, 180.0))
        ladder = Ladder(
            self.clock,
            t1,
            t2,
            functools.partial(self._t1, esc.id),
            functools.partial(self._t2, esc.id),
        )
        self._ladders[esc.id] = ladder
        ladder.start(elapsed)

    def _cancel_ladders(self) -> None:
        for ladder in self._ladders.values():
            ladder.cancel()

    def _t1(self, esc_id: str) -> None:
        esc = self._ladder_step(
            esc_id,
            "realerted",
            "escalation.realert",
            lambda e: ev.EscalationRealerted(e.id, e.level),
        )
        if esc is not None:
            log.warning("escalation %s not acknowledged after T1: alerting again", esc_id)
            self._flush()
            self._publish_realert(esc)

    def _t2(self, esc_id: str) -> None:
        fallback = self.config.get(o.FALLBACK_PHONE)
        esc = self._ladder_step(
            esc_id,
            "fallback_due",
            "escalation.fallback",
            lambda e: ev.FallbackNumberDue(e.id, e.level, fallback),
        )
        if esc is not None:
            log.warning("escalation %s not acknowledged after T2: fallback number shown", esc_id)
            self._flush()

    def _ladder_step(
        self, esc_id: str, flag: str, action: str, event: Callable[[Escalation], Event]
    ) -> Escalation | None:
        """Take one step of the ladder (``flag``: "realerted", "fallback_due") once, for an
        escalation nobody acknowledged: record and audit it, queue its event."""
        with self._lock:
            esc = self.escalations.get(esc_id)
            if esc is None or esc.acknowledged or getattr(esc, flag):
                return None
            setattr(esc, flag, True)
            self.outbox.record(esc.id, esc.call_id, esc.level, esc.state, esc.detail())
            self.outbox.audit(action, esc.id, {"level": esc.level})
            self._queue.append(event(esc))
        return esc
