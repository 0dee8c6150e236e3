"""Live assistance across the capabilities: the escalation link carries the control, the
phone line carries the audio (docs/escalation.md "Live assistance", docs/telephony.md).

On a counselor's laptop:

- a supervisor's request (:class:`escalation.events.AssistAsked`) is answered by the phone
  line: with Faro's own SIP line on a real call it takes the one-time grant and the link says
  ``ready`` with the address to dial; otherwise the link refuses with a reason (no SIP line:
  the text whisper stays; a practice call; not on a call; another supervisor already there);
- the leg's life (:class:`calls.events.AssistLeg`: live, mode, ended) goes back to the link,
  which announces it to the counselor and the supervisor and audits it;
- a mode change or a supervisor leaving (:class:`~escalation.events.AssistControlAsked`)
  goes to the phone line; :meth:`LiveAssist.end` is the counselor's own "end assistance".

On a supervisor's laptop:

- :meth:`LiveAssist.start` asks the link, once this laptop's phone line is ready; when the
  counselor says ready (:class:`~escalation.events.AssistDial`) the phone line dials with the
  grant; the leg failing or ending goes back to the link; a session that ends on the link
  (the counselor ended it, a refusal, a timeout) hangs the leg up.

The supervisor's phone line takes no calls of its own here (``assist_only``): its account
exists for live assistance; consultations and transfers still go to the supervisor's desk
phone. Nothing here holds audio.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from calls.options import TRAINING

if TYPE_CHECKING:
    from app.session import Session

log = logging.getLogger(__name__)

_ENDED = ("ended", "failed", "refused")


class LiveAssist:
    def __init__(self, session: Session) -> None:
        self.session = session
        try:
            from escalation import events as esc
        except ModuleNotFoundError:  # a build without escalation
            return
        from calls.events import AssistLeg, CallEnded

        bus = session.bus
        bus.subscribe(esc.AssistAsked, self._asked)
        bus.subscribe(esc.AssistControlAsked, self._control)
        bus.subscribe(esc.AssistDial, self._dial)
        bus.subscribe(esc.AssistShown, self._shown)
        bus.subscribe(AssistLeg, self._leg)
        bus.subscribe(CallEnded, self._call_ended)
        if self._role() == "supervisor" and self._phone() is not None:
            self._phone().assist_only = True

    # -- parts -----------------------------------------------------------------------------
    def _agent(self) -> Any:
        svc = self.session.service("escalation")
        return getattr(svc, "agent", None) if svc is not None else None

    def _role(self) -> str:
        svc = self.session.service("escalation")
        return getattr(svc, "role", "") if svc is not None else ""

    def _phone(self) -> Any:
        """The SIP backend, when Faro carries the calls itself (else None)."""
        backend = self.session.calls.backend
        return backend if hasattr(backend, "expect_assist") else None

    @property
    def available(self) -> bool:
        """A supervisor's laptop can join calls with audio (its SIP line is up)."""
        phone = self._phone()
        return phone is not None and phone.line_state == "registered"

    # -- the supervisor's laptop ----------------------------------------------------------------
    def start(self, counselor: str, mode: str) -> str:
        """Ask to join ``counselor``'s call. Raises
        :class:`escalation.assist.AssistRefused` (``no_phone`` when this laptop has no SIP
        line up, or what the board says) or ValueError (a session is already open)."""
        from escalation.assist import AssistRefused

        agent = self._agent()
        if agent is None or not hasattr(agent, "board"):
            raise AssistRefused("no_phone")
        if not self.available:
            raise AssistRefused("no_phone")
        return str(agent.assist.start(counselor, mode))

    def set_mode(self, mode: str) -> bool:
        agent = self._agent()
        return bool(agent is not None and agent.assist.set_mode(mode))

    def stop(self) -> None:
        """The supervisor leaves the call (or the counselor ends the assistance, on theirs)."""
        agent = self._agent()
        if agent is None:
            return
        if hasattr(agent, "board"):
            agent.assist.stop()
        else:
            agent.assist.ending("by_counselor")
        phone = self._phone()
        if phone is not None:
            phone.end_assist()

    end = stop

    def _dial(self, e: Any) -> None:
        phone = self._phone()
        agent = self._agent()
        if phone is None or not phone.assist_dial(e.assist, e.uri, e.token):
            if agent is not None:
                agent.assist.leg_ended(e.assist, "no_phone")

    def _shown(self, e: Any) -> None:
        if e.state not in _ENDED:
            return
        phone = self._phone()
        if phone is None:
            return
        if e.side == "supervisor":
            phone.end_assist()  # nothing when there is no leg
        else:
            phone.revoke_assist(e.assist)  # a grant not used yet opens nothing any more

    # -- the counselor's laptop -----------------------------------------------------------------
    def _asked(self, e: Any) -> None:
        agent = self._agent()
        if agent is None:
            return
        phone = self._phone()
        if self.session.config.get(TRAINING):
            agent.assist.refuse(e.assist, "practice")
            return
        if phone is None:
            agent.assist.refuse(e.assist, "no_sip")
            return
        refusal = phone.expect_assist(e.assist, e.token, e.mode)
        if refusal is not None:
            agent.assist.refuse(e.assist, refusal)
        else:
            agent.assist.ready(e.assist, phone.own_uri)

    def _control(self, e: Any) -> None:
        phone = self._phone()
        if phone is None:
            return
        if e.action == "mode":
            phone.set_assist_mode(e.mode)
        elif e.action == "end":
            phone.end_assist()

    def _call_ended(self, _e: Any) -> None:
        agent = self._agent()
        if agent is None or hasattr(agent, "board"):
            return
        assist = agent.assist.ending("call_ended")
        phone = self._phone()
        if assist is not None and (phone is None or not phone.assisted):
            agent.assist.ended(assist, "call_ended")  # asked or ready, no leg yet: over now

    # -- both: the phone line's leg ---------------------------------------------------------------
    def _leg(self, e: Any) -> None:
        agent = self._agent()
        if agent is None:
            return
        if e.side == "supervisor":
            if e.state in ("ended", "failed") and hasattr(agent, "board"):
                agent.assist.leg_ended(e.assist, e.reason or "hangup")
            return
        if hasattr(agent, "board"):
            return
        if e.state == "live":
            agent.assist.live(e.assist, e.mode)
        elif e.state == "mode":
            agent.assist.mode_changed(e.assist, e.mode)
        elif e.state == "ended":
            agent.assist.ended(e.assist, e.reason or "hangup")
