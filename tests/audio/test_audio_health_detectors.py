"""The per-signal detectors of the call-health state machine (audio/detectors.py), each alone,
driven by frame stamps (10 ms apart) instead of a clock."""

from __future__ import annotations

import pytest

from audio import events as ev
from audio.detectors import (
    CallerSilence,
    Clipping,
    Interruptions,
    MutedSpeech,
    NoSignal,
    TalkBalance,
    TalkTime,
)
from core.events import Event

F = 0.01  # one frame


def stamps(seconds: float, start: float = 0.0) -> list[float]:
    return [start + i * F for i in range(int(round(seconds / F)))]


def test_talk_time_counts_each_side_and_the_mutual_silences():
    talk = TalkTime()
    talk.new_call(0.0)
    for t in stamps(1.0):
        talk.frame(t, True, False)
    for t in stamps(2.0, 1.0):
        talk.frame(t, False, False)
    for t in stamps(1.0, 3.0):
        talk.frame(t, False, True)
    assert (talk.near_frames, talk.far_frames) == (100, 100)
    total, longest = talk.mutual_silence(4.5)
    assert longest == pytest.approx(2.0) and total == pytest.approx(2.0)  # the first started at 0
    talk.resume(5.0, anyone_speaking=False)
    assert talk.mutual_silence(6.0)[0] == pytest.approx(3.0)


def test_caller_silence_comes_on_after_the_limit_and_off_when_the_caller_speaks():
    silence, out = CallerSilence(limit_s=2.0), []
    silence.new_call(0.0)
    for t in stamps(2.5):
        silence.frame(t, False, True, "c", out)
    assert out == [ev.CallerSilenceLong("c", True, 2.0)] and silence.count == 1
    silence.frame(2.5, True, True, "c", out)
    assert out[-1] == ev.CallerSilenceLong("c", False, 0.0) and not silence.active


def test_caller_silence_is_not_judged_while_the_caller_is_not_heard():
    silence, out = CallerSilence(limit_s=1.0), []
    for t in stamps(3.0):
        silence.frame(t, False, False, "c", out)
    assert out == []


def _overlap(intr: Interruptions, near: list[bool], far: list[bool], out: list[Event]) -> None:
    near_was = far_was = False
    for i, (n, f) in enumerate(zip(near, far, strict=True)):
        intr.frame(i * F, n, f, n and not near_was, f and not far_was, "c", out)
        near_was, far_was = n, f


def test_an_interruption_is_an_overlap_and_the_newcomer_keeps_going():
    intr, out = Interruptions(overlap_s=0.3, holds_s=0.5), []
    caller = [True] * 100 + [False] * 100
    counselor = [False] * 50 + [True] * 150  # starts over the caller at 0.5 s, overlaps 0.5 s
    _overlap(intr, counselor, caller, out)
    assert [(e.who, e.overlap_s) for e in out] == [(ev.COUNSELOR, 0.5)]  # when it has held
    assert intr.counts == {ev.COUNSELOR: 1, ev.CALLER: 0}


def test_a_back_channel_is_no_interruption():
    intr, out = Interruptions(0.3, 0.5), []
    caller = [True] * 200
    counselor = [False] * 50 + [True] * 20 + [False] * 130  # "mm-hm": 200 ms
    _overlap(intr, counselor, caller, out)
    assert out == []


def test_muted_speech_warns_after_the_limit_and_clears_after_silence():
    muted, out = MutedSpeech(limit_s=0.5, clear_s=2.0), []
    for t in stamps(0.6):
        muted.frame(t, True, 0.0, "c", out)
    assert out == [ev.MutedWhileSpeaking("c", True)]
    for t in stamps(2.2, 0.6):
        muted.frame(t, False, 0.0, "c", out)
    assert out[-1] == ev.MutedWhileSpeaking("c", False) and muted.count == 1


def test_no_signal_is_a_dead_mic_after_the_limit_unless_excused():
    dead, out = NoSignal(ev.DeadMic, level_db=-85.0, limit_s=1.0), []
    for t in stamps(1.5):
        dead.frame(t, -100.0, False, "c", out)
    assert out == [ev.DeadMic("c", True)]
    dead.frame(1.5, -40.0, False, "c", out)
    assert out[-1] == ev.DeadMic("c", False)
    for t in stamps(3.0, 2.0):
        dead.frame(t, -100.0, True, "c", out)  # muted: no signal is expected
    assert len(out) == 2


def test_clipping_rate_has_hysteresis_and_ends_with_the_call():
    clip, out = Clipping(ev.NEAR, on=0.05, off=0.02), []
    for _ in range(10):
        clip.frame(True, "c", out)
    assert out == [ev.Clipping("c", ev.NEAR, True)] and clip.frames == 10
    for _ in range(20):
        clip.frame(False, "c", out)
    assert len(out) == 1  # 0.08 still above the off threshold
    clip.end("c", out)
    assert out[-1] == ev.Clipping("c", ev.NEAR, False) and not clip.clipping


def test_talk_balance_is_judged_only_after_enough_talk():
    talk, balance, out = TalkTime(), TalkBalance(limit=0.7, after_s=10.0), []
    talk.near_frames = 900
    balance.frame(talk, "c", out)
    assert out == []  # 9 s of talk in all: too early
    talk.near_frames, talk.far_frames = 900, 200
    balance.frame(talk, "c", out)
    assert out == [ev.TalkingMoreThanListening("c", True, 0.818)]
    talk.far_frames = 400  # 0.69: inside the band, stays on
    balance.frame(talk, "c", out)
    talk.far_frames = 700  # 0.5625: off
    balance.frame(talk, "c", out)
    assert [e.active for e in out] == [True, False]


def test_a_back_channel_stretched_by_the_hang_over_is_no_interruption():
    """The "mm" carries speech for 250 ms; the VAD's hang-over holds it 510 ms, past the
    500 ms hold: judged on the evidence, it is still a back-channel."""
    intr, out = Interruptions(0.3, 0.5), []
    caller = [True] * 200
    counselor = [False] * 50 + [True] * 51 + [False] * 99
    evidence = [False] * 50 + [True] * 25 + [False] * 125
    near_was = far_was = False
    for i, (n, f) in enumerate(zip(counselor, caller, strict=True)):
        intr.frame(i * F, n, f, n and not near_was, f and not far_was, "c", out, evidence[i], f)
        near_was, far_was = n, f
    assert out == []
    _overlap(intr, counselor, caller, out)  # without evidence: the decision alone counts
    assert [e.who for e in out] == [ev.COUNSELOR]
