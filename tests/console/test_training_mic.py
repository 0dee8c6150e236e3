"""A practice call on the real console (offscreen) with the trainee's microphone: a private
PulseAudio, the microphone the monitor of a null sink ``faro_mic`` that espeak-ng speech is
played into as the "trainee", the headset's output the null sink ``faro_test`` (recorded
from its monitor). The caller speaks with espeak-ng, waits for the trainee, and the
trainee's own speech is in the call-health timeline and the debrief (docs/training.md)."""

from __future__ import annotations

import shutil
import time

import numpy as np
import pytest

from app.session import Session
from app.training import DebriefReady
from audio import speech
from audio.events import CallHealthSummary
from audio.service import LISTENING
from calls.model import Action, CallState, Command, Source
from calls.training import PracticeLineStarted
from console.commands.demo import demo_overrides
from console.main_window import MainWindow
from core.clock import SystemClock
from core.config import Config
from core.status import StatusReport
from tests.audio.test_audio_call_media import (  # the microphone: the null sink faro_mic
    MonitorRecorder,
    _play_into_mic,
    mic,  # noqa: F401 - a fixture, used by name below
)
from tests.support.toolkit import Recorder, wait_until

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng absent"),
    pytest.mark.skipif(shutil.which("pacat") is None, reason="pulseaudio-utils absent"),
]

SCENARIO = """[scenario]
id = "mic-check-en"
kind = "third_party"
language = "en"
difficulty = 1
title = "A short practice call"
brief = "Greet the caller, then listen."
ring_after_s = 0.5
length_s = 0

[[caller]]
at_s = 0.5
dur_s = 2.0
text = "Hello? Is anybody there?"

[[caller]]
at_s = 4.5
dur_s = 2.0
text = "Thank you. I needed to hear that."

[[counselor]]
at_s = 2.8
dur_s = 1.5
text = "I'm here. Take your time."
"""
TRAINEE = "I'm here with you. Take all the time you need, I am listening."


@pytest.mark.usefixtures("mic")
def test_the_trainees_microphone_and_a_spoken_caller_who_waits(
    qtbot, paths, tmp_path, pulse_server
):
    scenario = tmp_path / "mic-check-en.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    overrides = dict(
        demo_overrides("demo"),
        **{
            "storage.unlock_target_ms": 1,
            "calls.training": True,
            "calls.training_scenario": str(scenario),
            "audio.source": "device",
            "audio.near_device": "pulse",
            "audio.retry_s": 0.3,
        },
    )
    session = Session(Config(overrides), paths=paths, clock=SystemClock())
    session.service("store").init("correct horse battery staple 42")
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.show()
    rec = Recorder(session.bus, PracticeLineStarted, CallHealthSummary, DebriefReady, StatusReport)
    svc = session.service("audio")
    assert session.wiring.training.spoken and svc.practice is not None
    headset = MonitorRecorder(pulse_server, pulse_server.monitor)
    trainee = speech.synthesise(TRAINEE, "en-us", 48000)
    try:
        session.start()
        wait_until(
            lambda: (
                svc.status == LISTENING and svc._playback is not None and svc._playback.blocks > 20
            ),
            15,
            "the microphone and the headset's output open",
        )
        assert svc.snapshot().far_device is None  # no monitor input: the caller is Faro's
        wait_until(lambda: svc.practice.voice.startswith("espeak-ng"), 10, "the voice ready")
        assert any(
            r.component == "practice_caller" and "espeak-ng" in r.text for r in rec.of(StatusReport)
        )
        qtbot.waitUntil(lambda: session.calls.state is CallState.RINGING, timeout=10000)
        session.calls.handle(Command(Action.ANSWER, Source.UI))
        call_id = session.calls.call.id
        answered = session.calls.call.answered_mono
        _t, first = rec.wait_event(PracticeLineStarted, timeout=10)
        assert (first.call_id, first.index) == (call_id, 0)
        panel = window.training.panel
        qtbot.waitUntil(lambda: "anybody there" in panel.caption.text(), timeout=5000)
        # the caller's words reach the headset: speech on faro_test's monitor
        wait_until(
            lambda: np.abs(headset.audio()[-48000:]).max(initial=0) > 2000, 10, "the caller heard"
        )
        # the trainee answers when the caller stops, for longer than the script's 2 s gap
        wait_until(
            lambda: time.monotonic() - answered >= first.at_s + first.dur_s, 10, "line 0 said"
        )
        spoke_at = time.monotonic() - answered
        player = _play_into_mic(pulse_server, trainee)
        player.wait(20)
        trainee_end = spoke_at + trainee.size / 48000
        _t, second = rec.wait_event(PracticeLineStarted, lambda e: e.index == 1, timeout=15)
        # it waited for the trainee (not at the script's gap, 2 s after line 0) and a pause
        assert second.at_s > trainee_end, (second.at_s, trainee_end)
        assert second.at_s < trainee_end + 2.5
        print(f"trainee {spoke_at:.2f}-{trainee_end:.2f} s; caller's line 1 at {second.at_s:.2f} s")
        snap = svc.snapshot().health
        assert snap.near_talk_s > 2.0 and snap.far_talk_s > 1.5
        wait_until(
            lambda: time.monotonic() - answered > second.at_s + second.dur_s, 10, "line 1 said"
        )
        session.calls.handle(Command(Action.HANG_UP, Source.UI))
        qtbot.waitUntil(lambda: window._view.state is CallState.WRAP_UP, timeout=5000)
        _t, summary = rec.wait_event(CallHealthSummary, timeout=10)
        timeline = summary.figures["timeline"]
        assert sum(timeline["counselor_s"]) > 2.0  # the trainee's own speech, in the timeline
        assert sum(timeline["caller_s"]) > 2.0
        session.calls.handle(Command(Action.FINISH_WRAP_UP, Source.UI, disposition="support_given"))
        _t, ready = rec.wait_event(DebriefReady, timeout=10)
        debrief = ready.debrief
        print("timeline", timeline, "first words", debrief.first_response_s)
        assert debrief.near == "microphone"
        assert debrief.first_response_s is not None
        qtbot.waitUntil(lambda: window.training.sheet is not None, timeout=5000)
        figures = window.training.sheet.figures.text()
        assert "Talk: you" in figures and "No microphone" not in figures
    finally:
        headset.stop()
        session.stop()
