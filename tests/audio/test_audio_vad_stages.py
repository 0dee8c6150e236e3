"""The stages of Faro's VAD pipeline (audio/vad/pipeline.py), each on its own."""

from __future__ import annotations

import numpy as np

from audio.frames import FRAME
from audio.vad.decision import Hysteresis, SpeakerLevel, decide
from audio.vad.levels import SourceWatch, levels_and_clip
from audio.vad.noise import NoiseTracker, noise_frames
from audio.vad.score import (
    NOT_SPEECH,
    ColdStart,
    SileroOnUncertain,
    silero_continues,
    silero_needed,
    speech_scores,
)
from audio.vad.spectral import BINS


def test_levels_are_dbfs_and_clipping_is_the_share_at_full_scale():
    frames = np.zeros((3, FRAME), np.int16)
    frames[1] = 3277  # a tenth of full scale
    frames[2, :40] = 32767
    _power, level, clip = levels_and_clip(frames, frames.astype(np.float32))
    assert level[0] < -95 and abs(level[1] + 20.0) < 0.01
    assert clip.tolist() == [0.0, 0.0, 0.25]


def test_signal_after_a_second_of_digital_silence_is_a_new_source():
    watch = SourceWatch(new_source_frames=100)
    loud, silent = np.full(10, -40.0), np.full(10, -100.0)
    assert watch.observe(loud) == (None, False)  # None: every frame is live
    for _ in range(9):
        live, new = watch.observe(silent)
        assert not new and not live.any()
    live, new = watch.observe(np.array([-100.0] * 9 + [-40.0]))  # 99 silent frames: same source
    assert not new and live.tolist() == [False] * 9 + [True]
    for _ in range(10):
        watch.observe(silent)
    assert watch.observe(np.array([-100.0] * 5 + [-40.0] * 5))[1]  # 105: a new one
    assert watch.silent_run == 0


def test_hysteresis_needs_the_onset_above_on_and_continues_above_off():
    h = Hysteresis(on_db=6.5, off_db=5.5, onset=2)
    decisions = []
    for score in (7.0, 5.0, 7.0, 7.0, 6.0, 5.6):
        h.step(score, hang_frames=0)
        decisions.append(h.speaking)
    assert decisions == [False, False, False, True, True, True]  # one frame above is no onset


def test_hang_over_keeps_the_region_open_then_ends_it():
    h = Hysteresis(6.5, 5.5, 1)
    h.step(7.0, 3)
    speaking = []
    for _ in range(5):
        h.step(0.0, 3)
        speaking.append(h.speaking)
    assert speaking == [True, True, True, False, False]
    assert h.run == 0


def test_evidence_is_the_frames_that_start_or_continue_a_region():
    h = Hysteresis(6.5, 5.5, 1)
    assert h.step(7.0, 0) and h.step(5.6, 5) and not h.step(5.0, 5)  # the last: hang-over only
    assert h.speaking


def test_speaker_level_rises_fast_and_falls_slowly():
    sp = SpeakerLevel()
    assert sp.learn(-30.0) == -30.0
    up = sp.learn(-10.0) - (-30.0)
    sp2 = SpeakerLevel()
    sp2.learn(-30.0)
    down = -30.0 - sp2.learn(-50.0)
    assert up > 10 * down > 0


def test_decide_gates_frames_far_below_the_speaker_and_learns_from_confident_ones():
    h = Hysteresis(6.5, 5.5, 1)
    speaker = SpeakerLevel()
    speaker.level_db = -20.0
    levels = [-20.0, -20.0, -50.0, -50.0]  # the last two: 30 dB below, another talker
    speech, evidence, region = decide(
        h, speaker, [9.0] * 4, [8.0] * 4, levels, 10.0, 24.0, hang_frames=0
    )
    assert speech == [True, True, False, False] and evidence == [True, True, False, False]
    assert region == speech
    assert speaker.level_db == -20.0


def test_a_region_starts_only_near_the_speaker_level_and_continues_on_softer_frames():
    """15 dB below the speaker: cannot start a region (another talker), but inside one it is
    evidence (the speaker's own soft syllables) until the hang-over after the last near frame."""
    speaker = SpeakerLevel()
    speaker.level_db = -20.0
    soft = [-35.0] * 6
    alone, _, _ = decide(
        Hysteresis(6.5, 5.5, 1), speaker, [9.0] * 6, [8.0] * 6, soft, 10.0, 24.0, 3
    )
    assert not any(alone)
    levels = [-20.0] * 3 + soft
    speech, evidence, region = decide(
        Hysteresis(6.5, 5.5, 1), speaker, [9.0] * 9, [8.0] * 9, levels, 10.0, 24.0, 3
    )
    assert region == [True] * 6 + [False] * 3
    assert speech == region  # three near frames: the whole hang-over of three
    assert evidence[:6] == [True] * 6
    assert speaker.level_db == -20.0  # soft frames never teach the speaker level


def test_softer_frames_after_the_last_near_one_are_evidence_only_for_the_tail():
    """A talker 15 dB down after the wearer stops: the region stays open for the hang-over,
    but only the first ``tail`` frames (the region score's own window) are evidence, so the
    offline segment ends with the wearer's word and its tail, not with the hang-over."""
    speaker = SpeakerLevel()
    speaker.level_db = -20.0
    levels = [-20.0] + [-35.0] * 8
    _, evidence, region = decide(
        Hysteresis(6.5, 5.5, 1, tail=2), speaker, [9.0] * 9, [8.0] * 9, levels, 10.0, 24.0, 6
    )
    assert region == [True] * 7 + [False, False]
    assert evidence == [True, True, True] + [False] * 6


def test_the_live_hang_over_is_never_longer_than_the_evidence_it_follows():
    """A loud syllable of a background talker (two frames near the wearer's level) opens a
    region; live, it is held ``hold`` (2) frames per evidence frame, four, not the whole
    hang-over. A word of the wearer's own
    (ten near frames) is held for all of it. The region (what the evidence is judged in and
    segments are cut from) is the same for both."""
    speaker = SpeakerLevel()
    speaker.level_db = -20.0
    hang = 6

    def run(near_frames: int) -> tuple[list[bool], list[bool]]:
        levels = [-20.0] * near_frames + [-60.0] * 10
        n = len(levels)
        scores = [9.0] * near_frames + [0.0] * 10
        live, _, region = decide(
            Hysteresis(6.5, 5.5, 2, hold=2.0), speaker, scores, [8.0] * n, levels, 10.0, 24.0, hang
        )
        return live, region

    live, region = run(2)
    assert region == [False, True] + [True] * hang + [False] * (10 - hang)
    assert live == [False, True] + [True] * 4 + [False] * 6
    live, region = run(10)
    assert region == [False] + [True] * (9 + hang) + [False] * (10 - hang)
    assert live == region


def test_there_is_no_absolute_level_floor():
    """A whisper at -75 dBFS is speech when it is this speaker's own level."""
    speaker = SpeakerLevel()
    speech, _, _ = decide(
        Hysteresis(6.5, 5.5, 1), speaker, [9.0] * 3, [8.0] * 3, [-75.0] * 3, 10.0, 24.0, 0
    )
    assert all(speech) and speaker.level_db == -75.0


def test_speech_scores_use_webrtc_while_cold_and_silero_only_adds():
    region = np.array([1.0, 1.0, 5.2, 7.0], np.float32)
    levels = [-30.0, -30.0, -30.0, -30.0]
    silero = np.array([-1.0, -1.0, 0.9, 0.1], np.float32)
    scores = speech_scores(region, levels, [1.0, 0.0], silero, floor_db=-40.0, on_db=6.5)
    assert scores == [6.5, NOT_SPEECH, 6.5, 7.0]


def test_cold_start_votes_only_on_the_first_frames_of_a_stream():
    cold = ColdStart(warmup_frames=15)
    frames = np.zeros((10, FRAME), np.int16)
    assert len(cold.votes(frames)) == 10 and len(cold.votes(frames)) == 5
    assert cold.votes(frames) == []
    cold.reset()
    assert len(cold.votes(frames)) == 10


class _Counting:
    """A stand-in Silero: counts the frames it is shown and its resets."""

    def __init__(self) -> None:
        self.seen = 0
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1

    def scores(self, frames: np.ndarray) -> np.ndarray:
        self.seen += frames.shape[0]
        return np.full(frames.shape[0], 0.9, np.float32)


def test_silero_is_asked_only_on_frames_it_can_change_and_keeps_its_state():
    engine = _Counting()
    strong = SileroOnUncertain(engine)  # type: ignore[arg-type]  # a duck-typed stand-in for Silero
    frames = np.zeros((10, FRAME), np.int16)
    none = np.zeros(10, bool)
    assert strong.probabilities(frames, none) is None  # nothing it could change
    need = none.copy()
    need[4:] = True
    probs = strong.probabilities(frames, need)
    assert probs is not None and (probs[:4] == -1).all() and (probs[4:] == np.float32(0.9)).all()
    assert strong.frames_run == 6 and engine.seen == 6  # no lead-in: the state is kept
    need = none.copy()
    need[1] = True
    probs = strong.probabilities(frames, need)
    assert probs is not None and strong.frames_run == 7
    assert (probs[[0] + list(range(2, 10))] == -1).all()
    assert engine.resets == 1  # only when the stream started
    assert SileroOnUncertain(None).probabilities(frames, need) is None


def test_silero_is_needed_where_the_cheap_score_is_unsure_and_the_frame_counts():
    region = np.array([4.0, 5.2, 5.2, 6.0, 7.0], np.float32)
    levels = np.array([-20.0, -20.0, -40.0, -20.0, -20.0], np.float32)
    out = silero_needed(region, levels, 5.0, 6.5, low_db=-30.0)
    assert out.tolist() == [False, True, False, True, False]  # too soft; already a start frame
    out = silero_continues(region, levels, 5.5, low_db=-44.0)
    assert out.tolist() == [True, True, True, False, False]  # inside: only frames under off


def test_noise_frames_are_quiet_or_called_non_speech_and_never_digital_silence():
    levels = np.array([-60.0, -50.0, -40.0, -30.0, -100.0], np.float32)
    speech = np.array([False, False, False, True, False])
    live = levels > -90
    mask = noise_frames(levels, -60.0, speech, live, [], quiet_margin_db=3.0, cap_db=12.0)
    assert mask.tolist() == [True, True, False, False, False]


def test_noise_tracker_skips_digital_silence():
    nt = NoiseTracker()
    power = np.ones((4, BINS), np.float32)
    fpower = np.full(4, 1e-6, np.float32)
    floor = nt.observe(
        power,
        fpower,
        np.array([-60.0, -100.0, -58.0, -100.0]),
        np.array([True, False, True, False]),
    )
    assert floor == -60.0
    assert nt.observe(power, fpower, np.full(4, -70.0), None) == -70.0  # None: all live
    assert NoiseTracker().observe(power, fpower, np.full(4, -100.0), np.zeros(4, bool)) == -90.0
