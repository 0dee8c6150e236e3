"""Live assistance: a supervisor listens in, coaches or joins a counselor's call (issue 17;
docs/escalation.md "Live assistance", docs/telephony.md for the audio).

The escalation link carries only the control; the audio is a second SIP leg that the
supervisor's laptop dials into the counselor's own address, mixed on the counselor's laptop
(calls/sip/pump.py), so it works with any registrar and the counselor's laptop alone decides
who hears whom. Session A of counselor C, all QoS 1, not retained, under the existing ACL
(a counselor writes only its own subtree and reads only its inbox):

- ``assist_request`` on ``s/C/assist/A/request``: the supervisor, the mode (``listen``,
  ``coach``, ``barge``) and a one-time token the SIP leg will carry.
- ``assist_state`` on ``c/C/assist/A/state``: the counselor's laptop answers ``ready`` with
  the address to dial (its phone line took the grant), or ``refused`` with a reason
  (:data:`REASONS`); then ``live``, ``mode`` and ``ended``. Every supervisor console hears
  it; the one that asked follows it, the others ignore it.
- ``assist_control`` on ``s/C/assist/A/control``: the supervisor changes the mode or leaves.

Announced: the counselor's console shows every state (who, which mode, whether the caller
hears them) and can end the session. Audited on both laptops (the outbox's audit trail):
``assist.request``, ``assist.live``, ``assist.mode``, ``assist.end``, ``assist.refused``.

Nothing here waits on the network to keep audio safe: a control message lost with the link
leaves the SIP leg as it was, and either side can still hang it up; a supervisor who asks
and hears nothing within :data:`ASK_S` is told the counselor did not answer.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import threading
from typing import TYPE_CHECKING

from core.i18n import N_, _
from escalation import events as ev
from escalation import messages as m
from escalation import statuses
from escalation.topics import ROOT

if TYPE_CHECKING:
    from core.clock import Timer
    from escalation.agent import Agent

log = logging.getLogger(__name__)

MODES = m.ASSIST_MODES
#: all supervisors' assistance traffic from counselors
ALL_COUNSELOR_ASSIST = f"{ROOT}/c/+/assist/#"
#: a supervisor who asked hears "ready" or "refused" within this long, or is told the
#: counselor's console did not answer (offline, an older Faro)
ASK_S = 15.0
#: ...and the leg is live this long after "ready", or the session ends (the grant expired)
LIVE_S = 35.0

REASONS = {
    "not_on_call": N_("The counselor is not on a call."),
    "no_sip": N_(
        "Live audio needs Faro's own phone line on the counselor's laptop; use the text whisper."
    ),
    "line_down": N_("The counselor's phone line is not connected."),
    "busy": N_("Another supervisor is already on this call."),
    "practice": N_("This is a practice call; use the training watch."),
    "no_answer": N_("The counselor's console did not answer."),
    "no_leg": N_("The audio leg did not connect."),
    "no_phone": N_("This laptop has no phone line for live audio (set up sip.* first)."),
    "by_counselor": N_("The counselor ended the assistance."),
    "by_supervisor": N_("The supervisor left the call."),
    "call_ended": N_("The call ended."),
    "network": N_("The network dropped the audio."),
    "rejected": N_("The phone line refused the audio leg."),
    "hangup": N_("The audio leg ended."),
}


def reason_text(code: str) -> str:
    return _(REASONS[code]) if code in REASONS else code


def mode_label(mode: str) -> str:
    return {
        "listen": _("Listen"),
        "coach": _("Coach"),
        "barge": _("Join"),
    }.get(mode, mode)


def counselor_topic(counselor: str, assist: str, leaf: str) -> str:
    return f"{ROOT}/c/{counselor}/assist/{assist}/{leaf}"


def supervisor_topic(counselor: str, assist: str, leaf: str) -> str:
    return f"{ROOT}/s/{counselor}/assist/{assist}/{leaf}"


def parse(topic: str) -> tuple[str, str, str, str] | None:
    """(side 'c'|'s', counselor, session id, leaf) of an assistance topic; None for another."""
    parts = topic.split("/")
    if len(parts) == 7 and parts[:2] == ["faro", "v1"] and parts[4] == "assist":
        if parts[2] in ("c", "s"):
            return parts[2], parts[3], parts[5], parts[6]
    return None


@dataclasses.dataclass
class Session:
    id: str
    counselor: str
    supervisor: str
    mode: str
    state: str  # asked, ready, live
    token: str = ""
    timer: Timer | None = None
    ending: str = ""  # the reason to give when the leg ends, if this side ended it


class _Side:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self._lock = threading.RLock()
        self.session: Session | None = None

    @property
    def me(self) -> str:
        return self.agent.identity

    def _publish(self, topic: str, msg: m.AssistMessage) -> None:
        link = self.agent.link
        if link is not None:
            link.publish(topic, m.encode(msg), qos=1)

    def _decode(self, payload: bytes) -> m.AssistMessage | None:
        try:
            msg = m.decode(payload)
        except m.MessageError as exc:
            log.warning("ignored a malformed assistance message: %s", exc)
            return None
        if isinstance(msg, (m.AssistRequest, m.AssistControl, m.AssistState)):
            return msg
        return None

    def _cancel_timer(self, s: Session) -> None:
        if s.timer is not None:
            s.timer.cancel()
            s.timer = None


# -- the counselor's laptop ---------------------------------------------------------------------
class CounselorAssist(_Side):
    """Answers supervisors' requests (through app/wiring.py, which asks the phone line) and
    tells them, and the counselor, where the session is."""

    def on_message(self, side: str, counselor: str, assist: str, leaf: str, payload: bytes) -> None:
        if side != "s" or counselor != self.me or not payload:
            return
        msg = self._decode(payload)
        if msg is None or msg.id != assist or msg.counselor != self.me:
            return
        if isinstance(msg, m.AssistRequest):
            self._request(msg)
        elif isinstance(msg, m.AssistControl):
            self._control(msg)

    def _request(self, msg: m.AssistRequest) -> None:
        with self._lock:
            current = self.session
            if current is not None and current.id == msg.id:
                return  # a repeat
            if current is not None:
                busy = True
            else:
                busy = False
                self.session = Session(msg.id, self.me, msg.supervisor, msg.mode, "asked")
        self.agent.outbox.audit("assist.request", msg.id, {"by": msg.supervisor, "mode": msg.mode})
        if busy:
            self._refuse_msg(msg.id, msg.supervisor, msg.mode, "busy")
            return
        self._show(msg.id, msg.supervisor, "asked", msg.mode)
        self.agent.bus.publish(ev.AssistAsked(msg.id, msg.supervisor, msg.mode, msg.token))

    def _control(self, msg: m.AssistControl) -> None:
        with self._lock:
            s = self.session
            if s is None or s.id != msg.id or s.supervisor != msg.supervisor:
                return
            if msg.action == "end":
                s.ending = s.ending or "by_supervisor"
        self.agent.bus.publish(ev.AssistControlAsked(msg.id, msg.action, msg.mode))
        if msg.action == "end" and s.state != "live":
            self.ended(msg.id, "by_supervisor")  # no leg to hang up

    # what app/wiring.py tells, from the phone line
    def ready(self, assist: str, uri: str) -> None:
        with self._lock:
            s = self.session
            if s is None or s.id != assist:
                return
            s.state = "ready"
            s.timer = self.agent.clock.call_later(LIVE_S, lambda: self._no_leg(assist))
        self._state(s, "ready", uri=uri)
        self._show(assist, s.supervisor, "ready", s.mode)

    def refuse(self, assist: str, reason: str) -> None:
        with self._lock:
            s = self.session
            if s is None or s.id != assist:
                return
            self.session = None
        self._refuse_msg(assist, s.supervisor, s.mode, reason)
        self._show(assist, s.supervisor, "refused", s.mode, reason)

    def _refuse_msg(self, assist: str, supervisor: str, mode: str, reason: str) -> None:
        self.agent.outbox.audit("assist.refused", assist, {"by": supervisor, "reason": reason})
        msg = m.AssistState(
            assist, self.me, supervisor, "refused", mode, self.agent.clock.now(), reason=reason
        )
        self._publish(counselor_topic(self.me, assist, "state"), msg)

    def live(self, assist: str, mode: str) -> None:
        """The leg is up (app/wiring.py, from the phone line)."""
        self._moved(assist, "live", mode)

    def mode_changed(self, assist: str, mode: str) -> None:
        self._moved(assist, "mode", mode)

    def _moved(self, assist: str, state: str, mode: str) -> None:
        with self._lock:
            s = self.session
            if s is None or s.id != assist:
                return
            if state == "live":
                self._cancel_timer(s)
                s.state = "live"
            s.mode = mode or s.mode
        self.agent.outbox.audit(f"assist.{state}", assist, {"by": s.supervisor, "mode": s.mode})
        self._state(s, state)
        self._show(assist, s.supervisor, state, s.mode)

    def ending(self, reason: str) -> str | None:
        """The counselor (or the end of the call) is ending the session: remember why.
        Returns the session's id, or None when there is none."""
        with self._lock:
            s = self.session
            if s is None:
                return None
            s.ending = s.ending or reason
            return s.id

    def ended(self, assist: str, reason: str = "hangup") -> None:
        with self._lock:
            s = self.session
            if s is None or s.id != assist:
                return
            self.session = None
            self._cancel_timer(s)
            reason = s.ending or reason
        self.agent.outbox.audit("assist.end", assist, {"by": s.supervisor, "reason": reason})
        self._state(s, "ended", reason=reason)
        self._show(assist, s.supervisor, "ended", s.mode, reason)

    def _no_leg(self, assist: str) -> None:
        with self._lock:
            s = self.session
            if s is None or s.id != assist or s.state == "live":
                return
        self.ended(assist, "no_leg")

    def _state(self, s: Session, state: str, uri: str | None = None, reason: str = "") -> None:
        msg = m.AssistState(
            s.id, self.me, s.supervisor, state, s.mode, self.agent.clock.now(), uri, reason or None
        )
        self._publish(counselor_topic(self.me, s.id, "state"), msg)

    def _show(self, assist: str, supervisor: str, state: str, mode: str, reason: str = "") -> None:
        self.agent.bus.publish(
            ev.AssistShown("counselor", assist, self.me, supervisor, state, mode, reason)
        )


# -- the supervisor's laptop --------------------------------------------------------------------
class SupervisorAssist(_Side):
    """One session at a time: ask, follow the counselor's answers, change the mode, leave."""

    SUBSCRIPTION = ALL_COUNSELOR_ASSIST

    def refusal(self, counselor: str) -> str | None:
        """Why this counselor's call cannot be joined now, from the board (or None)."""
        row = self.agent.board.counselors.get(counselor)  # type: ignore[attr-defined]
        if row is None or row.status != statuses.ON_CALL:
            return "not_on_call"
        if row.practice:
            return "practice"
        return None

    def start(self, counselor: str, mode: str) -> str:
        """Ask to join ``counselor``'s call in ``mode``. Returns the session's id. Raises
        ValueError for an unknown mode or when a session is already open, and
        :class:`AssistRefused` when the board says the call cannot be joined."""
        if mode not in MODES:
            raise ValueError(f"unknown assistance mode {mode!r}")
        refusal = self.refusal(counselor)
        if refusal is not None:
            raise AssistRefused(refusal)
        msg = m.AssistRequest(
            m.new_id(), counselor, self.me, mode, secrets.token_urlsafe(24), self.agent.clock.now()
        )
        with self._lock:
            if self.session is not None:
                raise ValueError("a live-assistance session is already open")
            s = Session(msg.id, counselor, self.me, mode, "asked", msg.token)
            self.session = s
            s.timer = self.agent.clock.call_later(ASK_S, lambda: self._timeout(msg.id, "asked"))
        self.agent.outbox.audit("assist.request", msg.id, {"counselor": counselor, "mode": mode})
        self._publish(supervisor_topic(counselor, msg.id, "request"), msg)
        self._show(s, "asked")
        return msg.id

    def set_mode(self, mode: str) -> bool:
        if mode not in MODES:
            raise ValueError(f"unknown assistance mode {mode!r}")
        with self._lock:
            s = self.session
            if s is None or s.state != "live" or s.mode == mode:
                return False
        self.agent.outbox.audit("assist.mode", s.id, {"counselor": s.counselor, "mode": mode})
        msg = m.AssistControl(s.id, s.counselor, self.me, "mode", mode, self.agent.clock.now())
        self._publish(supervisor_topic(s.counselor, s.id, "control"), msg)
        return True

    def stop(self) -> str | None:
        """Leave the call. Returns the session's id (app/wiring.py hangs up the leg)."""
        with self._lock:
            s = self.session
            if s is None:
                return None
            s.ending = s.ending or "by_supervisor"
        msg = m.AssistControl(s.id, s.counselor, self.me, "end", s.mode, self.agent.clock.now())
        self._publish(supervisor_topic(s.counselor, s.id, "control"), msg)
        if s.state != "live":
            self._end(s.id, "by_supervisor")
        return s.id

    def on_message(self, side: str, counselor: str, assist: str, leaf: str, payload: bytes) -> None:
        if side != "c" or leaf != "state" or not payload:
            return
        msg = self._decode(payload)
        if not isinstance(msg, m.AssistState) or msg.id != assist or msg.counselor != counselor:
            return
        with self._lock:
            s = self.session
            if s is None or s.id != assist or msg.supervisor != self.me:
                return
        if msg.state == "ready" and s.state == "asked" and msg.uri:
            with self._lock:
                self._cancel_timer(s)
                s.state = "ready"
                s.timer = self.agent.clock.call_later(LIVE_S, lambda: self._timeout(s.id, "ready"))
            self._show(s, "ready")
            self.agent.bus.publish(ev.AssistDial(s.id, s.counselor, msg.uri, s.token))
        elif msg.state in ("live", "mode"):
            with self._lock:
                self._cancel_timer(s)
                first = s.state != "live"
                s.state, s.mode = "live", msg.mode
            if first:
                self.agent.outbox.audit("assist.live", s.id, {"counselor": s.counselor})
            self._show(s, "live" if first else "mode")
        elif msg.state == "refused":
            self._end(s.id, msg.reason or "rejected", "refused")
        elif msg.state == "ended":
            self._end(s.id, msg.reason or "hangup")

    # what app/wiring.py tells, from this laptop's phone line
    def leg_ended(self, assist: str, reason: str) -> None:
        self._end(assist, reason, "failed" if reason in ("rejected", "network") else "ended")

    def _timeout(self, assist: str, expected: str) -> None:
        with self._lock:
            s = self.session
            if s is None or s.id != assist or s.state != expected:
                return
        self._end(assist, "no_answer" if expected == "asked" else "no_leg", "failed")

    def _end(self, assist: str, reason: str, state: str = "ended") -> None:
        with self._lock:
            s = self.session
            if s is None or s.id != assist:
                return
            self.session = None
            self._cancel_timer(s)
            reason = s.ending or reason
        self.agent.outbox.audit("assist.end", assist, {"counselor": s.counselor, "reason": reason})
        self._show(s, state, reason)

    def _show(self, s: Session, state: str, reason: str = "") -> None:
        self.agent.bus.publish(
            ev.AssistShown("supervisor", s.id, s.counselor, self.me, state, s.mode, reason)
        )


class AssistRefused(Exception):
    """The board says this call cannot be joined (``code``: a :data:`REASONS` key)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    @property
    def text(self) -> str:
        return reason_text(self.code)
