"""Live assistance over real SIP: a supervisor's leg joins the counselor's call only with a
one-time grant, and Faro's mix gives each mode its meaning (listen: nobody hears the
supervisor; coach: only the counselor; barge: everyone). Real engines on a real Kamailio;
the supervisor's leg is a separate engine process dialling with the grant's header."""

from __future__ import annotations

import time

import numpy as np
import pytest

from calls import events as ev
from calls.model import CallState
from calls.sip.settings import ASSIST_HEADER
from tests.calls.sip_rig import levels, phone, rig
from tests.calls.test_sip_calls import _ring_and_answer, _speak
from tests.support.toolkit import Recorder, wait_until

pytestmark = pytest.mark.timeout(150)


def _db(blocks: list[np.ndarray]) -> float:
    x = np.concatenate(blocks).astype(np.float64) / 32768 if blocks else np.zeros(1)
    return float(20 * np.log10(np.sqrt(np.mean(x * x)) + 1e-9))


def _heard(p, seconds: float, play) -> tuple[float, float]:
    """(far side for the VAD, what the counselor hears) in dBFS while ``play()`` sounds."""
    far: list[np.ndarray] = []
    heard: list[np.ndarray] = []
    p.backend.media.on_far(far.append)
    p.backend.media.on_heard(heard.append)
    play()
    time.sleep(0.5)
    far.clear(), heard.clear()
    time.sleep(seconds - 0.8)
    f, h = list(far), list(heard)
    return _db(f), _db(h)


def _rx(party, since: float, a: float, b: float) -> float:
    party.send(op="rx_report", since=since)
    return float(np.median(levels(party.wait("rx")["frames"], since + a, since + b)))


def test_a_leg_without_a_grant_is_refused_and_the_call_goes_on(tmp_path):
    with rig(tmp_path) as r, phone(r.settings()) as p:
        rec = Recorder(p.bus, ev.AssistLeg, ev.MissedCall)
        p.wait_line("registered")
        with r.peer() as caller, r.peer("sup") as sup:
            sup.wait("registered")
            _ring_and_answer(p, caller, r)
            sup.send(op="dial", uri=r.counselor_uri(), headers={ASSIST_HEADER: "forged"})
            sup.wait("closed", timeout=15)
            # a right token for another session does not open this one either
            assert p.backend.expect_assist("a1", "right-token", "listen") is None
            sup.send(op="dial", uri=r.counselor_uri(), headers={ASSIST_HEADER: "wrong"})
            sup.wait("closed", timeout=15)
            # a grant revoked (the supervisor left before the leg came) opens nothing
            assert p.backend.expect_assist("a2", "revoked-token", "listen") is None
            p.backend.revoke_assist("a2")
            sup.send(op="dial", uri=r.counselor_uri(), headers={ASSIST_HEADER: "revoked-token"})
            sup.wait("closed", timeout=15)
            assert p.machine.state is CallState.ON_CALL
            assert len(p.backend.pump._legs) == 1
            assert not rec.of(ev.AssistLeg) and not rec.of(ev.MissedCall)


def test_listen_coach_barge_each_mode_is_heard_as_it_says(tmp_path):
    with rig(tmp_path) as r, phone(r.settings()) as p:
        rec = Recorder(p.bus, ev.AssistLeg, ev.CallEnded)
        p.wait_line("registered")
        with r.peer() as caller, r.peer("sup") as sup:
            sup.wait("registered")
            _ring_and_answer(p, caller, r)
            assert p.backend.expect_assist("a1", "tok-1", "listen") is None
            sup.send(op="dial", uri=p.backend.own_uri, headers={ASSIST_HEADER: "tok-1"})
            sup.wait("established", timeout=20)
            live = rec.wait_event(ev.AssistLeg, timeout=10)[1]
            assert (live.side, live.assist, live.state, live.mode) == (
                "counselor",
                "a1",
                "live",
                "listen",
            )
            assert live.call_id == p.machine.call.id
            assert p.machine.state is CallState.ON_CALL  # still the caller's one call
            time.sleep(1.0)
            # listen: the supervisor hears the caller and the counselor ...
            caller.send(op="play", signal="tone", freq=440, secs=2.0)
            t0 = time.monotonic()
            time.sleep(2.0)
            assert _rx(sup, t0, 0.4, 1.8) > -35, "the supervisor hears the caller"
            t1 = time.monotonic()
            _speak(p.backend, 1.5)
            assert _rx(sup, t1, 0.4, 1.4) > -35, "the supervisor hears the counselor"
            # ... and nobody hears the supervisor
            far, heard = _heard(p, 2.0, lambda: sup.send(op="play", signal="tone", secs=2.0))
            assert heard < -55 and far < -55, (far, heard)
            # coach: the counselor hears the supervisor, the caller does not; the VAD does not
            assert p.backend.set_assist_mode("coach")
            t2 = time.monotonic()
            far, heard = _heard(p, 2.0, lambda: sup.send(op="play", signal="tone", secs=2.0))
            assert heard > -35 and far < -55, (far, heard)
            assert _rx(caller, t2, 0.4, 1.6) < -55, "the caller does not hear a coach"
            # barge: the caller hears the supervisor too
            assert p.backend.set_assist_mode("barge")
            time.sleep(0.3)
            sup.send(op="play", signal="tone", freq=600, secs=2.0)
            t3 = time.monotonic()
            time.sleep(2.0)
            assert _rx(caller, t3, 0.4, 1.6) > -35, "the caller hears a joined supervisor"
            modes = [e.mode for e in rec.of(ev.AssistLeg) if e.state == "mode"]
            assert modes == ["coach", "barge"]
            # the counselor ends the assistance: the call goes on with the caller alone
            assert p.backend.end_assist()
            sup.wait("closed", timeout=10)
            wait_until(lambda: not p.backend.assisted, 5, "the leg gone")
            ended = [e for e in rec.of(ev.AssistLeg) if e.state == "ended"]
            assert ended and ended[0].assist == "a1"
            assert p.machine.state is CallState.ON_CALL
            assert len(p.backend.pump._legs) == 1
            # the grant was for one leg: dialling again with it is refused
            sup.send(op="dial", uri=p.backend.own_uri, headers={ASSIST_HEADER: "tok-1"})
            sup.wait("closed", timeout=15)
            assert len(p.backend.pump._legs) == 1


def test_the_supervisors_leg_ends_with_the_call(tmp_path):
    with rig(tmp_path) as r, phone(r.settings()) as p:
        rec = Recorder(p.bus, ev.AssistLeg)
        p.wait_line("registered")
        with r.peer() as caller, r.peer("sup") as sup:
            sup.wait("registered")
            _ring_and_answer(p, caller, r)
            assert p.backend.expect_assist("a2", "tok-2", "coach") is None
            assert p.backend.assist_refusal() is None
            sup.send(op="dial", uri=p.backend.own_uri, headers={ASSIST_HEADER: "tok-2"})
            sup.wait("established", timeout=20)
            wait_until(lambda: p.backend.assisted, 5, "the leg mixed in")
            assert p.backend.assist_refusal() == "busy"
            assert not p.backend.consult("Supervisor")  # one extra leg at a time
            caller.send(op="hangup")
            sup.wait("closed", timeout=15)
            p.wait_state(CallState.WRAP_UP, timeout=15)
            wait_until(
                lambda: any(e.state == "ended" for e in rec.of(ev.AssistLeg)), 5, "ended told"
            )
            assert p.backend.assist_refusal() == "not_on_call"
            assert p.backend.expect_assist("a3", "tok-3", "listen") == "not_on_call"
