"""Handing a call to a supervisor: blind and attended transfer, and a three-way call in which
Faro mixes the audio (the basis for listen-in and barge later). Real engines on a real
Kamailio; the supervisor is a separate engine process that answers on its own."""

from __future__ import annotations

import time

import numpy as np
import pytest

from calls import events as ev
from calls.model import CallState, EndedBy
from tests.calls.sip_rig import levels, phone, rig
from tests.calls.test_sip_calls import _ring_and_answer, _speak
from tests.support.toolkit import Recorder, wait_until

pytestmark = pytest.mark.timeout(120)


def test_blind_transfer_to_the_supervisor(tmp_path):
    with rig(tmp_path) as r, phone(r.settings()) as p:
        rec = Recorder(p.bus, ev.CallEnded)
        p.wait_line("registered")
        with r.peer() as caller, r.peer("sup", auto_answer=True) as sup:
            sup.wait("registered")
            _ring_and_answer(p, caller, r)
            assert p.backend.transfer("Supervisor")
            sup.wait("incoming", timeout=20)
            sup.wait("established", timeout=20)
            p.wait_state(CallState.WRAP_UP, timeout=20)
            ended = rec.wait_event(ev.CallEnded, timeout=5)[1]
            assert ended.ended_by is EndedBy.TRANSFERRED
            # the caller and the supervisor now talk without Faro
            sup.send(op="play", signal="tone", freq=500, secs=1.5)
            t0 = time.monotonic()
            time.sleep(1.5)
            caller.send(op="rx_report", since=t0)
            assert np.median(levels(caller.wait("rx")["frames"], t0 + 0.3, t0 + 1.3)) > -30


def test_consult_then_three_way_then_back_to_the_caller(tmp_path):
    with rig(tmp_path) as r, phone(r.settings()) as p:
        p.wait_line("registered")
        with r.peer() as caller, r.peer("sup", auto_answer=True) as sup:
            sup.wait("registered")
            _ring_and_answer(p, caller, r)
            assert p.backend.consult("Supervisor")
            caller.wait("held", timeout=10)
            sup.wait("established", timeout=20)
            wait_until(lambda: len(p.backend.pump._legs) == 2, 10, "two legs")
            assert p.machine.state is CallState.ON_CALL  # the caller's call, for the machine
            assert p.backend.conference()
            caller.wait("resumed", timeout=10)
            time.sleep(1.0)
            # the caller speaks: the supervisor hears them through Faro's mix
            caller.send(op="play", signal="tone", freq=440, secs=2.0)
            t0 = time.monotonic()
            time.sleep(2.0)
            sup.send(op="rx_report", since=t0)
            sup_heard = levels(sup.wait("rx")["frames"], t0 + 0.4, t0 + 1.8)
            assert np.median(sup_heard) > -35, f"the supervisor hears the caller: {sup_heard}"
            # the counselor speaks: both hear it
            t1 = time.monotonic()
            _speak(p.backend, 1.5)
            for party in (caller, sup):
                party.send(op="rx_report", since=t1)
                heard = levels(party.wait("rx")["frames"], t1 + 0.4, t1 + 1.4)
                assert np.median(heard) > -35
            assert p.backend.drop_consult()
            sup.wait("closed", timeout=10)
            time.sleep(0.5)
            assert p.machine.state is CallState.ON_CALL
            assert len(p.backend.pump._legs) == 1


def test_attended_transfer_hands_the_caller_over(tmp_path):
    with rig(tmp_path) as r, phone(r.settings()) as p:
        rec = Recorder(p.bus, ev.CallEnded, ev.CallRefused)
        p.wait_line("registered")
        with r.peer() as caller, r.peer("sup", auto_answer=True) as sup:
            sup.wait("registered")
            _ring_and_answer(p, caller, r)
            assert p.backend.consult("Supervisor")
            sup.wait("established", timeout=20)
            wait_until(lambda: len(p.backend.pump._legs) == 2, 10, "two legs")
            time.sleep(0.5)
            assert p.backend.complete_transfer()
            p.wait_state(CallState.WRAP_UP, timeout=25)
            assert rec.wait_event(ev.CallEnded, timeout=5)[1].ended_by is EndedBy.TRANSFERRED
            caller.wait("transfer_call", timeout=10)


def test_the_supervisor_hanging_up_during_a_consult_brings_the_caller_back(tmp_path):
    with rig(tmp_path) as r, phone(r.settings()) as p:
        p.wait_line("registered")
        with r.peer() as caller, r.peer("sup", auto_answer=True) as sup:
            sup.wait("registered")
            _ring_and_answer(p, caller, r)
            assert p.backend.consult("Supervisor")
            caller.wait("held", timeout=10)
            sup.wait("established", timeout=20)
            time.sleep(1.0)
            sup.send(op="hangup")
            caller.wait("resumed", timeout=10)
            time.sleep(1.0)
            t0 = time.monotonic()
            _speak(p.backend, 1.5)
            caller.send(op="rx_report", since=t0)
            assert np.median(levels(caller.wait("rx")["frames"], t0 + 0.4, t0 + 1.4)) > -35
            assert p.machine.state is CallState.ON_CALL
