"""From per-frame decisions to speech segments and talk time (offline analysis)."""

from __future__ import annotations

import numpy as np

from audio.frames import FRAME_S


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) frame index pairs of the True runs of a boolean array."""
    m = np.asarray(mask, dtype=np.int8)
    if m.size == 0:
        return []
    d = np.diff(np.concatenate(([0], m, [0])))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def trim_hangover(speech: np.ndarray, evidence: np.ndarray, onset_frames: int = 1) -> np.ndarray:
    """The online decision with each run cut back to its evidence: the hang-over tail after the
    last evidence frame is dropped and the start moved back to the first evidence frame."""
    out = np.zeros(len(speech), dtype=bool)
    ev = np.asarray(evidence, dtype=bool)
    for a, b in runs(speech):
        idx = np.flatnonzero(ev[max(0, a - onset_frames) : b]) + max(0, a - onset_frames)
        if idx.size:
            out[idx[0] : idx[-1] + 1] = True
    return out


def to_segments(mask: np.ndarray) -> list[list[float]]:
    return [[round(a * FRAME_S, 2), round(b * FRAME_S, 2)] for a, b in runs(mask)]


def talk_seconds(mask: np.ndarray) -> float:
    return round(float(np.count_nonzero(mask)) * FRAME_S, 2)
