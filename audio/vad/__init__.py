"""Voice-activity engines behind one interface, and :func:`make_engine` to pick one by name.

Names: ``faro`` (Faro's pipeline, :mod:`audio.vad.pipeline`, the default), ``webrtc0``..``webrtc3`` (raw webrtcvad in
that mode), ``silero`` (raw Silero; needs the optional extra).
"""

from __future__ import annotations

import numpy as np

from audio.frames import clip_fractions, frame_levels_db
from audio.vad.base import VadEngine
from audio.vad.pipeline import FaroParams, FaroVad, FrameResults
from audio.vad.silero import EngineUnavailable, SileroEngine
from audio.vad.silero import available as silero_available
from audio.vad.webrtc import WebRtcEngine

ENGINE_NAMES = ("faro", "webrtc0", "webrtc1", "webrtc2", "webrtc3", "silero")


def available_engines() -> tuple[str, ...]:
    return tuple(n for n in ENGINE_NAMES if n != "silero" or silero_available())


def make_engine(name: str, side: str | None = None) -> VadEngine:
    """``side`` ("near": the counselor's mic, "far": the caller's line) matters only to
    ``faro``: the wearer's start gate holds on the near side only."""
    if name == "faro":
        return FaroVad(side=side)
    if name.startswith("webrtc") and name[6:] in ("0", "1", "2", "3"):
        return WebRtcEngine(int(name[6:]))
    if name == "silero":
        return SileroEngine()
    raise ValueError(f"unknown VAD engine {name!r}")


def block_results(engine: VadEngine, frames: np.ndarray) -> FrameResults:
    """Per-frame results of one block from any engine (raw engines get no hang-over)."""
    if isinstance(engine, FaroVad):
        return engine.process(frames)
    score = engine.scores(frames)
    speech = score >= engine.threshold
    return FrameResults(
        speech,
        speech.copy(),
        frame_levels_db(frames),
        clip_fractions(frames).astype(np.float32),
        score,
        speech.copy(),
    )


__all__ = [
    "block_results",
    "ENGINE_NAMES",
    "EngineUnavailable",
    "FaroParams",
    "FaroVad",
    "FrameResults",
    "SileroEngine",
    "VadEngine",
    "WebRtcEngine",
    "available_engines",
    "make_engine",
    "silero_available",
]
