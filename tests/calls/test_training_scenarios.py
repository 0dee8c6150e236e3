"""The shipped training scenarios: each validates, plays through the simulated backend as
one practice call, and its caller is heard where it speaks and silent where it is meant to
be; a wrong file is refused line by line (calls/training.py)."""

from __future__ import annotations

import numpy as np
import pytest

from calls import training as t
from calls.backends.simulated import SimulatedBackend
from calls.machine import CallMachine
from calls.model import Action, CallState, Command, Source
from core.clock import FakeClock
from core.config import Config
from core.events import EventBus

SHIPPED = t.bundled_training()


def test_every_kind_in_both_languages_with_graded_difficulty():
    kinds = {(s.kind, s.language) for s in SHIPPED.values()}
    assert kinds == {(k, lang) for k in t.KINDS for lang in t.LANGUAGES}
    assert {s.difficulty for s in SHIPPED.values()} == {1, 2, 3}
    for s in SHIPPED.values():  # one scenario, two languages: the same expectations
        twin = SHIPPED[s.id.rsplit("-", 1)[0] + ("-en" if s.language == "es_MX" else "-es")]
        assert (twin.expect, twin.difficulty, twin.length_s) == (s.expect, s.difficulty, s.length_s)


def test_the_codes_expectations_may_name_are_the_records_own():
    from escalation.levels import LEVELS
    from storage.records import RESCUE_STEPS
    from storage.risk import LEVELS as RISK_LEVELS
    from storage.store import CaseStore

    assert t.RISK_LEVELS == RISK_LEVELS
    assert t.ESCALATION_LEVELS == LEVELS
    assert t.RESCUE_STEPS == tuple(RESCUE_STEPS)
    assert t.CALLER_FLAGS == CaseStore.CALLER_FLAGS


@pytest.mark.parametrize("scenario_id", sorted(SHIPPED))
def test_each_scenario_plays_through_the_simulated_backend(scenario_id):
    s = SHIPPED[scenario_id]
    clock = FakeClock()
    config = Config({"calls.training": True, "calls.ring_timeout_s": 60})
    machine = CallMachine(EventBus(), clock, config, SimulatedBackend(s.scenario(), clock))
    backend = machine.backend
    assert isinstance(backend, SimulatedBackend)
    machine.start()
    clock.advance(s.ring_after_s + 0.1)
    assert machine.state is CallState.RINGING
    call = machine.call
    assert call is not None and call.practice and call.caller_id.reveal() == s.caller_id
    machine.handle(Command(Action.ANSWER, Source.UI))
    script = backend.current_script()
    assert script is not None and script.audio == s.conversation_name
    if s.length_s:
        clock.advance(s.length_s - 1)
        assert machine.state is CallState.ON_CALL
        clock.advance(2)  # the scripted caller hangs up
    else:
        clock.advance(120)
        assert machine.state is CallState.ON_CALL  # only the trainee ends it
        machine.handle(Command(Action.HANG_UP, Source.UI))
    assert machine.state is CallState.WRAP_UP
    machine.handle(Command(Action.FINISH_WRAP_UP, Source.UI, disposition="support_given"))
    clock.advance(60)
    assert machine.state is CallState.AVAILABLE  # one practice call: nothing rings again


@pytest.mark.parametrize("scenario_id", ["silent-caller-es", "attempt-in-progress-en"])
def test_the_caller_speaks_and_is_silent_where_the_script_says(scenario_id):
    """The far side of the practice call, synthesised in memory (audio/synth.py)."""
    from app.training import conversation_of
    from audio.events import FAR
    from audio.frames import RATE

    s = SHIPPED[scenario_id]
    conv = conversation_of(s)

    def level(a: float, b: float) -> float:
        x = conv.render(FAR, int(a * RATE), int((b - a) * RATE))
        return float(20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12))

    spoken = next(x for x in s.caller if not x.silence)
    silence = next(x for x in s.caller if x.silence)
    assert level(spoken.at_s + 0.2, spoken.end_s - 0.2) > -35
    assert level(silence.at_s + 0.5, silence.end_s - 0.5) < -50  # line noise only


def test_a_wrong_file_is_refused_with_its_lines():
    text = "\n".join(
        [
            "[scenario]",
            'id = "x"',
            'kind = "prank"',
            'language = "en"',
            "difficulty = 4",
            'title = "t"',
            'brief = "b"',
            "length_s = 20",
            "[[caller]]",
            "at_s = 5",
            "dur_s = 3",
            'text = "hi"',
            "[[caller]]",
            "at_s = 6",
            "dur_s = 30",
            'text = "long"',
            "[expect]",
            'escalate = "panic"',
            'rescue = ["pray"]',
        ]
    )
    scenario, problems = t.check_training(text, "bad.toml")
    assert scenario is None
    joined = "\n".join(problems)
    assert "bad.toml line 3: unknown kind 'prank'" in joined
    assert "bad.toml line 5: difficulty must be 1, 2 or 3" in joined
    assert "bad.toml line 14: caller line 2 starts before line 1 ends" in joined
    assert "bad.toml line 14: caller line 2 ends after the call" in joined
    assert "bad.toml line 18: unknown escalate 'panic'" in joined
    assert "bad.toml line 19: rescue must list rescue step codes" in joined
    with pytest.raises(t.ScenarioError):
        t.parse_training(text, "bad.toml")
    _s, syntax = t.check_training("[scenario\n", "broken.toml")
    assert syntax[0].startswith("broken.toml line 1: not valid TOML")
    with pytest.raises(t.ScenarioError, match="no bundled training scenario"):
        t.load_training("nope")


def test_outside_training_mode_calls_are_real():
    clock = FakeClock()
    s = SHIPPED["third-party-en"]
    machine = CallMachine(EventBus(), clock, Config({}), SimulatedBackend(s.scenario(), clock))
    machine.start()
    clock.advance(s.ring_after_s + 0.1)
    assert machine.call is not None and not machine.call.practice
