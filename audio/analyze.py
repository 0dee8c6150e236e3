"""Offline analysis of a recording: what ``faro vad analyze`` prints and the benchmark uses.

The same engines and the same call-health state machine as a live call, driven by a manual
clock that advances with the audio, so a file gives the figures the live console would
have shown. Nothing is written anywhere.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from audio.frames import FRAME_S, RATE, Framer
from audio.metrics import CallHealth, HealthSettings
from audio.resample import resample
from audio.segments import talk_seconds, to_segments, trim_hangover
from audio.vad import FaroVad, FrameResults, VadEngine, block_results, make_engine
from core.clock import FakeClock
from core.events import Event

BLOCK_FRAMES = 10  # frames handed to an engine at once (100 ms, like a live capture block)


def run_engine(engine: VadEngine, samples16k: np.ndarray) -> FrameResults:
    """Per-frame results of ``engine`` on a 16 kHz mono signal."""
    frames = Framer().push(samples16k)
    parts = []
    for i in range(0, frames.shape[0], BLOCK_FRAMES):
        parts.append(block_results(engine, frames[i : i + BLOCK_FRAMES]))
    if not parts:
        return FrameResults.empty()
    return FrameResults(
        *(
            np.concatenate([getattr(p, f.name) for p in parts])
            for f in dataclasses.fields(FrameResults)
        )
    )


def offline_mask(engine: VadEngine, res: FrameResults) -> np.ndarray:
    """The decision to cut segments from: hang-over trimmed for the Faro pipeline."""
    if isinstance(engine, FaroVad):
        return trim_hangover(res.region, res.evidence, engine.p.onset_frames)
    return res.speech


def health_figures(
    near: FrameResults | None, far: FrameResults | None, settings: HealthSettings | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run the call-health state machine over whole-file results."""
    clock = FakeClock(start=0.0)
    prompts: list[dict[str, Any]] = []

    def publish(event: Event) -> None:
        data = {
            f.name: getattr(event, f.name) for f in dataclasses.fields(event) if f.name != "call_id"
        }
        prompts.append({"t_s": round(clock.monotonic(), 2), "event": type(event).__name__, **data})

    health = CallHealth(clock, publish, settings)
    health.start_call("file")
    n = max(len(near.speech) if near else 0, len(far.speech) if far else 0)
    for i in range(0, n, BLOCK_FRAMES):
        k = min(BLOCK_FRAMES, n - i)
        clock.advance(k * FRAME_S)
        health.on_frames(_slice(near, i, i + k), _slice(far, i, i + k))
    result = health.end_call()
    figures = result[1] if result else {}
    return figures, prompts


def _slice(res: FrameResults | None, a: int, b: int) -> FrameResults | None:
    if res is None:
        return None
    return FrameResults(*(getattr(res, f.name)[a:b] for f in dataclasses.fields(FrameResults)))


def analyze(channels: dict[str, np.ndarray], rate: int, engine: str = "faro") -> dict[str, Any]:
    """``channels`` maps "near" (and optionally "far") to mono float signals at ``rate``."""
    out: dict[str, Any] = {
        "engine": engine,
        "sample_rate": rate,
        "duration_s": round(max(len(x) for x in channels.values()) / rate, 3),
        "channels": {},
    }
    results: dict[str, FrameResults] = {}
    for name, samples in channels.items():
        eng = make_engine(engine, name)  # the channel's side: "near" or "far"
        res = run_engine(eng, resample(samples, rate, RATE))
        results[name] = res
        mask = offline_mask(eng, res)
        out["channels"][name] = {"segments": to_segments(mask), "talk_s": talk_seconds(mask)}
    n = max(len(r.speech) for r in results.values())
    for name, res in list(results.items()):  # pad the shorter channel with silence
        if len(res.speech) < n:
            pad = n - len(res.speech)
            results[name] = FrameResults(
                np.concatenate((res.speech, np.zeros(pad, bool))),
                np.concatenate((res.evidence, np.zeros(pad, bool))),
                np.concatenate((res.level_db, np.full(pad, -100.0, np.float32))),
                np.concatenate((res.clip, np.zeros(pad, np.float32))),
                np.concatenate((res.score, np.zeros(pad, np.float32))),
                np.concatenate((res.region, np.zeros(pad, bool))),
            )
    figures, prompts = health_figures(results.get("near"), results.get("far"))
    figures.pop("duration_s", None)
    out["metrics"] = {**figures, "prompts": prompts}
    return out
