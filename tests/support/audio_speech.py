"""Known speech-like recordings with their truth, and segment comparison, for audio tests."""

from __future__ import annotations

import numpy as np

from audio import synth
from audio.frames import RATE


def known_recording(
    rate: int = RATE, seed: int = 7
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """About 9 s: three utterances at known times over a quiet noise floor, and their truth."""
    truth = [(1.0, 2.6), (3.6, 5.8), (7.0, 8.2)]
    track = synth.noise(9.5, -60.0, seed=seed)
    for i, (a, b) in enumerate(truth):
        synth.place(
            track, a, synth.utterance(b - a, seed=seed + i, f0=130 + 30 * i, level_db=-18.0)
        )
    if rate != RATE:
        from audio.resample import resample

        track = resample(track, RATE, rate)
    return track.astype(np.float32), truth


def match_segments(
    found: list[list[float]] | list[tuple[float, float]],
    truth: list[tuple[float, float]],
    tol: float,
) -> list[str]:
    """Problems (empty when every truth segment has one found segment within ``tol`` at both ends
    and nothing else was found)."""
    problems = []
    if len(found) != len(truth):
        problems.append(f"{len(found)} segments found, {len(truth)} expected: {found}")
    for (ta, tb), seg in zip(truth, found, strict=False):  # a count mismatch is reported above
        fa, fb = seg
        if abs(fa - ta) > tol or abs(fb - tb) > tol:
            problems.append(f"segment {seg} vs truth {(ta, tb)}")
    return problems
