"""The audio service in a real session: simulated source, call events, no sound card."""

from __future__ import annotations

import time

import numpy as np
import pytest

from app.session import Session
from audio import events as ev
from audio.service import NO_DEVICE, SIMULATED, AudioService
from calls.model import Action, Command, Source
from core.config import Config
from tests.support.toolkit import Recorder, wait_until


def _pump(svc: AudioService, clock, seconds: float, step: float = 0.1) -> None:
    """Advance the fake clock and let the simulated source and the worker keep up."""
    for _ in range(int(round(seconds / step))):
        clock.advance(step)
        svc.sim.pump()
        wait_until(lambda: svc.queue.unfinished_tasks == 0, 5, "the worker took every block", 0.002)


@pytest.fixture
def sim_session(paths, fake_clock):
    cfg = Config(
        {
            "calls.backend": "simulated",
            "audio.source": "simulated",
            "audio.caller_silence_s": 8.0,
            "calls.scenario": "demo",
        }
    )
    session = Session(cfg, paths=paths, clock=fake_clock)
    rec = Recorder(session.bus)
    svc = session.service("audio")
    svc.sim.start = lambda: None  # the test paces the source by the fake clock itself
    session.start()
    yield session, svc, rec
    session.stop()


def test_demo_call_runs_the_check_in_script_and_ends_with_a_summary(sim_session, fake_clock):
    session, svc, rec = sim_session
    assert svc.status == SIMULATED
    _pump(svc, fake_clock, 3.2)  # the demo scenario rings after 3 s
    session.calls.handle(Command(Action.ANSWER, Source.UI))
    assert session.calls.backend.current_script().audio == "check_in"
    _pump(svc, fake_clock, 26.0)  # the caller stops at 14 s; 8 s later: prompt
    snap = svc.snapshot().health
    assert snap.in_call and snap.far_present and snap.near_talk_s > 3 and snap.far_talk_s > 5
    prompts = rec.of(ev.CallerSilenceLong)
    assert prompts and prompts[0].active
    session.calls.handle(Command(Action.MUTE, Source.UI))
    _pump(svc, fake_clock, 2.5)  # the counselor speaks at 26-28 s while muted
    assert [e.active for e in rec.of(ev.MutedWhileSpeaking)][:1] == [True]
    call_id = session.calls.call.id
    session.calls.handle(Command(Action.HANG_UP, Source.UI))
    (summary,) = rec.of(ev.CallHealthSummary)
    assert summary.call_id == call_id
    f = summary.figures
    assert 3 < f["counselor_talk_s"] < 10 and 5 < f["caller_talk_s"] < 12
    assert f["caller_silence_prompts"] == 1 and f["muted_speech_warnings"] == 1, sorted(f.items())
    assert f["device_losses"] == 0 and f["engine"] == "faro"


def test_interruptions_script_finds_who_interrupted_whom(paths, fake_clock):
    cfg = Config({"calls.backend": "simulated", "audio.source": "simulated"})
    session = Session(cfg, paths=paths, clock=fake_clock)
    rec = Recorder(session.bus)
    svc = session.service("audio")
    svc.sim.start = lambda: None
    session.start()
    try:
        from audio.simulated import SimulatedSource

        svc.sim._script_name = lambda: "interruptions"
        svc.sim.start_call()
        svc.health.start_call("x")
        _pump(svc, fake_clock, 29.0)
        who = [e.who for e in rec.of(ev.Interruption)]
        assert who == ["counselor", "caller"], who
    finally:
        session.stop()
    assert isinstance(svc.sim, SimulatedSource)


def test_feed_far_from_a_telephony_backend_is_paired_with_the_mic(bus, fake_clock):
    from audio import synth

    svc = AudioService(Config({"audio.source": "simulated"}), fake_clock, bus)
    svc.sim.start = lambda: None
    svc.start()
    try:
        svc.health.start_call("t")
        speech8k = synth.utterance(1.5, seed=3, rate=8000)
        for i in range(0, speech8k.size, 160):  # 20 ms blocks at 8 kHz, like an RTP tap
            assert svc.feed_far(speech8k[i : i + 160], 8000)
            fake_clock.advance(0.02)
            svc.sim.pump()
        wait_until(
            lambda: svc.snapshot().health.far_talk_s > 1.0, 5, "the fed caller audio is heard"
        )
    finally:
        svc.stop()
        svc.stop()  # idempotent


def test_a_session_starts_with_no_sound_card(paths, monkeypatch):
    """No PulseAudio, no card: the session starts, the status says so, and it keeps retrying."""
    monkeypatch.setenv("PULSE_SERVER", "unix:/nonexistent/faro-no-pulse")
    cfg = Config({"audio.retry_s": 0.2, "audio.near_device": "usb:0000:0000"})
    session = Session(cfg, paths=paths)
    rec = Recorder(session.bus)
    svc = session.service("audio")
    tries = []
    orig = svc._open_missing
    svc._open_missing = lambda want_far: (tries.append(1), orig(want_far))[1]
    session.start()
    try:
        wait_until(
            lambda: svc.status == NO_DEVICE and len(tries) >= 3, 10, "three retries with no device"
        )
        snap = svc.snapshot()
        assert snap.near_device is None and "No audio device" in snap.status_text
        from core.status import StatusReport

        assert any(r.component == "audio" for r in rec.of(StatusReport))
    finally:
        t0 = time.monotonic()
        session.stop()
        assert time.monotonic() - t0 < 5


def test_attach_adds_the_service_and_is_cheap(paths):
    session = Session(Config.defaults(), paths=paths)
    svc = session.service("audio")
    assert isinstance(svc, AudioService) and svc._threads == []
    session.stop()
    np.testing.assert_equal(svc.snapshot().dropped_blocks, 0)
