"""Live assistance end to end on a counselor's whole Session: its escalation link on a real
broker, its SIP line on a real Kamailio, a caller, and a supervisor whose request brings a
SIP leg into the call (the supervisor's phone line is a separate engine process dialling
with the grant the link delivered). Announced on both sides, ended by the counselor."""

from __future__ import annotations

import time

import numpy as np
import pytest

from app.session import Session
from app.wiring import SIP_PASSWORD
from calls.model import Action, CallState
from calls.sip.settings import ASSIST_HEADER
from core.config import Config
from escalation import assist as a
from escalation import events as ev
from escalation import statuses
from tests.calls.sip_rig import USERS, levels, rig
from tests.escalation.conftest import fields
from tests.support.toolkit import Recorder, wait_until

pytestmark = pytest.mark.timeout(150)
PASS = "correct horse battery staple 9"
TONE = (0.3 * 32767 * np.sin(2 * np.pi * 300 * np.arange(2400) / 48000)).astype(np.int16)


def _session(tmp_path, paths, broker, extra: dict) -> Session:
    config = Config.defaults().with_overrides(
        {**broker.overrides("c-alba", "counselor"), "storage.unlock_target_ms": 1, **extra}
    )
    session = Session(config, paths=paths, services=("storage.service", "escalation.service"))
    store = session.service("store")
    store.init(PASS)
    store.set_secret(SIP_PASSWORD, USERS["counselor"])
    return session


def _sip_line(r) -> dict:
    """The counselor's Faro phone line on the rig's Kamailio."""
    s = r.settings()
    return {
        "calls.backend": "sip",
        "sip.user": s.user,
        "sip.domain": s.domain,
        "sip.ca_file": s.ca_file,
        "sip.listen": "127.0.0.1",
        "sip.system_resolver": True,
    }


def _board_on_call(sup) -> None:
    wait_until(
        lambda: getattr(sup.board.counselors.get("c-alba"), "status", "") == statuses.ON_CALL,
        timeout=15,
        what="the counselor on a call on the board",
    )


def test_a_supervisor_listens_then_joins_and_the_counselor_ends_it(
    tmp_path, paths, tls_broker, agents
):
    with rig(tmp_path) as r:
        session = _session(tmp_path, paths, tls_broker, _sip_line(r))
        c_ev = Recorder(session.bus, ev.AssistShown)
        session.start()
        sup, sup_ev = agents("supervisor", "sup-ana")
        try:
            phone = session.calls.backend
            wait_until(lambda: phone.line_state == "registered", 15, "line registered")
            with r.peer() as caller, r.peer("sup") as sup_line:
                caller.wait("registered"), sup_line.wait("registered")
                caller.send(op="dial", uri=r.counselor_uri())
                wait_until(lambda: session.calls.state is CallState.RINGING, 15, "ringing")
                session.calls.do(Action.ANSWER)
                caller.wait("established")
                _board_on_call(sup)
                sid = sup.assist.start("c-alba", "listen")
                dial = sup_ev.wait_event(ev.AssistDial, timeout=15)[1]
                assert dial.uri == phone.own_uri
                sup_line.send(op="dial", uri=dial.uri, headers={ASSIST_HEADER: dial.token})
                sup_line.wait("established", timeout=20)
                sup_ev.wait_event(ev.AssistShown, fields(side="supervisor", state="live"), 15)
                shown = c_ev.wait_event(ev.AssistShown, fields(side="counselor", state="live"), 15)[
                    1
                ]
                assert (shown.supervisor, shown.mode, shown.assist) == ("sup-ana", "listen", sid)
                # the supervisor hears the counselor
                time.sleep(0.8)
                t0 = time.monotonic()
                end = t0 + 1.5
                while time.monotonic() < end:
                    phone.media.send_near(TONE)
                    time.sleep(0.05)
                sup_line.send(op="rx_report", since=t0)
                heard = levels(sup_line.wait("rx")["frames"], t0 + 0.4, t0 + 1.4)
                assert np.median(heard) > -35
                # the supervisor joins the call: the counselor's mix follows the link
                assert sup.assist.set_mode("barge")
                sup_ev.wait_event(ev.AssistShown, fields(side="supervisor", mode="barge"), 15)
                c_ev.wait_event(ev.AssistShown, fields(side="counselor", mode="barge"), 15)
                assert phone.pump.assist_mode == "barge"
                # the counselor ends the assistance; the call goes on
                session.wiring.assist.end()
                sup_line.wait("closed", timeout=15)
                got = sup_ev.wait_event(
                    ev.AssistShown, fields(side="supervisor", state="ended"), 15
                )
                assert got[1].reason == "by_counselor"
                assert session.calls.state is CallState.ON_CALL
                agent = session.service("escalation").agent
                assert agent.assist.session is None
                caller.send(op="hangup")
                wait_until(lambda: session.calls.state is CallState.WRAP_UP, 15, "wrap-up")
        finally:
            session.stop()


def test_a_call_that_ends_before_the_leg_comes_ends_the_session_and_its_grant(
    tmp_path, paths, tls_broker, agents
):
    with rig(tmp_path) as r:
        session = _session(tmp_path, paths, tls_broker, _sip_line(r))
        c_ev = Recorder(session.bus, ev.AssistShown)
        session.start()
        sup, sup_ev = agents("supervisor", "sup-ana")
        try:
            phone = session.calls.backend
            wait_until(lambda: phone.line_state == "registered", 15, "line registered")
            with r.peer() as caller, r.peer("sup") as sup_line:
                caller.wait("registered"), sup_line.wait("registered")
                caller.send(op="dial", uri=r.counselor_uri())
                wait_until(lambda: session.calls.state is CallState.RINGING, 15, "ringing")
                session.calls.do(Action.ANSWER)
                caller.wait("established")
                _board_on_call(sup)
                sup.assist.start("c-alba", "coach")
                dial = sup_ev.wait_event(ev.AssistDial, timeout=15)[1]
                caller.send(op="hangup")  # the caller goes before the supervisor's leg comes
                wait_until(lambda: session.calls.state is CallState.WRAP_UP, 15, "wrap-up")
                c_ev.wait_event(
                    ev.AssistShown, fields(side="counselor", state="ended", reason="call_ended"), 15
                )
                sup_ev.wait_event(ev.AssistShown, fields(side="supervisor", state="ended"), 15)
                # the grant is gone with it
                sup_line.send(op="dial", uri=dial.uri, headers={ASSIST_HEADER: dial.token})
                sup_line.wait("closed", timeout=15)
                assert not phone.assisted
        finally:
            session.stop()


def test_without_faros_own_phone_line_the_request_is_refused_and_whisper_stays(
    tmp_path, paths, tls_broker, agents
):
    session = _session(tmp_path, paths, tls_broker, {"calls.backend": "companion"})
    session.start()
    sup, sup_ev = agents("supervisor", "sup-ana")
    try:
        agent = session.service("escalation").agent
        wait_until(lambda: agent.connected and sup.connected, 15, "connected")
        agent.set_presence(statuses.ON_CALL, call_started_mono=time.monotonic())
        _board_on_call(sup)
        sup.assist.start("c-alba", "coach")
        shown = sup_ev.wait_event(ev.AssistShown, fields(side="supervisor", state="refused"), 15)
        assert shown[1].reason == "no_sip" and "whisper" in a.reason_text("no_sip")
    finally:
        session.stop()


def test_the_supervisors_phone_line_dials_with_the_grant_and_takes_no_calls_of_its_own(
    tmp_path, paths, tls_broker, agents
):
    from app.session import SUPERVISOR_SERVICES

    with rig(tmp_path) as r:
        s = r.settings(user="sup")
        config = Config.defaults().with_overrides(
            {
                **tls_broker.overrides("sup-ana", "supervisor"),
                "storage.unlock_target_ms": 1,
                "calls.backend": "sip",
                "sip.user": "sup",
                "sip.domain": s.domain,
                "sip.ca_file": s.ca_file,
                "sip.listen": "127.0.0.1",
                "sip.system_resolver": True,
            }
        )
        session = Session(config, paths=paths, services=SUPERVISOR_SERVICES)
        assert "audio" in session.service_names  # the supervisor's headset
        store = session.service("store")
        store.init(PASS)
        store.set_secret(SIP_PASSWORD, USERS["sup"])
        s_ev = Recorder(session.bus, ev.AssistShown)
        session.start()
        c, c_ev = agents("counselor", "c-alba")
        try:
            phone = session.calls.backend
            wait_until(lambda: phone.line_state == "registered", 15, "line registered")
            assert phone.assist_only
            sup = session.service("escalation").agent
            wait_until(lambda: sup.connected and c.connected, 15, "connected")
            with r.peer("counselor", auto_answer=True, expose_headers=[ASSIST_HEADER]) as line:
                line.wait("registered")
                # a plain call to the supervisor's account is refused, and not a missed call
                line.send(op="dial", uri=s.aor_uri)
                line.wait("closed", timeout=15)
                assert session.calls.state is CallState.AVAILABLE
                c.set_presence(statuses.ON_CALL, call_started_mono=time.monotonic())
                _board_on_call(sup)
                sid = session.wiring.assist.start("c-alba", "coach")
                asked = c_ev.wait_event(ev.AssistAsked, timeout=15)[1]
                c.assist.ready(sid, r.counselor_uri())  # what the counselor's wiring says
                incoming = line.wait("incoming", timeout=15)
                assert incoming["headers"].get(ASSIST_HEADER) == asked.token
                line.wait("established", timeout=15)
                c.assist.live(sid, "coach")
                s_ev.wait_event(ev.AssistShown, fields(side="supervisor", state="live"), 15)
                with pytest.raises(ValueError):
                    session.wiring.assist.start("c-alba", "listen")  # one at a time
                session.wiring.assist.stop()
                line.wait("closed", timeout=15)
                c_ev.wait_event(ev.AssistControlAsked, fields(action="end"), 15)
        finally:
            session.stop()
