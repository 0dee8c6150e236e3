"""``faro demo``: the box's Answer answers every ring of the demo scenario (issue 9).

A real Session as the demo builds it (simulated calls from calls/scenarios/demo.toml, the
store, audio, escalation), the simulator on a pty at the demo's link, and the demo's call
timing on a fake clock, as tests/console/test_demo_devices.py does. The link's times are
the demo's scaled down fivefold (heartbeat 0.1 s: the box gives a silent host up after
0.4 s), so that the counselor's moment of reaching for the button is short.

Before the fix the driver paced the link with the session's clock: while that clock stood
still (here between rings; in the soak, sped up) the box heard no heartbeat, went offline
and dropped the press as "nobody listens", while the console still said "connected"; and
when it jumped, the driver declared the talking box gone and the press in flight was lost
in the reconnect. The press had no effect and nothing said so.
"""

from __future__ import annotations

import pytest

from app.session import Session
from calls.backends.simulated import Scenario
from calls.events import CallStateChanged, CommandRejected, MissedCall
from calls.model import Action, CallState, Source
from console.commands.demo import demo_overrides
from core.config import Config
from devices import events as ev
from devices.buttonbox.simulator import ButtonBoxSimulator
from tests.support.buttonbox_helpers import box_hears_host_for
from tests.support.toolkit import Recorder, wait_until


@pytest.fixture
def demo(paths, fake_clock):
    box = ButtonBoxSimulator(paths.state_dir / "faro-buttonbox").start()
    overrides = dict(
        demo_overrides("demo"),
        **{
            "devices.buttonbox.port": box.path,
            "storage.unlock_target_ms": 1,
            "devices.buttonbox.heartbeat_s": 0.1,
            "devices.buttonbox.heartbeat_timeout_s": 0.5,
        },
    )
    session = None
    try:
        session = Session(Config(overrides), paths=paths, clock=fake_clock)
        session.service("store").init("una frase larga de prueba")
        rec = Recorder(
            session.bus,
            CallStateChanged,
            CommandRejected,
            MissedCall,
            ev.ButtonPressed,
            ev.PressIgnored,
            ev.ButtonBoxConnected,
            ev.ButtonBoxDisconnected,
        )
        session.start()
        yield session, box, rec
    finally:
        if session is not None:
            session.stop()
        box.stop()


def answer_led(box: ButtonBoxSimulator) -> str:
    return dict((name, mode) for name, mode, _colour in box.leds)["answer"]


def counselor_reaches_for_the_button(box: ButtonBoxSimulator) -> None:
    """Real time passes with the session clock standing still: until the box has gone on
    hearing the host for 0.6 s (more than it waits for a silent host)."""
    box_hears_host_for(box, 600, 3)


def test_the_box_answers_every_ring_of_the_demo_scenario(demo, fake_clock):
    session, box, rec = demo
    assert rec.wait_count(ev.ButtonBoxConnected, 1)
    scenario = Scenario.load("demo")
    assert len(scenario.calls) == 3
    for ring, script in enumerate(scenario.calls, 1):
        fake_clock.advance(script.after_s)  # the next call rings after_s after "available"
        assert session.calls.state is CallState.RINGING, ring
        assert wait_until(lambda: answer_led(box) == "blink_fast"), ring
        counselor_reaches_for_the_button(box)
        box.press("answer")
        assert rec.wait_for(lambda: session.calls.state is CallState.ON_CALL, 3), (
            f"ring {ring}: the box's Answer was ignored"
        )
        assert session.calls.call.answered_at is not None
        box.press("hangup")
        # its events are all out (the press is published last): the wrap-up's, published
        # here, tell the backend at once that the counselor is available again
        assert rec.wait_count(ev.ButtonPressed, 2 * ring)
        assert session.calls.state is CallState.WRAP_UP
        assert session.calls.do(Action.FINISH_WRAP_UP, disposition="support_given")
    presses = [(e.button, e.action) for e in rec.of(ev.ButtonPressed)]
    assert presses == [("answer", Action.ANSWER), ("hangup", Action.HANG_UP)] * 3
    assert rec.of(MissedCall) == [] and rec.of(CommandRejected) == []
    assert rec.of(ev.ButtonBoxDisconnected) == [] and len(rec.of(ev.ButtonBoxConnected)) == 1


def test_a_box_press_that_cannot_act_says_why(demo):
    session, box, rec = demo
    assert rec.wait_count(ev.ButtonBoxConnected, 1)
    assert session.calls.state is CallState.AVAILABLE  # nothing rings yet
    box.press("answer")
    assert rec.wait_count(ev.ButtonPressed, 1)
    (refused,) = rec.of(CommandRejected)
    assert (refused.action, refused.source) == (Action.ANSWER, Source.BUTTON_BOX)
    assert refused.reason == "There is no call ringing."
    box.press("help")  # a tap: Help acts on a long press
    assert rec.wait_count(ev.PressIgnored, 1)
    (ignored,) = rec.of(ev.PressIgnored)
    assert (ignored.button, ignored.gesture, ignored.reason) == (
        "help",
        "press",
        "needs_long_press",
    )
    assert "hold it" in ignored.message
    assert session.calls.state is CallState.AVAILABLE
