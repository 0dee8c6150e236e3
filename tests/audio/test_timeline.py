"""The talk/listen timeline of the call-health figures (audio/detectors.py ``Timeline``),
driven like tests/audio/test_audio_metrics.py: synthetic VAD frames, a FakeClock."""

from __future__ import annotations

import json

import numpy as np
import pytest

from audio.detectors import Timeline
from audio.metrics import CallHealth, HealthSettings, results_stub

S, Q = True, False


def feed(clock, health: CallHealth, seconds: float, near: bool, far: bool | None) -> None:
    n = int(round(seconds * 100))
    for i in range(0, n, 10):
        k = min(10, n - i)
        clock.advance(k * 0.01)
        b = results_stub(np.full(k, far)) if far is not None else None
        health.on_frames(results_stub(np.full(k, near)), b)


def run(clock, settings: HealthSettings | None = None) -> CallHealth:
    health = CallHealth(clock, lambda e: None, settings)
    health.start_call("c1")
    return health


def test_buckets_hold_each_sides_talk_overlap_mute_and_hold(fake_clock):
    h = run(fake_clock)
    feed(fake_clock, h, 10.0, S, Q)  # bucket 0: counselor
    feed(fake_clock, h, 10.0, Q, S)  # bucket 1: caller
    feed(fake_clock, h, 4.0, S, S)  # bucket 2: 4 s at once...
    h.set_muted(True)
    feed(fake_clock, h, 6.0, S, Q)  # ...then muted, still speaking
    h.set_muted(False)
    h.set_on_hold(True)
    fake_clock.advance(10.0)  # bucket 3: on hold, no frames count
    h.set_on_hold(False)
    feed(fake_clock, h, 5.0, Q, Q)  # bucket 4: half of it silent
    call_id, figures = h.end_call()
    tl = figures["timeline"]
    assert call_id == "c1" and tl["bucket_s"] == 10.0
    assert tl["counselor_s"] == pytest.approx([10, 0, 10, 0, 0], abs=0.02)
    assert tl["caller_s"] == pytest.approx([0, 10, 4, 0, 0], abs=0.02)
    assert tl["both_s"] == pytest.approx([0, 0, 4, 0, 0], abs=0.02)
    assert tl["muted"] == [False, False, True, False, False]
    assert tl["on_hold"] == [False, False, False, True, False]
    # the caller was silent 10 s before speaking, then 6 s before the hold, 5 s after it
    assert figures["longest_caller_silence_s"] == pytest.approx(10.0, abs=0.02)
    # the keys that were there before are unchanged
    assert figures["counselor_talk_s"] == pytest.approx(20.0, abs=0.02)
    assert figures["caller_talk_s"] == pytest.approx(14.0, abs=0.02)
    assert figures["muted_speech_warnings"] == 1
    assert sum(tl["counselor_s"]) == pytest.approx(figures["counselor_talk_s"], abs=0.02)
    json.dumps(figures)  # stored as JSON by app/wiring.py: numbers and booleans only


def test_a_long_call_doubles_the_bucket_and_stays_under_the_limit(fake_clock):
    h = run(fake_clock, HealthSettings(timeline_bucket_s=10.0, timeline_max_buckets=180))
    for _minute in range(70):  # 70 minutes: 420 buckets of 10 s would be too many
        feed(fake_clock, h, 30.0, S, Q)
        feed(fake_clock, h, 30.0, Q, S)
    figures = h.end_call()[1]
    tl = figures["timeline"]
    assert tl["bucket_s"] == 40.0  # 10 → 20 → 40
    assert len(tl["counselor_s"]) <= 180
    assert len(tl["counselor_s"]) == 105  # 4200 s / 40 s
    assert sum(tl["counselor_s"]) == pytest.approx(2100.0, abs=0.1)
    assert sum(tl["caller_s"]) == pytest.approx(2100.0, abs=0.1)
    assert all(c <= tl["bucket_s"] + 1e-6 for c in tl["counselor_s"])


def test_merging_keeps_flags_and_counts():
    t = Timeline(bucket_s=1.0, max_buckets=4)
    t.new_call(0.0)
    t.set_on_hold(True, 1.5)
    t.set_on_hold(False, 1.8)
    for k in range(500):  # 5 s of counselor speech
        t.frame((k + 1) * 0.01, True, False, True)
    fig = t.figure(5.0)
    assert fig["bucket_s"] == 2.0
    assert fig["counselor_s"] == pytest.approx([2.0, 2.0, 1.0])
    assert fig["on_hold"] == [True, False, False]


def test_no_caller_side_means_no_caller_silence(fake_clock):
    h = run(fake_clock)
    feed(fake_clock, h, 12.0, S, None)
    figures = h.end_call()[1]
    assert figures["longest_caller_silence_s"] is None
    assert figures["timeline"]["caller_s"] == [0.0, 0.0]


def test_an_empty_call_has_an_empty_timeline(fake_clock):
    h = run(fake_clock)
    figures = h.end_call()[1]
    assert figures["timeline"]["counselor_s"] == []
    assert figures["timeline"]["muted"] == []
