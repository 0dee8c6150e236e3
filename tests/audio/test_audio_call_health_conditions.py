"""The call-health prompts end to end on the benchmark's conditions, with voices the pipeline
was never tuned on (bench/vad's ``report`` split: real recorded people of other languages).

Audio → Faro's VAD (with Silero where installed, as shipped) → ``CallHealth`` → prompts and
figures, compared with the same state machine driven by the truth. What a counselor must be
able to trust:
- a quiet or whispering caller who is talking is never called silent;
- the TV or family in the counselor's home is not counted as the counselor talking (talk
  time, talk/listen balance, interruptions by the counselor);
- "you are speaking while muted" comes when the counselor speaks muted, never from the TV.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest

from audio.analyze import run_engine
from audio.frames import FRAME_S
from audio.metrics import CallHealth, HealthSettings
from audio.vad import FaroVad, FrameResults
from bench.vad import conditions as cond
from bench.vad import dataset
from core.clock import FakeClock
from core.events import Event

BLOCK = 2  # frames per block, as the live service feeds them (20 ms)
CONVERSATIONS = 3
#: where Faro's pipeline still falls short (issue 14): in conversation 1 the wearer's first
#: words are soft (about -28 dBFS against a mean of -25) and the 4-6 talkers' babble peaks
#: reach -33: 5 dB apart, inside the start gate, for the first 8 s, and the babble's own frames
#: then pull the speaker level down further. Level is the only cue these mixes carry (no room,
#: no distance), and it does not separate them there. Strict: a pipeline that fixes one says
#: so here and the mark goes
SHORT_OF_TARGET = {
    ("talk", 1, "home15"),
    ("muted", 1, "home15"),
}


def _known_shortfall(request, what: str, i: int, name: str) -> None:
    if (what, i, name) in SHORT_OF_TARGET:
        request.applymarker(
            pytest.mark.xfail(
                strict=True,
                reason="issue 14: babble peaks within 5 dB of the wearer's soft first words "
                "open regions before the wearer's level is known",
            )
        )


@functools.cache
def _report_set() -> dataset.LabelledSet:
    return dataset.build_sets("report", quick=True)


@pytest.fixture(scope="module")
def report() -> dataset.LabelledSet:
    data = _report_set()
    if len(data.pools) < 4:
        pytest.skip(f"report voices missing ({'; '.join(data.notes)})")
    return data


@functools.cache
def _scene(name: str, i: int) -> cond.Scene:
    data = _report_set()
    ctx = cond.Context(data.pools, data.music)
    return cond.render(name, data.conversations[i], ctx, seed=9000 + 31 * i)


def _vad(x: np.ndarray, side: str) -> FrameResults:
    """Faro's pipeline on one channel, told its side as the service tells it."""
    return run_engine(FaroVad(side=side), x)


def _truth(t: np.ndarray) -> FrameResults:
    level = np.where(t, -26.0, -70.0).astype(np.float32)
    return FrameResults(
        t.copy(), t.copy(), level, np.zeros(t.size, np.float32), t.astype(np.float32), t.copy()
    )


def _cut(r: FrameResults, a: int, b: int) -> FrameResults:
    return FrameResults(*(getattr(r, f.name)[a:b] for f in dataclasses.fields(FrameResults)))


def _health(
    near: FrameResults,
    far: FrameResults,
    settings: HealthSettings,
    muted: np.ndarray | None = None,
) -> tuple[dict, list[tuple[float, Event]]]:
    """Drive the call-health machine frame block by frame block, as the audio worker does,
    muting and unmuting where ``muted`` says."""
    clock = FakeClock(start=0.0)
    events: list[tuple[float, Event]] = []
    health = CallHealth(clock, lambda e: events.append((clock.monotonic(), e)), settings)
    health.start_call("c")
    n = min(len(near.speech), len(far.speech))
    state = False
    for i in range(0, n, BLOCK):
        if muted is not None and bool(muted[i]) != state:
            state = bool(muted[i])
            health.set_muted(state)
        clock.advance(BLOCK * FRAME_S)
        health.on_frames(_cut(near, i, i + BLOCK), _cut(far, i, i + BLOCK))
    result = health.end_call()
    assert result is not None
    return result[1], events


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def _longest_silence_s(truth: np.ndarray) -> float:
    return max((b - a for a, b in _runs(~truth)), default=0) * FRAME_S


def _named(events: list[tuple[float, Event]], name: str) -> list[tuple[float, Event]]:
    return [(t, e) for t, e in events if type(e).__name__ == name and getattr(e, "active", True)]


@pytest.mark.parametrize("name", ["quiet20", "quiet30"])
@pytest.mark.parametrize("i", range(CONVERSATIONS))
def test_a_quiet_caller_who_is_talking_is_never_called_silent(report, name, i):
    s = _scene(name, i)
    # the prompt's threshold just above the longest silence the caller really left: any
    # prompt means the VAD lost the caller's words for longer than the caller was silent
    threshold = max(8.0, _longest_silence_s(s.far_truth) + 2.0)
    settings = HealthSettings(caller_silence_s=threshold)
    figures, events = _health(_vad(s.near, "near"), _vad(s.far, "far"), settings)
    assert not _named(events, "CallerSilenceLong"), (threshold, figures)
    said = s.far_truth.sum() * FRAME_S
    # heard as talking: most of what the caller said, however quietly
    assert figures["caller_talk_s"] > 0.85 * said, (figures["caller_talk_s"], said)
    # and the longest caller silence the summary reports is one that happened
    assert figures["longest_caller_silence_s"] < threshold


@pytest.mark.parametrize("name", ["home15", "home25", "tv15"])
@pytest.mark.parametrize("i", range(CONVERSATIONS))
def test_talk_in_the_counselors_home_is_not_counted_as_the_counselor(report, request, name, i):
    _known_shortfall(request, "talk", i, name)
    s = _scene(name, i)
    settings = HealthSettings()
    near, far = _vad(s.near, "near"), _vad(s.far, "far")
    figures, _ = _health(near, far, settings)
    truth, _ = _health(_truth(s.near_truth), _truth(s.far_truth), settings)
    turns = len(_runs(s.near_truth))
    # the live decision keeps each turn open for the 300 ms hang-over
    allowed = truth["counselor_talk_s"] * 1.1 + 0.3 * turns + 1.0
    assert figures["counselor_talk_s"] < allowed, (figures["counselor_talk_s"], truth)
    assert figures["counselor_talk_s"] > 0.8 * truth["counselor_talk_s"]
    assert abs(figures["talk_ratio"] - truth["talk_ratio"]) < 0.08, (figures, truth)
    # the background talkers do not make the counselor look like an interrupter
    assert figures["interruptions_by_counselor"] <= truth["interruptions_by_counselor"] + 1, (
        figures,
        truth,
    )


@pytest.mark.parametrize("name", ["home15", "tv15"])
@pytest.mark.parametrize("i", range(CONVERSATIONS))
def test_speaking_while_muted_comes_from_the_counselor_not_the_tv(report, request, name, i):
    _known_shortfall(request, "muted", i, name)
    s = _scene(name, i)
    settings = HealthSettings()
    near, far = _vad(s.near, "near"), _vad(s.far, "far")
    # muted through every stretch of 3 s or more where the counselor says nothing (the TV
    # and the family go on): "you are speaking while muted" must not come
    quiet = np.zeros(s.near_truth.size, bool)
    for a, b in _runs(~s.near_truth):
        a, b = a + 50, b - 50  # half a second away from the counselor's words
        if b - a >= 300:
            quiet[a:b] = True
    assert quiet.any()
    _, events = _health(near, far, settings, muted=quiet)
    assert not _named(events, "MutedWhileSpeaking"), [t for t, _ in events]
    # muted from the start: the counselor's first real turn raises it within a second
    start = _runs(s.near_truth)
    first = next(a for a, b in start if (b - a) * FRAME_S >= 1.2)
    _, events = _health(near, far, settings, muted=np.ones(s.near_truth.size, bool))
    warned = _named(events, "MutedWhileSpeaking")
    assert warned, "no warning while the counselor spoke muted"
    assert warned[0][0] <= first * FRAME_S + 1.2, (warned[0][0], first * FRAME_S)
