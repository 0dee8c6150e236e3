"""The call state machine, driven by a fake clock and the scripted (simulated) backend."""

from __future__ import annotations

import threading

import pytest

from calls import events as ev
from calls.backends.companion import CompanionBackend
from calls.backends.simulated import Scenario, SimulatedBackend
from calls.machine import CallMachine
from calls.model import Action, CallState, Command, EndedBy, MissReason, Source
from core.config import Config
from core.errors import ConfigError

SCENARIO = """
[scenario]
name = "t"
[[calls]]
after_s = 2
caller_id = "+52 55 5555 0101"
talk_s = 30
[[calls]]
after_s = 1
caller_id = "555 0102"
abandon_after_s = 5
"""


@pytest.fixture
def rig(fake_clock, bus, recorder):
    backend = SimulatedBackend(Scenario.parse(SCENARIO), fake_clock)
    m = CallMachine(bus, fake_clock, Config.defaults(), backend)
    m.start()
    yield m, fake_clock, recorder, backend
    m.stop()


def test_scripted_call_rings_then_caller_hangs_up_after_talking(rig):
    m, clock, rec, backend = rig
    clock.advance(1.9)
    assert m.state is CallState.AVAILABLE
    clock.advance(0.2)
    assert m.state is CallState.RINGING
    assert len(rec.of(ev.IncomingCall)) == 1
    assert m.do(Action.ANSWER, Source.BUTTON_BOX)
    answered = rec.of(ev.CallAnswered)[0]
    assert answered.source is Source.BUTTON_BOX
    clock.advance(30)
    assert m.state is CallState.WRAP_UP
    ended = rec.of(ev.CallEnded)[0]
    assert ended.ended_by is EndedBy.CALLER
    assert ended.call.talk_seconds(0) == pytest.approx(30)


def test_unanswered_ring_is_a_missed_call(rig):
    m, clock, rec, _ = rig
    clock.advance(2)
    clock.advance(30)
    assert m.state is CallState.AVAILABLE
    missed = rec.of(ev.MissedCall)
    assert [x.reason for x in missed] == [MissReason.UNANSWERED]
    assert missed[0].rang_s == pytest.approx(30)
    assert m.history[-1].ended_by is EndedBy.SYSTEM


def test_caller_abandoning_while_ringing_is_recorded(rig):
    m, clock, rec, _ = rig
    clock.advance(2)
    m.do(Action.ANSWER)
    m.do(Action.HANG_UP)
    m.do(Action.FINISH_WRAP_UP, disposition="support_given")
    clock.advance(1)  # second scripted call rings
    assert m.state is CallState.RINGING
    clock.advance(5)
    assert m.state is CallState.AVAILABLE
    assert [x.reason for x in rec.of(ev.MissedCall)] == [MissReason.ABANDONED]


def test_hold_and_mute_and_their_totals(rig):
    m, clock, rec, backend = rig
    clock.advance(2)
    m.do(Action.ANSWER)
    m.do(Action.MUTE_TOGGLE)
    assert m.muted
    m.do(Action.HOLD)
    clock.advance(4)
    m.do(Action.HOLD)  # already on hold: no-op, accepted
    m.do(Action.RESUME)
    assert m.state is CallState.ON_CALL
    m.do(Action.HANG_UP, Source.HEADSET)
    assert not m.muted  # mute never outlives the call
    assert m.call.hold_s == pytest.approx(4)
    assert m.call.ended_by is EndedBy.COUNSELOR
    assert [e.muted for e in rec.of(ev.MuteChanged)] == [True, False]
    assert [a for a, _ in backend.actions] == [
        "answer",
        "mute",
        "hold",
        "resume",
        "hangup",
        "unmute",
    ]


@pytest.mark.parametrize(
    "action",
    [
        Action.HANG_UP,
        Action.HOLD_TOGGLE,
        Action.MUTE_TOGGLE,
        Action.ESCALATE,
        Action.FINISH_WRAP_UP,
        Action.END_BREAK,
        Action.ANSWER,
    ],
)
def test_actions_that_make_no_sense_are_rejected_with_a_reason(rig, action):
    m, clock, rec, _ = rig
    assert not m.do(action, Source.BUTTON_BOX)
    rejected = rec.of(ev.CommandRejected)
    assert rejected and rejected[0].action is action and rejected[0].reason
    assert m.state is CallState.AVAILABLE


def test_ringing_call_cannot_be_declined_unless_allowed(fake_clock, bus):
    backend = SimulatedBackend(Scenario.parse(SCENARIO), fake_clock)
    m = CallMachine(bus, fake_clock, Config({"calls.allow_decline": True}), backend)
    m.start()
    fake_clock.advance(2)
    assert m.do(Action.HANG_UP)
    assert m.state is CallState.AVAILABLE


def test_wrap_up_needs_a_disposition_and_break_waits_for_available(rig):
    m, clock, rec, _ = rig
    clock.advance(2)
    m.do(Action.ANSWER)
    m.do(Action.HANG_UP)
    assert not m.do(Action.START_BREAK)
    assert not m.do(Action.FINISH_WRAP_UP)
    assert m.do(Action.ESCALATE)  # escalation is allowed during wrap-up
    assert m.do(Action.FINISH_WRAP_UP, disposition="referred")
    assert rec.of(ev.WrapUpFinished)[0].call.disposition == "referred"
    assert m.do(Action.START_BREAK)
    clock.advance(60)
    assert m.state is CallState.BREAK  # no calls are offered during a break
    assert m.do(Action.END_BREAK)
    clock.advance(1)
    assert m.state is CallState.RINGING


def test_escalation_carries_call_and_level(rig):
    m, clock, rec, _ = rig
    clock.advance(2)
    m.do(Action.ANSWER)
    m.handle(Command(Action.ESCALATE, Source.BUTTON_BOX, level="urgent"))
    m.handle(Command(Action.ESCALATE, Source.KEYBOARD))
    reqs = rec.of(ev.EscalationRequested)
    assert [(r.level, r.source) for r in reqs] == [
        ("urgent", Source.BUTTON_BOX),
        ("consult", Source.KEYBOARD),
    ]
    assert reqs[0].call_id == m.call.id


def test_call_offered_while_busy_is_missed_as_busy(rig):
    m, clock, rec, _ = rig
    clock.advance(2)
    m.do(Action.ANSWER)
    m.on_incoming("555 0199")
    assert m.state is CallState.ON_CALL
    assert [x.reason for x in rec.of(ev.MissedCall)] == [MissReason.BUSY]


def test_state_events_only_on_transitions(rig):
    m, clock, rec, _ = rig
    clock.advance(2)
    m.do(Action.ANSWER)
    m.do(Action.ANSWER)  # again: rejected, no state event
    states = [(e.previous, e.state) for e in rec.of(ev.CallStateChanged)]
    assert states == [
        (CallState.AVAILABLE, CallState.RINGING),
        (CallState.RINGING, CallState.ON_CALL),
    ]


def test_companion_mode_call_starts_from_the_counselors_press(fake_clock, bus, recorder):
    m = CallMachine(bus, fake_clock, Config.defaults(), CompanionBackend())
    rec = recorder
    m.start()
    assert m.do(Action.ANSWER, Source.BUTTON_BOX)
    assert m.state is CallState.ON_CALL
    fake_clock.advance(12)
    m.do(Action.HANG_UP, Source.BUTTON_BOX)
    assert rec.of(ev.CallEnded)[0].call.talk_seconds(0) == pytest.approx(12)


def test_commands_from_many_threads_keep_the_machine_consistent(rig):
    m, clock, rec, _ = rig
    clock.advance(2)
    m.do(Action.ANSWER)
    threads = [
        threading.Thread(target=lambda: [m.do(Action.MUTE_TOGGLE) for _ in range(200)])
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    changes = rec.of(ev.MuteChanged)
    assert len(changes) == 800
    assert [c.muted for c in changes] == [i % 2 == 0 for i in range(800)]
    assert m.muted is False


def test_bad_scenarios_give_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="no \\[\\[calls\\]\\]"):
        Scenario.parse("[scenario]\nname='x'\n")
    with pytest.raises(ConfigError, match="numeric after_s"):
        Scenario.parse("[[calls]]\ncaller_id='1'\n")
    with pytest.raises(ConfigError, match="no bundled scenario"):
        Scenario.load("nope")
    with pytest.raises(ConfigError, match="Cannot read"):
        Scenario.load(str(tmp_path / "missing.toml"))
    assert Scenario.load("demo").repeat


def test_state_events_carry_what_a_view_renders(rig):
    """A view draws from CallStateChanged alone: the call now, muted, follows_counselor."""
    m, clock, rec, _ = rig
    clock.advance(2)
    ringing = rec.of(ev.CallStateChanged)[-1]
    assert ringing.state is CallState.RINGING and ringing.call is m.call
    assert ringing.call is not None and ringing.call.answered_mono is None
    assert not ringing.muted and not ringing.follows_counselor
    m.do(Action.ANSWER)
    m.do(Action.MUTE)
    m.do(Action.HOLD)
    held = rec.of(ev.CallStateChanged)[-1]
    assert held.state is CallState.ON_HOLD and held.muted
    assert held.call is not None and held.call.answered_mono is not None
    m.do(Action.HANG_UP)  # ending a call unmutes it first
    ended = rec.of(ev.CallStateChanged)[-1]
    assert ended.state is CallState.WRAP_UP and not ended.muted
    assert ended.call is not None and ended.call.ended_mono is not None
    m.do(Action.FINISH_WRAP_UP, disposition="referred")
    assert rec.of(ev.CallStateChanged)[-1].call is None
    now = m.state_event()
    assert (now.previous, now.state, now.call, now.muted) == (
        CallState.AVAILABLE,
        CallState.AVAILABLE,
        None,
        False,
    )


def test_companion_state_events_say_the_backend_follows_the_counselor(fake_clock, bus, recorder):
    m = CallMachine(bus, fake_clock, Config.defaults(), CompanionBackend())
    m.start()
    assert m.state_event().follows_counselor
    m.do(Action.ANSWER)
    assert recorder.of(ev.CallStateChanged)[-1].follows_counselor
    m.stop()


def test_every_action_has_a_handler():
    from calls.machine import _HANDLERS

    assert set(_HANDLERS) == set(Action)


def test_occupied_by_chats_the_backend_is_told_and_a_call_is_missed_as_busy(
    fake_clock, bus, recorder
):
    """app/chat_flow.py marks the machine occupied while chats are held: the backend hears
    "not available" (and "available" again after), a call offered meanwhile is missed as
    busy, and a break taken meanwhile does not say "available" when it ends."""

    class Told(CompanionBackend):
        def __init__(self) -> None:
            super().__init__()
            self.told: list[bool] = []

        def counselor_available(self, available: bool) -> None:
            self.told.append(available)

    backend = Told()
    m = CallMachine(bus, fake_clock, Config.defaults(), backend)
    m.start()
    assert backend.told == [True]
    m.set_occupied(True)
    m.set_occupied(True)  # said once
    assert backend.told == [True, False] and m.occupied
    m.on_incoming("+52 55 5555 0101")
    assert m.state is CallState.AVAILABLE
    assert recorder.of(ev.MissedCall)[-1].reason is MissReason.BUSY
    assert m.do(Action.START_BREAK) and m.do(Action.END_BREAK)
    assert backend.told == [True, False]  # still occupied: never "available"
    m.set_occupied(False)
    assert backend.told == [True, False, True]
    m.on_incoming("+52 55 5555 0102")
    assert m.state is CallState.RINGING
    m.stop()
