"""Live assistance's control on a real broker: a supervisor asks, the counselor's laptop
answers ready (or refuses with a reason), the session is announced on both consoles, mode
changes and the end travel, every step is audited, and nothing hangs when the counselor's
console never answers. The audio leg itself is tested on real SIP (tests/calls)."""

from __future__ import annotations

import json

import pytest

from core.clock import FakeClock
from escalation import assist as a
from escalation import events as ev
from escalation import messages as m
from escalation import statuses
from tests.escalation.conftest import fields
from tests.support.toolkit import wait_until

pytestmark = pytest.mark.timeout(90)


def _on_call(agents):
    sup, sup_ev = agents("supervisor", "sup-ana")
    c, c_ev = agents("counselor", "c-alba")
    wait_until(lambda: sup.connected and c.connected, timeout=15, what="connected")
    c.set_presence(statuses.ON_CALL, call_started_mono=0.0)
    wait_until(
        lambda: getattr(sup.board.counselors.get("c-alba"), "status", "") == statuses.ON_CALL,
        timeout=10,
        what="on call on the board",
    )
    return sup, sup_ev, c, c_ev


def test_messages_round_trip_and_refuse_what_does_not_fit():
    at = FakeClock().now()
    for msg in (
        m.AssistRequest("a1", "c-alba", "sup-ana", "coach", "t" * 32, at),
        m.AssistControl("a1", "c-alba", "sup-ana", "mode", "barge", at),
        m.AssistState(
            "a1", "c-alba", "sup-ana", "ready", "listen", at, "sip:c-alba@x;transport=tls"
        ),
        m.AssistState("a1", "c-alba", "sup-ana", "refused", "listen", at, reason="no_sip"),
    ):
        assert m.decode(m.encode(msg)) == msg
        d = json.loads(m.encode(msg))
        d["bridge"] = "future-field"  # a newer console's field is ignored
        assert m.decode(json.dumps(d).encode()) == msg
    bad = json.loads(m.encode(m.AssistRequest("a1", "c-alba", "sup-ana", "coach", "t" * 32, at)))
    for key, value in (("mode", "record"), ("token", "short"), ("counselor", "c/#")):
        with pytest.raises(m.MessageError):
            m.decode(json.dumps({**bad, key: value}).encode())


def test_ask_ready_live_mode_end_announced_and_audited_on_both_sides(agents):
    sup, sup_ev, c, c_ev = _on_call(agents)
    sid = sup.assist.start("c-alba", "listen")
    asked = c_ev.wait_event(ev.AssistAsked, timeout=10)[1]
    assert (asked.assist, asked.supervisor, asked.mode) == (sid, "sup-ana", "listen")
    assert len(asked.token) >= 16
    c_ev.wait_event(ev.AssistShown, fields(side="counselor", state="asked"))
    # the counselor's phone line took the grant: dial here
    c.assist.ready(sid, "sip:c-alba@centre.example;transport=tls")
    dial = sup_ev.wait_event(ev.AssistDial, timeout=10)[1]
    assert dial.token == asked.token and dial.uri.startswith("sip:c-alba@")
    # the leg is up (the wiring says so from the phone line)
    c.assist.live(sid, "listen")
    sup_ev.wait_event(ev.AssistShown, fields(side="supervisor", state="live", mode="listen"))
    c_ev.wait_event(ev.AssistShown, fields(side="counselor", state="live", supervisor="sup-ana"))
    # a mode change travels to the counselor's laptop, and back as the state
    assert sup.assist.set_mode("coach")
    ctl = c_ev.wait_event(ev.AssistControlAsked, timeout=10)[1]
    assert (ctl.action, ctl.mode) == ("mode", "coach")
    c.assist.mode_changed(sid, "coach")
    sup_ev.wait_event(ev.AssistShown, fields(side="supervisor", state="mode", mode="coach"))
    # the supervisor leaves
    assert sup.assist.stop() == sid
    c_ev.wait_event(ev.AssistControlAsked, fields(action="end"))
    c.assist.ended(sid)
    c_ev.wait_event(ev.AssistShown, fields(side="counselor", state="ended", reason="by_supervisor"))
    sup_ev.wait_event(ev.AssistShown, fields(side="supervisor", state="ended"))
    assert sup.assist.session is None and c.assist.session is None
    for agent, expected in (
        (c, ["assist.request", "assist.live", "assist.mode", "assist.end"]),
        (sup, ["assist.request", "assist.live", "assist.mode", "assist.end"]),
    ):
        audits = [x for x in agent.outbox.audits if x[0].startswith("assist.") and x[1] == sid]
        assert [x[0] for x in audits] == expected
        assert all("token" not in json.dumps(x[2]) for x in audits)


def test_a_refusal_reaches_the_supervisor_with_its_reason(agents):
    sup, sup_ev, c, c_ev = _on_call(agents)
    sid = sup.assist.start("c-alba", "barge")
    c_ev.wait_event(ev.AssistAsked, timeout=10)
    c.assist.refuse(sid, "no_sip")
    shown = sup_ev.wait_event(ev.AssistShown, fields(side="supervisor", state="refused"))[1]
    assert shown.reason == "no_sip" and "whisper" in a.reason_text(shown.reason)
    assert sup.assist.session is None
    # a second supervisor while one is on the call: refused as busy at the counselor
    sid2 = sup.assist.start("c-alba", "listen")
    c_ev.wait_event(ev.AssistAsked, fields(assist=sid2))
    ben, ben_ev = agents("supervisor", "sup-ben")
    wait_until(lambda: ben.connected and "c-alba" in ben.board.counselors, 15, "ben ready")
    ben.assist.start("c-alba", "listen")
    ben_ev.wait_event(ev.AssistShown, fields(side="supervisor", state="refused", reason="busy"))


def test_the_board_refuses_a_counselor_who_is_not_on_a_call(agents):
    sup, _sup_ev = agents("supervisor", "sup-ana")
    c, _c_ev = agents("counselor", "c-alba")
    wait_until(lambda: sup.connected and c.connected, timeout=15, what="connected")
    c.set_presence(statuses.AVAILABLE)
    wait_until(lambda: "c-alba" in sup.board.counselors, 10, "on the board")
    with pytest.raises(a.AssistRefused) as err:
        sup.assist.start("c-alba", "listen")
    assert err.value.code == "not_on_call"
    with pytest.raises(ValueError):
        sup.assist.start("c-alba", "record")


def test_a_console_that_never_answers_ends_the_ask_and_the_supervisor_is_told(agents):
    clock = FakeClock()
    sup, sup_ev = agents("supervisor", "sup-ana", clock=clock)
    c, c_ev = agents("counselor", "c-alba")
    wait_until(lambda: sup.connected and c.connected, timeout=15, what="connected")
    c.set_presence(statuses.ON_CALL, call_started_mono=0.0)
    wait_until(
        lambda: getattr(sup.board.counselors.get("c-alba"), "status", "") == statuses.ON_CALL,
        timeout=10,
        what="on call on the board",
    )
    c.assist.on_message = lambda *args: None  # an older Faro: it never answers
    sup.assist.start("c-alba", "listen")
    clock.advance(a.ASK_S + 1)
    shown = sup_ev.wait_event(ev.AssistShown, fields(side="supervisor", state="failed"))[1]
    assert shown.reason == "no_answer"
    assert sup.assist.session is None
