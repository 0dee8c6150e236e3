"""Training mode's spoken practice caller: espeak-ng in memory, the synthetic fallback, and
the caller's turn-taking against the trainee's voice activity on a fake clock
(audio/practice_caller.py, audio/speech.py; docs/training.md)."""

from __future__ import annotations

import os
import shutil
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from app.training import caller_script_of
from audio import speech
from audio.frames import RATE
from audio.metrics import results_stub
from audio.practice_caller import (
    ESPEAK,
    SYNTHETIC,
    CallerLine,
    CallerScript,
    TurnTaking,
)
from audio.service import PRACTICE_BLOCK_S, AudioService
from calls.media import RATE as MEDIA_RATE
from calls.training import PracticeLineStarted, bundled_training
from core.config import Config
from core.status import Level, StatusReport
from tests.support.toolkit import Recorder

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng absent")

_writes: list[str] = []
_watching = threading.Event()


def _audit(event: str, args: tuple) -> None:
    if _watching.is_set() and event == "open" and len(args) > 1:
        if isinstance(args[0], int) or str(args[0]).startswith("/dev/"):
            return  # a pipe's descriptor (stdin to espeak-ng, its stdout), /dev/null
        mode = args[1]
        flags = args[2] if len(args) > 2 else 0
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
        ):
            _writes.append(str(args[0]))


sys.addaudithook(_audit)


def _tree(folder: Path) -> set[str]:
    return {str(p) for p in folder.rglob("*")} if folder.exists() else set()


@needs_espeak
def test_espeak_speaks_both_languages_in_memory_only(paths, tmp_path, monkeypatch):
    """The WAV comes back on a pipe: no file is opened for writing by Faro, and nothing
    appears under the profile, espeak-ng's home, its temporary folder, or /tmp (where a
    sound-server client would make a ``pulse-*`` folder)."""
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    monkeypatch.setenv("HOME", str(home))  # where espeak-ng would keep anything of its own
    monkeypatch.setenv("TMPDIR", str(tmp))
    pulse_before = {n for n in os.listdir("/tmp") if n.startswith("pulse-")}
    profile_before = _tree(paths.data_dir.parent)
    _writes.clear()
    _watching.set()
    try:
        es = speech.synthesise("Ya me tomé las pastillas. No sé por qué le hablo.", "es-419", 48000)
        en = speech.synthesise(
            "I took the pills. I don't know why I'm calling.", speech.voice_for("en"), 16000
        )
    finally:
        _watching.clear()
    assert speech.voice_for("es_MX") == "es-419" and speech.voice_for("en") == "en-us"
    for audio, rate in ((es, 48000), (en, 16000)):
        assert audio.dtype == np.float32
        assert 1.5 < audio.size / rate < 8.0  # a sentence, at the asked rate
        voiced = audio[np.abs(audio) > 1e-3]
        assert abs(20 * np.log10(np.sqrt(np.mean(voiced**2))) - speech.LEVEL_DB) < 0.5
    assert _writes == []
    assert _tree(home) == set() and _tree(tmp) == set()
    assert {n for n in os.listdir("/tmp") if n.startswith("pulse-")} == pulse_before
    assert _tree(paths.data_dir.parent) == profile_before


def test_the_wav_of_a_pipe_is_parsed_with_placeholder_sizes():
    pcm = (np.sin(np.arange(2205) / 5) * 16000).astype("<i2").tobytes()
    header = (
        b"RIFF\x24\xf0\xff\x7fWAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00"
        + (22050).to_bytes(4, "little")
        + (44100).to_bytes(4, "little")
        + b"\x02\x00\x10\x00data\x00\xf0\xff\x7f"
    )
    samples, rate = speech.parse_wav(header + pcm)
    assert rate == 22050 and samples.size == 2205
    with pytest.raises(speech.SpeechUnavailable):
        speech.parse_wav(b"not a wav at all")


def test_without_espeak_the_caller_is_synthetic_with_a_one_line_status(tmp_path, monkeypatch, bus):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without espeak-ng
    speech._voices.cache_clear()
    assert speech.binary() is None
    scenario = bundled_training()["attempt-in-progress-es"]
    svc = AudioService(Config({"audio.source": "device"}), _clock(), bus)
    assert svc.set_practice_caller(caller_script_of(scenario))
    rec = Recorder(bus, StatusReport)
    practice = svc.practice
    assert practice is not None
    practice.synthesise_all()  # what faro-audio-voice does at start
    svc._practice_voice_ready()
    assert practice.voice == SYNTHETIC and "not installed" in practice.problem
    spoken = [i for i, x in enumerate(scenario.caller) if not x.silence]
    for i in spoken:  # the synthetic signal for each line's scripted length, at 48 kHz
        assert abs(practice._audio[i].size / MEDIA_RATE - scenario.caller[i].dur_s) < 0.3
    (report,) = rec.of(StatusReport)
    assert report.component == "practice_caller" and report.level is Level.WARNING
    assert "\n" not in report.text and "espeak-ng" in report.text


def _clock():
    from core.clock import FakeClock

    return FakeClock()


# -- turn-taking on a fake VAD activity sequence ------------------------------------------
LINES = (
    CallerLine(1.0, 2.0, "one"),
    CallerLine(3.0, 2.0, "two"),
    CallerLine(2.0, 10.0, silence=True),
    CallerLine(1.0, 2.0, "three"),
    CallerLine(1.5, 2.0, "four", interrupts=True),
)


def _play(
    trainee: list[tuple[float, float]], until: float = 60.0, outwait: bool = False
) -> list[tuple[int, float]]:
    """Run TurnTaking every 20 ms from t=0 with the trainee speaking in ``trainee``
    (start, end) spans; each entry's (index, start), every entry lasting its dur_s."""
    turns = TurnTaking(LINES, pause_s=0.5)
    turns.begin(0.0)
    starts = []
    for k in range(int(until / 0.02)):
        now = round(k * 0.02, 2)
        speaking = any(a <= now < b for a, b in trainee)
        i = turns.step(now, speaking)
        if i is not None:
            assert outwait or not speaking or LINES[i].interrupts, "talked over the trainee"
            turns.started(i, now, LINES[i].dur_s)
            starts.append((i, now))
    return starts


def test_a_silent_trainee_gets_the_scripts_own_gaps():
    assert _play([]) == [(0, 1.0), (1, 6.0), (2, 10.0), (3, 21.0), (4, 24.5)]


def test_the_caller_answers_a_pause_after_the_trainee_and_never_over_them():
    """Steps every 20 ms: the trainee's last voiced step of a span (a, b) is b - 0.02."""
    starts = _play([(0.3, 0.6), (3.5, 9.0), (12.0, 12.6), (15.0, 18.0), (27.0, 35.0)])
    assert [i for i, _t in starts] == [0, 1, 2, 3, 4]  # in order, each once
    at = dict(starts)
    # line 0 waits for the trainee's greeting, then 0.5 s of quiet
    assert at[0] == pytest.approx(0.58 + 0.5)
    # line 1: the trainee replied (3.5 to 9.0, line 0 ended at 3.08) past the script's 3 s
    # gap: the caller waited, and answers 0.5 s after the trainee stops
    assert at[1] == pytest.approx(8.98 + 0.5)
    # the meant silence starts after the trainee's "mm" (12.0 to 12.6) and a pause, and
    # lasts its 10 s though the trainee talks inside it (15 to 18)
    assert at[2] == pytest.approx(12.58 + 0.5)
    # line 3: nothing said since the silence ended (23.08): the script's 1 s gap
    assert at[3] == pytest.approx(at[2] + 10.0 + 1.0)
    # line 4 interrupts: at its 1.5 s gap after line 3's end, over the trainee (27 to 35)
    assert at[4] == pytest.approx(at[3] + 2.0 + 1.5) and 27.0 <= at[4] < 35.0


def test_a_trainee_who_never_stops_is_talked_over_after_20_s():
    """A VAD held open (a television in the room) must not freeze the practice call."""
    starts = _play([(0.0, 100.0)], until=30.0, outwait=True)
    assert starts == [(0, pytest.approx(1.0 + 20.0))]


def test_a_trainee_still_talking_when_the_caller_stops_is_answered_after_their_pause():
    starts = _play([(2.0, 4.5)])  # over the end of line 0 (1.0 to 3.0): the trainee interrupts
    assert starts[:2] == [(0, 1.0), (1, pytest.approx(4.48 + 0.5))]


def test_the_service_paces_the_caller_from_the_trainees_vad(bus):
    """The audio service's pacing on a FakeClock: the trainee's VAD decisions go through the
    call-health state machine, the caller's blocks to the far side, and the lines start in
    turn (PracticeLineStarted with their times after the answer)."""
    from core.clock import FakeClock

    clock = FakeClock()
    script = CallerScript(LINES[:2], "en", pause_s=0.5)
    svc = AudioService(Config({"audio.source": "device"}), clock, bus)
    assert svc.set_practice_caller(script)
    practice = svc.practice
    assert practice is not None
    for i, line in enumerate(script.lines):  # known lengths, without espeak-ng
        practice._audio[i] = np.full(int(line.dur_s * MEDIA_RATE), 0.1, np.float32)
    practice.voice = ESPEAK + ":en-us"
    rec = Recorder(bus, PracticeLineStarted)
    svc.health.start_call("call-1")
    svc._practice_call = "call-1"
    svc._practice_sent = clock.monotonic()
    practice.start_call(clock.monotonic())
    trainee = [(0.2, 0.5), (3.4, 6.0)]
    far = 0
    for k in range(int(12.0 / PRACTICE_BLOCK_S)):
        t = (k + 1) * PRACTICE_BLOCK_S
        clock.advance(PRACTICE_BLOCK_S)
        speaking = any(a <= t < b for a, b in trainee)
        svc.health.on_frames(results_stub(np.array([speaking, speaking])), None)
        far += svc.pump_practice()
    assert far == pytest.approx(12.0 / PRACTICE_BLOCK_S, abs=2)  # every block, no gaps
    got = [(e.call_id, e.index, e.at_s, e.dur_s) for e in rec.of(PracticeLineStarted)]
    assert [g[:2] for g in got] == [("call-1", 0), ("call-1", 1)]
    assert got[0][2] == pytest.approx(1.0, abs=0.05)  # 0.5 s after the greeting ended
    assert got[1][2] == pytest.approx(6.5, abs=0.05)  # after the reply 3.4-6.0 and a pause
    # the caller's blocks wait for the VAD's far side (no worker here: the queue fills)
    assert svc.queue.qsize() + svc._dropped_fed == far
    side, rate, block = svc.queue.get_nowait()
    assert (side, rate, block.size) == ("far", MEDIA_RATE, int(MEDIA_RATE * PRACTICE_BLOCK_S))


def test_old_and_new_scenario_fields(tmp_path):
    from calls.training import check_training

    text = """[scenario]
id = "x"
kind = "third_party"
language = "en"
difficulty = 1
title = "T"
brief = "B"
reply_pause_s = 0.8

[[caller]]
at_s = 1.0
dur_s = 2.0
text = "Hello?"
interrupts = true
"""
    scenario, problems = check_training(text, "x.toml")
    assert problems == [] and scenario is not None
    assert scenario.reply_pause_s == 0.8 and scenario.caller[0].interrupts
    script = caller_script_of(scenario)
    assert script.pause_s == 0.8 and script.lines[0].gap_s == 1.0 and script.lines[0].interrupts
    bad = text.replace("reply_pause_s = 0.8", "reply_pause_s = 9").replace(
        "interrupts = true", 'interrupts = "yes"'
    )
    _, problems = check_training(bad, "x.toml")
    assert sorted(problems) == [
        "x.toml line 14: interrupts must be true or false",
        "x.toml line 8: reply_pause_s must be a number from 0.2 to 3",
    ]
    for s in bundled_training().values():  # the shipped files, without the new fields
        assert s.reply_pause_s == 0.5 and not any(x.interrupts for x in s.caller)
    assert RATE == 16000


def test_muted_the_trainee_is_not_heard_and_on_hold_the_caller_waits(bus):
    from core.clock import FakeClock

    clock = FakeClock()
    svc = AudioService(Config({"audio.source": "device"}), clock, bus)
    assert svc.set_practice_caller(CallerScript(LINES[:2], "en", pause_s=0.5))
    practice = svc.practice
    assert practice is not None
    for i, line in enumerate(LINES[:2]):
        practice._audio[i] = np.full(int(line.dur_s * MEDIA_RATE), 0.1, np.float32)
    rec = Recorder(bus, PracticeLineStarted)
    svc.health.start_call("call-1")
    svc._practice_sent = clock.monotonic()
    practice.start_call(clock.monotonic())
    svc._practice_muted = True  # the trainee talks the whole time, muted
    for k in range(int(4.0 / PRACTICE_BLOCK_S)):
        clock.advance(PRACTICE_BLOCK_S)
        svc.health.on_frames(results_stub(np.array([True, True])), None)
        svc.pump_practice()
        if k == 100:  # 2.0 s, inside line 0 (1 s to 3 s): 10 s on hold
            svc._practice_hold = True
            clock.advance(10.0)
            svc.pump_practice()
            svc._practice_hold = False
    for _ in range(int(3.0 / PRACTICE_BLOCK_S)):
        clock.advance(PRACTICE_BLOCK_S)
        svc.pump_practice()
    starts = [(e.index, e.at_s) for e in rec.of(PracticeLineStarted)]
    # line 0 at its gap though the trainee talks (muted: not heard); line 1 at its 3 s gap
    # after line 0's end, which the 10 s hold moved from 3 s to 13 s
    # (to a 20 ms block or two)
    assert starts == [(0, pytest.approx(1.0, abs=0.05)), (1, pytest.approx(16.0, abs=0.05))]
