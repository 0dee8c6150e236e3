"""The call-health state machine on synthetic frame sequences, time from a FakeClock."""

from __future__ import annotations

import numpy as np
import pytest

from audio import events as ev
from audio.metrics import CallHealth, HealthSettings, results_stub

S, Q = True, False  # speech, quiet


class Rig:
    def __init__(self, clock, settings: HealthSettings | None = None) -> None:
        self.clock = clock
        self.events: list[tuple[float, object]] = []
        self.health = CallHealth(
            clock, lambda e: self.events.append((clock.monotonic(), e)), settings
        )
        self.health.start_call("c1")

    def feed(
        self,
        seconds: float,
        near: bool | None,
        far: bool | None,
        *,
        near_db: float = -30.0,
        far_db: float = -30.0,
        near_clip: float = 0.0,
    ) -> None:
        """``seconds`` of frames in 100 ms blocks; None = that side is absent."""
        n = int(round(seconds * 100))
        for i in range(0, n, 10):
            k = min(10, n - i)
            self.clock.advance(k * 0.01)
            a = results_stub(np.full(k, near), near_db, near_clip) if near is not None else None
            b = results_stub(np.full(k, far), far_db) if far is not None else None
            self.health.on_frames(a, b)

    def of(self, kind):
        return [(t, e) for t, e in self.events if isinstance(e, kind)]


@pytest.fixture
def rig(fake_clock):
    return Rig(fake_clock)


def test_talk_time_ratio_and_mutual_silence(rig):
    rig.feed(3.0, S, Q)
    rig.feed(2.0, Q, Q)
    rig.feed(5.0, Q, S)
    snap = rig.health.snapshot()
    assert snap.near_talk_s == pytest.approx(3.0) and snap.far_talk_s == pytest.approx(5.0)
    assert snap.talk_ratio == pytest.approx(3 / 8)
    assert snap.mutual_silence_s == 0.0
    rig.feed(1.5, Q, Q)
    assert rig.health.snapshot().mutual_silence_s == pytest.approx(1.5, abs=0.02)
    call_id, fig = rig.health.end_call()
    assert call_id == "c1"
    assert fig["counselor_talk_s"] == 3.0 and fig["caller_talk_s"] == 5.0
    assert fig["longest_mutual_silence_s"] == pytest.approx(2.0, abs=0.02)
    assert fig["mutual_silence_s"] == pytest.approx(3.5, abs=0.03)
    assert fig["talk_ratio"] == pytest.approx(0.375)
    assert rig.health.end_call() is None  # once only


def test_caller_silence_prompt_fires_once_and_clears_when_the_caller_speaks(fake_clock):
    rig = Rig(fake_clock, HealthSettings(caller_silence_s=20.0))
    rig.feed(2.0, Q, S)
    rig.feed(19.5, S, Q)  # counselor talking, caller silent 19.5 s: not yet
    assert not rig.of(ev.CallerSilenceLong)
    rig.feed(1.0, Q, Q)
    ((t, on),) = rig.of(ev.CallerSilenceLong)
    assert on.active and on.silent_s == pytest.approx(20.0, abs=0.02)
    rig.feed(10.0, Q, Q)  # still silent: no repeat
    assert len(rig.of(ev.CallerSilenceLong)) == 1
    rig.feed(0.5, Q, S)
    off = rig.of(ev.CallerSilenceLong)[-1][1]
    assert not off.active and len(rig.of(ev.CallerSilenceLong)) == 2
    assert rig.health.end_call()[1]["caller_silence_prompts"] == 1


def test_counselor_interrupting_the_caller(rig):
    rig.feed(2.0, Q, S)
    rig.feed(0.4, S, S)  # counselor starts over the caller: 400 ms overlap
    rig.feed(1.0, S, Q)  # and keeps going
    ((t, e),) = rig.of(ev.Interruption)
    assert e.who == "counselor" and e.overlap_s == pytest.approx(0.4, abs=0.011)
    assert rig.health.snapshot().interruptions_by_counselor == 1


def test_caller_interrupting_and_who_is_the_newcomer(rig):
    rig.feed(2.0, S, Q)
    rig.feed(0.6, S, S)
    assert [e.who for _, e in rig.of(ev.Interruption)] == ["caller"]
    fig = rig.health.end_call()[1]
    assert fig["interruptions_by_caller"] == 1 and fig["interruptions_by_counselor"] == 0


@pytest.mark.parametrize(
    "overlap,then_alone,expected",
    [
        (0.25, 1.0, 0),  # overlap under 300 ms: a back-channel, not an interruption
        (0.30, 0.0, 0),  # newcomer speaks only 300 ms in all
        (0.30, 0.2, 1),  # exactly 300 ms overlap and 500 ms of speech
        (0.30, 0.15, 0),
    ],
)
def test_interruption_thresholds(rig, overlap, then_alone, expected):
    rig.feed(2.0, Q, S)
    rig.feed(overlap, S, S)
    if then_alone:
        rig.feed(then_alone, S, Q)
    rig.feed(1.0, Q, Q)
    assert len(rig.of(ev.Interruption)) == expected


def test_muted_while_speaking_warns_within_two_seconds_and_clears(rig):
    rig.feed(1.0, Q, Q)
    rig.health.set_muted(True)
    start = rig.clock.monotonic()
    rig.feed(3.0, S, Q)
    ((t, on),) = rig.of(ev.MutedWhileSpeaking)
    assert on.active and t - start <= 2.0 and t - start >= 0.4
    assert rig.health.snapshot().muted_while_speaking
    rig.health.set_muted(False)  # unmuting clears it at once
    assert [e.active for _, e in rig.of(ev.MutedWhileSpeaking)] == [True, False]


def test_muted_warning_clears_after_silence_and_not_without_mute(rig):
    rig.feed(3.0, S, Q)  # speech while not muted: nothing
    assert not rig.of(ev.MutedWhileSpeaking)
    rig.health.set_muted(True)
    rig.feed(1.0, S, Q)
    rig.feed(2.5, Q, Q)
    assert [e.active for _, e in rig.of(ev.MutedWhileSpeaking)] == [True, False]


def test_dead_mic_prompt(rig):
    rig.feed(5.0, Q, S, near_db=-100.0)
    assert not rig.of(ev.DeadMic)
    rig.feed(3.5, Q, S, near_db=-100.0)
    ((t, on),) = rig.of(ev.DeadMic)
    assert on.active
    rig.feed(0.5, Q, Q, near_db=-60.0)  # the mic comes back (plugged in properly)
    assert [e.active for _, e in rig.of(ev.DeadMic)] == [True, False]


def test_no_dead_mic_while_muted(rig):
    rig.health.set_muted(True)
    rig.feed(20.0, Q, S, near_db=-100.0)
    assert not rig.of(ev.DeadMic)


def test_one_way_audio_prompt(rig):
    rig.feed(12.0, S, Q, far_db=-100.0)
    ((t, on),) = rig.of(ev.OneWayAudio)
    assert on.active and t == pytest.approx(
        1000.0 + 10.0, abs=0.11
    )  # published at the end of its 100 ms block
    rig.feed(1.0, Q, S, far_db=-30.0)
    assert [e.active for _, e in rig.of(ev.OneWayAudio)] == [True, False]
    assert rig.health.end_call()[1]["one_way_audio_prompts"] == 1


def test_no_one_way_prompt_when_the_far_side_is_absent(rig):
    rig.feed(30.0, S, None)
    assert not rig.of(ev.OneWayAudio) and not rig.of(ev.CallerSilenceLong)


def test_clipping_on_and_off(rig):
    rig.feed(2.0, S, Q, near_clip=0.05)
    on = rig.of(ev.Clipping)
    assert on and on[0][1].side == "near" and on[0][1].active
    rig.feed(5.0, S, Q, near_clip=0.0)
    assert [e.active for _, e in rig.of(ev.Clipping)] == [True, False]


def test_talking_more_than_listening(fake_clock):
    rig = Rig(fake_clock, HealthSettings(talk_ratio_limit=0.7, talk_ratio_after_s=60.0))
    rig.feed(50.0, S, Q)
    assert not rig.of(ev.TalkingMoreThanListening)  # not enough talk yet to judge
    rig.feed(15.0, S, Q)
    ((t, on),) = rig.of(ev.TalkingMoreThanListening)
    assert on.active and on.talk_ratio > 0.7
    rig.feed(60.0, Q, S)
    assert [e.active for _, e in rig.of(ev.TalkingMoreThanListening)] == [True, False]


def test_hold_pauses_the_figures(rig):
    rig.feed(2.0, S, Q)
    rig.health.set_on_hold(True)
    rig.feed(60.0, Q, Q)
    assert not rig.of(ev.CallerSilenceLong)
    rig.health.set_on_hold(False)
    rig.feed(1.0, Q, S)
    fig = rig.health.end_call()[1]
    assert fig["audio_s"] == pytest.approx(3.0) and fig["counselor_talk_s"] == 2.0


def test_ending_a_call_clears_active_prompts(rig):
    rig.health.set_muted(True)
    rig.feed(1.0, S, Q)
    rig.health.end_call()
    assert [e.active for _, e in rig.of(ev.MutedWhileSpeaking)] == [True, False]
    assert not rig.health.snapshot().in_call and not rig.health.snapshot().muted


def test_meters_update_outside_a_call(fake_clock):
    rig = Rig(fake_clock)
    rig.health.end_call()
    rig.feed(0.5, S, None, near_db=-25.0)
    snap = rig.health.snapshot()
    assert snap.near_speaking and snap.near_level_db == pytest.approx(-25.0) and not snap.in_call
    assert snap.near_talk_s == 0.0


def test_muted_speech_counts_only_at_the_counselors_own_talking_level(rig):
    """Talk from the room below the counselor's level (a TV the voice activity took for a
    moment) does not say "you are speaking while muted"; the counselor's own voice does."""
    rig.feed(4.0, S, Q, near_db=-28.0)  # the counselor talks, unmuted: the level is learnt
    rig.feed(1.0, Q, Q)
    rig.health.set_muted(True)
    rig.feed(3.0, S, Q, near_db=-42.0)  # 14 dB below: someone else in the room
    assert not rig.of(ev.MutedWhileSpeaking)
    rig.feed(2.5, Q, Q)
    start = rig.clock.monotonic()
    rig.feed(1.5, S, Q, near_db=-31.0)  # the counselor again, a little softer
    ((t, on),) = rig.of(ev.MutedWhileSpeaking)
    assert on.active and t - start <= 0.7
