"""The audio unit Faro works in: 10 ms frames of 16 kHz mono int16.

Everything after capture and resampling sees frames as rows of a ``(n, 160)`` int16 array,
so a block of frames is handled with one numpy call instead of a Python loop per frame.
"""

from __future__ import annotations

import numpy as np

RATE = 16_000
FRAME_MS = 10
FRAME = RATE * FRAME_MS // 1000  # samples per frame
FRAME_S = FRAME_MS / 1000.0
#: level reported for digital silence
FLOOR_DB = -100.0


def to_int16(samples: np.ndarray) -> np.ndarray:
    """float in [-1, 1] (or int16) → int16, clipped."""
    if samples.dtype == np.int16:
        return samples
    return (np.clip(samples, -1.0, 32767 / 32768) * 32768.0).astype(np.int16)


def to_mono(block: np.ndarray) -> np.ndarray:
    """(n,) or (n, channels) → (n,) float32; channels are averaged."""
    if block.ndim == 2:
        block = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
    return np.asarray(block, dtype=np.float32)


def frame_levels_db(frames: np.ndarray) -> np.ndarray:
    """RMS level in dBFS of each row of an int16 (n, FRAME) array."""
    x = frames.astype(np.float32) * (1.0 / 32768.0)
    power = np.einsum("ij,ij->i", x, x) / frames.shape[1]
    return 10.0 * np.log10(power + 1e-10)


def clip_fractions(frames: np.ndarray, limit: int = 32440) -> np.ndarray:
    """Share of samples at (or within 1 % of) full scale in each frame."""
    return (np.abs(frames.astype(np.int32)) >= limit).mean(axis=1)


class Framer:
    """Cuts a stream of int16 samples into whole frames, keeping the remainder."""

    def __init__(self) -> None:
        self._rest = np.zeros(0, dtype=np.int16)

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Append samples; return the complete frames now available as (n, FRAME)."""
        data = (
            np.concatenate((self._rest, to_int16(samples)))
            if self._rest.size
            else to_int16(samples)
        )
        n = data.size // FRAME
        self._rest = data[n * FRAME :].copy()
        return data[: n * FRAME].reshape(n, FRAME)

    def reset(self) -> None:
        self._rest = np.zeros(0, dtype=np.int16)
