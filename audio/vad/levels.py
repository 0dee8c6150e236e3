"""The first stage of the pipeline: each frame's power, level and clipped share, and the
digital silence that tells one source from the next."""

from __future__ import annotations

import numpy as np

from audio.frames import FRAME

_LEVEL_SCALE = 1.0 / (FRAME * 32768.0 * 32768.0)
_CLIP = 32440
SILENT_DB = -90.0  # below this a frame is digital silence, not noise
NEW_SOURCE_FRAMES = 100  # signal after 1 s of digital silence: a new source, a new noise


def levels_and_clip(frames: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame power (mean square, full scale 1), level (dBFS) and clipped share of each frame of
    a block; ``x`` is ``frames`` as float32."""
    power = np.einsum("ij,ij->i", x, x)
    power *= _LEVEL_SCALE
    power += 1e-10
    level = np.log10(power)
    level *= 10.0
    if frames.max() >= _CLIP or frames.min() <= -_CLIP:
        clip = (np.abs(frames.astype(np.int32)) >= _CLIP).mean(axis=1).astype(np.float32)
    else:
        clip = np.zeros(frames.shape[0], dtype=np.float32)
    return power, level, clip


class SourceWatch:
    """Counts the digital silence (a stream starting, a muted source) at the end of the
    stream; signal after ``new_source_frames`` of it comes from a new source."""

    def __init__(self, new_source_frames: int = NEW_SOURCE_FRAMES) -> None:
        self.new_source_frames = new_source_frames
        self.reset()

    def reset(self) -> None:
        self.silent_run = 0  # frames of digital silence at the end of the stream so far

    def observe(self, levels: np.ndarray) -> tuple[np.ndarray | None, bool]:
        """Feed a block's frame levels; return (its live frames as a mask, or None when every
        frame is live; whether a new source begins with this block)."""
        live = levels > SILENT_DB
        n = live.shape[0]
        if live.all():
            new = self.silent_run >= self.new_source_frames
            self.silent_run = 0
            return None, new
        if live.any():
            new = self.silent_run + int(np.argmax(live)) >= self.new_source_frames
            self.silent_run = n - 1 - int(np.flatnonzero(live)[-1])
            return live, new
        self.silent_run += n
        return live, False
