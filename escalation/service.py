"""The "escalation" service: ``attach(host)`` plugs escalation into a Session.

Role ``counselor`` (the default): listens to ``calls.events.EscalationRequested`` (button
box gesture, Ctrl+Shift+E, the window's button) and raises an escalation; follows
``CallStateChanged`` for presence and ``MissedCall`` for ring notices. Role ``supervisor``:
runs the :class:`escalation.supervisor.SupervisorAgent` for ``faro supervisor``.

What comes from other capabilities reaches it through app/wiring.py, by method: the case
store as the outbox's :class:`escalation.outbox.DurableBox` (:meth:`use_durable_box`,
:meth:`box_unlocked`), risk assessments (:meth:`risk_assessed`: at imminent risk for the
current call it proposes an urgent escalation, :class:`escalation.events.EscalationProposed`,
and sends "imminent" as the risk summary of that call's escalations) and the audio prompts
(:meth:`health_signal`, :meth:`audio_device_changed`), and the imminent-risk rescue steps
(:meth:`rescue_step`: each goes to the supervisors of that call's open escalations as a
:class:`escalation.messages.RescueStep`, a code and a time, through the outbox like a
whisper; an escalation raised later for the call gets the steps taken before it).

The session starts fine with no broker configured or reachable: the status says so
(``StatusReport(component="broker")``) and the link keeps retrying. The button-box LED
follows :class:`escalation.events.EscalationStateChanged`; :meth:`EscalationService.led_state`
answers "what should it show now".
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from calls import events as call_events
from calls.host import Host
from calls.model import CallState
from core.errors import ConfigError
from core.i18n import _
from core.status import Level, StatusReport
from escalation import events as ev
from escalation import health, levels, statuses
from escalation import messages as m
from escalation import options as o
from escalation.counselor import CounselorAgent
from escalation.outbox import DurableBox, MemoryOutbox, Outbox, SpoolOutbox, StoreOutbox, open_spool
from escalation.spool import Spool
from escalation.supervisor import SupervisorAgent
from escalation.transport import LinkSettings

log = logging.getLogger(__name__)

#: how many contacts' rescue steps are kept in memory for escalations raised later
RESCUE_CONTACTS = 20


class EscalationService:
    def __init__(self, host: Host, outbox: Outbox | None = None) -> None:
        self.session = host
        self.bus = host.bus
        self.config = host.config
        self.role = self.config.get(o.ROLE)
        self.config_error: str | None = None
        try:
            self._settings: LinkSettings | None = LinkSettings.from_config(self.config, self.role)
        except ConfigError as exc:
            log.error("escalation is not usable: %s", exc.message)
            self.config_error = exc.user_text()
            self._settings = None
        #: the outbox and the agent are made on first use, so that the wiring can hand over
        #: the durable box first (use_durable_box)
        self._outbox = outbox
        self._box: DurableBox | None = None
        self._agent: CounselorAgent | SupervisorAgent | None = None
        self._making = threading.Lock()
        if self.role == "counselor":
            self.bus.subscribe(call_events.EscalationRequested, self._on_requested)
            self.bus.subscribe(call_events.CallStateChanged, self._on_call_state)
            self.bus.subscribe(call_events.MissedCall, self._on_missed)
            self.bus.subscribe(call_events.CallAnswered, self._on_answered)
        #: risk summary code per contact, from the latest risk assessment (no factors kept)
        self._risk: dict[str, str] = {}
        #: live call-health signals of the current call, shown on the supervisors' board
        self._health: set[str] = set()
        #: the rescue steps (code, time) of recent contacts, for escalations raised later
        self._rescue: dict[str, list[tuple[str, dt.datetime]]] = {}
        self._rescue_sent: set[str] = set()  # escalations that got the steps before them
        self._rescue_lock = threading.Lock()
        if self.role == "counselor":
            self.bus.subscribe(ev.EscalationStateChanged, self._on_escalation_state)

    # -- what other capabilities bring (app/wiring.py) --------------------------------------
    def use_durable_box(self, box: DurableBox) -> None:
        """Keep escalations in ``box`` (the encrypted store), with the spool while it is
        locked. Only before the service is first used."""
        with self._making:
            if self._agent is not None or self._outbox is not None:
                raise RuntimeError("the escalation outbox is already chosen")
            self._box = box

    def box_unlocked(self) -> None:
        """The durable box was unlocked: what was held meanwhile is written now."""
        with self._making:
            outbox = self._outbox  # none made yet: it will read the open box directly
        if isinstance(outbox, StoreOutbox):
            outbox.box_unlocked()

    def risk_assessed(self, contact_id: str, imminent: bool) -> None:
        """A risk assessment of ``contact_id`` was saved (counselor laptops)."""
        if self.role != "counselor":
            return
        if not imminent:
            self._risk.pop(contact_id, None)
            return
        self._risk[contact_id] = "imminent"
        call = self.session.calls.call
        if call is None or call.id != contact_id:
            return  # an assessment edited after the call: nothing to propose now
        if self._open_urgent(call.id):
            return  # a supervisor is already being (or has been) reached for this call
        self.bus.publish(ev.EscalationProposed(call.id, levels.URGENT, "imminent_risk"))

    def chats_held(self, n: int) -> None:
        """How many chats keep this counselor from calls (the chat flow says), shown with
        the presence (counselor laptops)."""
        if self.role == "counselor":
            self.counselor.set_chats(max(0, min(100, n)))

    def health_signal(self, code: str, active: bool) -> None:
        """A live call-health signal (:data:`escalation.health.HEALTH_SIGNALS`) started or
        stopped (counselor laptops)."""
        if self.role != "counselor":
            return
        (self._health.add if active else self._health.discard)(code)
        self._send_health()

    def audio_device_changed(self, lost: bool) -> None:
        """The headset was lost or is back; a loss counts only during a call."""
        if self.role != "counselor" or (lost and not self.session.calls.state.in_call):
            return
        self.health_signal(health.AUDIO_DEVICE_LOST, lost)

    def rescue_step(self, contact_id: str, step: str, at: dt.datetime) -> None:
        """A rescue step of ``contact_id`` was recorded (counselor laptops): its code and
        time go to the supervisors of every open escalation of that call."""
        if self.role != "counselor" or not m.STEP_CODE.match(step):
            return
        with self._rescue_lock:
            self._rescue.setdefault(contact_id, []).append((step, at))
            while len(self._rescue) > RESCUE_CONTACTS:
                self._rescue.pop(next(iter(self._rescue)))
        for esc in self.counselor.open_escalations():
            if esc.call_id == contact_id:
                self._send_rescue(esc.id, step, at)

    def _on_escalation_state(self, event: ev.EscalationStateChanged) -> None:
        """A new escalation of a call whose rescue has begun carries its steps so far."""
        if event.state != ev.RAISED or not event.call_id:
            return
        with self._rescue_lock:
            if event.escalation_id in self._rescue_sent:
                return
            self._rescue_sent.add(event.escalation_id)
            steps = list(self._rescue.get(event.call_id, ()))
        for step, at in steps:
            self._send_rescue(event.escalation_id, step, at)

    def _send_rescue(self, escalation_id: str, step: str, at: dt.datetime) -> None:
        agent = self.counselor
        esc = agent.escalations.get(escalation_id)
        if esc is None:
            return
        msg = m.RescueStep(m.new_id(), esc.id, esc.counselor, step, at)
        try:
            agent._send_event(esc, msg)  # an event like a whisper: outboxed, resent
        except Exception:
            log.exception("could not send rescue step %s of escalation %s", step, esc.id)

    # -- the agent ------------------------------------------------------------------------
    @property
    def agent(self) -> CounselorAgent | SupervisorAgent:
        with self._making:
            if self._agent is None:
                if self._outbox is None:
                    self._outbox = self._make_outbox()
                args = (self.config, self.session.clock, self.bus, self._outbox, self._settings)
                self._agent = (
                    SupervisorAgent(*args) if self.role == "supervisor" else CounselorAgent(*args)
                )
            return self._agent

    @property
    def outbox(self) -> Outbox:
        return self.agent.outbox

    def _make_outbox(self) -> Outbox:
        """The durable box (with the spool) when the wiring gave one; the spool alone when
        there is none; memory when neither can be had."""
        spool: Spool | None = None
        try:
            if self.config.get(o.BROKER_HOST):  # nothing is ever sent without a broker
                key_file = self.config.get(o.KEY_FILE) if self.config.get(o.TLS) else None
                spool = open_spool(self.session.paths.data_dir, key_file, "console")
        except (OSError, ValueError) as exc:
            log.error(
                "no escalation spool (%s): alerts raised while the store is locked are "
                "kept in memory only",
                type(exc).__name__,
            )
            spool = None
        if self._box is not None:
            return StoreOutbox(self._box, spool)
        return SpoolOutbox(spool) if spool is not None else MemoryOutbox()

    # -- service -------------------------------------------------------------------------
    def start(self) -> None:
        self.agent.start()
        if self.config_error:
            self.bus.publish(
                StatusReport(
                    "broker",
                    Level.ERROR,
                    _("Supervisors: not connected — {why}").format(why=self.config_error),
                )
            )

    def stop(self) -> None:
        with self._making:
            agent = self._agent  # never used: nothing to stop
        if agent is not None:
            agent.stop()

    @property
    def identity(self) -> str:
        return self.agent.identity

    @property
    def connected(self) -> bool:
        return self.agent.connected

    # -- counselor API ----------------------------------------------------------------------
    @property
    def counselor(self) -> CounselorAgent:
        agent = self.agent
        assert isinstance(agent, CounselorAgent), "not a counselor laptop"
        return agent

    @property
    def supervisor(self) -> SupervisorAgent:
        agent = self.agent
        assert isinstance(agent, SupervisorAgent), "not a supervisor laptop"
        return agent

    def raise_escalation(self, level: str, reason: str | None = None, source: str = "ui") -> str:
        """Raise for the current call (the window's level choice uses this)."""
        call = self.session.calls.call
        return self.counselor.raise_escalation(
            level,
            call.id if call else None,
            reason=reason,
            source=source,
            call_s=call.talk_seconds(self.session.clock.monotonic()) if call else 0.0,
        )

    def request_debrief(self, contact_id: str | None, risk: str = "unknown") -> str:
        """The counselor asks the supervisors for a debrief after a hard call (its wrap-up is
        over): an alert at level ``debrief`` — waiting in their queue, never re-alerted."""
        return self.counselor.raise_escalation(
            levels.DEBRIEF, contact_id, risk=risk, source="ui", call_s=0.0
        )

    def led_state(self) -> str | None:
        """State of the newest open escalation (None: nothing open) — for the button-box LED.
        'fallback' once T2 passed unacknowledged."""
        agent = self.agent
        if not isinstance(agent, CounselorAgent):
            return None
        cur = agent.current()
        if cur is None:
            return None
        return "fallback" if cur.fallback_due and not cur.acknowledged else cur.state

    # -- bus ----------------------------------------------------------------------------------
    def _on_requested(self, event: call_events.EscalationRequested) -> None:
        level = event.level if event.level in levels.LEVELS else "consult"
        call = self.session.calls.call
        call_s = call.talk_seconds(self.session.clock.monotonic()) if call else 0.0
        risk = self._risk.get(event.call_id or "", "unknown")
        self.counselor.raise_escalation(
            level, event.call_id, call_s=call_s, risk=risk, source=event.source.value
        )

    def _send_health(self) -> None:
        self.counselor.set_health(tuple(s for s in health.HEALTH_SIGNALS if s in self._health))

    def _open_urgent(self, call_id: str) -> bool:
        for practice in self.counselor.training.open_escalations():  # training mode
            if practice.call_id == call_id and practice.level == levels.URGENT:
                return True
        for esc in list(self.counselor.escalations.values()):
            if esc.call_id == call_id and esc.level == levels.URGENT and esc.state != ev.RESOLVED:
                return True
        return False

    def _on_call_state(self, event: call_events.CallStateChanged) -> None:
        if not event.state.in_call and self._health:
            self._health.clear()  # signals belong to a call
            self._send_health()
        started = None
        if event.call is not None and event.state in (CallState.ON_CALL, CallState.ON_HOLD):
            started = event.call.answered_mono
        self.counselor.set_presence(statuses.status_of(event.state), started)

    def _on_missed(self, event: call_events.MissedCall) -> None:
        call = event.call  # its id and whether a number came: never the number
        self.counselor.ring(event.reason.value, event.rang_s, call.id, bool(call.caller_id))

    def _on_answered(self, event: call_events.CallAnswered) -> None:
        call = event.call
        if call.answered_mono is not None:
            self.counselor.answered(max(0.0, call.answered_mono - call.rung_mono))


def attach(host: Host) -> EscalationService:
    svc = EscalationService(host)
    host.add_service("escalation", svc)
    return svc
