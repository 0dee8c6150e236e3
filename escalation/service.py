"""The "escalation" service: ``attach(session)`` plugs escalation into a Session.

Role ``counselor`` (the default): listens to ``calls.events.EscalationRequested`` (button
box gesture, Ctrl+Shift+E, the window's button) and raises an escalation; follows
``CallStateChanged`` for presence and ``MissedCall`` for ring notices; and when the store
records a risk assessment at imminent risk for the current call, it proposes an urgent
escalation (:class:`escalation.events.EscalationProposed`) and sends "imminent" as the risk
summary of that call's escalations. Role ``supervisor``:
runs the :class:`escalation.supervisor.SupervisorAgent` for ``faro supervisor``.

The session starts fine with no broker configured or reachable: the status says so
(``StatusReport(component="broker")``) and the link keeps retrying. The button-box LED
follows :class:`escalation.events.EscalationStateChanged`; :meth:`EscalationService.led_state`
answers "what should it show now".
"""
from __future__ import annotations

import logging
from typing import Any

from calls import events as call_events
from calls.model import CallState
from core.errors import ConfigError
from core.i18n import _
from core.status import Level, StatusReport
from escalation import events as ev
from escalation import levels
from escalation import options as o
from escalation.counselor import CounselorAgent
from escalation.outbox import Outbox, outbox_for
from escalation.supervisor import SupervisorAgent
from escalation.transport import LinkSettings

log = logging.getLogger(__name__)


class EscalationService:
    def __init__(self, session: Any, outbox: Outbox | None = None) -> None:
        self.session = session
        self.bus = session.bus
        self.config = session.config
        self.role = self.config.get(o.ROLE)
        self.outbox = outbox or outbox_for(session)
        self.config_error: str | None = None
        try:
            settings = LinkSettings.from_config(self.config, self.role)
        except ConfigError as exc:
            log.error("escalation is not usable: %s", exc.message)
            self.config_error = exc.user_text()
            settings = None
        args = (self.config, session.clock, self.bus, self.outbox, settings)
        self.agent: CounselorAgent | SupervisorAgent = (
            SupervisorAgent(*args) if self.role == "supervisor" else CounselorAgent(*args))
        if self.role == "counselor":
            self.bus.subscribe(call_events.EscalationRequested, self._on_requested)
            self.bus.subscribe(call_events.CallStateChanged, self._on_call_state)
            self.bus.subscribe(call_events.MissedCall, self._on_missed)
            try:
                from storage.events import RiskAssessmentSaved
            except ModuleNotFoundError:  # a build without the store
                pass
            else:
                self.bus.subscribe(RiskAssessmentSaved, self._on_risk)
        #: risk summary code per contact, from the latest risk assessment (no factors kept)
        self._risk: dict[str, str] = {}
        #: live call-health signals of the current call, shown on the supervisors' board
        self._health: set[str] = set()
        if self.role == "counselor":
            self._follow_call_health()

    # -- service -------------------------------------------------------------------------
    def start(self) -> None:
        self.agent.start()
        if self.config_error:
            self.bus.publish(StatusReport("broker", Level.ERROR,
                                          _("Supervisors: not connected — {why}").format(
                                              why=self.config_error)))

    def stop(self) -> None:
        self.agent.stop()

    @property
    def identity(self) -> str:
        return self.agent.identity

    @property
    def connected(self) -> bool:
        return self.agent.connected

    # -- counselor API ----------------------------------------------------------------------
    @property
    def counselor(self) -> CounselorAgent:
        assert isinstance(self.agent, CounselorAgent), "not a counselor laptop"
        return self.agent

    @property
    def supervisor(self) -> SupervisorAgent:
        assert isinstance(self.agent, SupervisorAgent), "not a supervisor laptop"
        return self.agent

    def raise_escalation(self, level: str, reason: str | None = None, source: str = "ui") -> str:
        """Raise for the current call (the window's level choice uses this)."""
        call = self.session.calls.call
        return self.counselor.raise_escalation(
            level, call.id if call else None, reason=reason, source=source,
            call_s=call.talk_seconds(self.session.clock.monotonic()) if call else 0.0)

    def led_state(self) -> str | None:
        """State of the newest open escalation (None: nothing open) — for the button-box LED.
        'fallback' once T2 passed unacknowledged."""
        if not isinstance(self.agent, CounselorAgent):
            return None
        cur = self.agent.current()
        if cur is None:
            return None
        return "fallback" if cur.fallback_due and not cur.acknowledged else cur.state

    # -- bus ----------------------------------------------------------------------------------
    def _on_requested(self, event: call_events.EscalationRequested) -> None:
        level = event.level if event.level in levels.LEVELS else "consult"
        call = self.session.calls.call
        call_s = call.talk_seconds(self.session.clock.monotonic()) if call else 0.0
        risk = self._risk.get(event.call_id or "", "unknown")
        self.counselor.raise_escalation(level, event.call_id, call_s=call_s, risk=risk,
                                        source=event.source.value)

    def _follow_call_health(self) -> None:
        try:
            from audio import events as aev
        except ModuleNotFoundError:  # a build without audio
            return
        self._health_of = {aev.CallerSilenceLong: "caller_silent",
                           aev.TalkingMoreThanListening: "talking_more",
                           aev.MutedWhileSpeaking: "muted_while_speaking",
                           aev.DeadMic: "dead_mic", aev.OneWayAudio: "one_way_audio",
                           aev.Clipping: "clipping"}
        for kind in self._health_of:
            self.bus.subscribe(kind, self._on_health)
        self.bus.subscribe(aev.AudioDeviceLost, self._on_device)
        self.bus.subscribe(aev.AudioDeviceRestored, self._on_device)

    def _on_health(self, event: Any) -> None:
        (self._health.add if event.active else self._health.discard)(self._health_of[type(event)])
        self._send_health()

    def _on_device(self, event: Any) -> None:
        lost = type(event).__name__ == "AudioDeviceLost"
        if lost and not self.session.calls.state.in_call:
            return
        (self._health.add if lost else self._health.discard)("audio_device_lost")
        self._send_health()

    def _send_health(self) -> None:
        self.counselor.set_health(tuple(s for s in levels.HEALTH_SIGNALS if s in self._health))

    def _on_risk(self, event: Any) -> None:
        if not event.imminent:
            self._risk.pop(event.contact_id, None)
            return
        self._risk[event.contact_id] = "imminent"
        call = self.session.calls.call
        if call is None or call.id != event.contact_id:
            return  # an assessment edited after the call: nothing to propose now
        if self._open_urgent(call.id):
            return  # a supervisor is already being (or has been) reached for this call
        self.bus.publish(ev.EscalationProposed(call.id, levels.URGENT, "imminent_risk"))

    def _open_urgent(self, call_id: str) -> bool:
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
        self.counselor.set_presence(levels.status_of(event.state), started)

    def _on_missed(self, event: call_events.MissedCall) -> None:
        self.counselor.ring(event.reason.value, event.rang_s)


def attach(session: Any) -> EscalationService:
    svc = EscalationService(session)
    session.add_service("escalation", svc)
    return svc
