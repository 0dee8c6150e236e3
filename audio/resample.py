"""Streaming resampling to 16 kHz with a real anti-alias filter (libsoxr, "HQ").

Capture devices run at 44.1 or 48 kHz and telephony taps at 8 kHz; striding or linear
interpolation would fold everything above 8 kHz back into the speech band, which is exactly
where the VAD looks. :class:`StreamResampler` keeps soxr's filter state across blocks, so a
stream cut into arbitrary blocks resamples the same as the whole signal.
"""

from __future__ import annotations

import numpy as np
import soxr

from audio.frames import RATE, to_mono


class StreamResampler:
    def __init__(self, in_rate: int, out_rate: int = RATE) -> None:
        self.in_rate = int(in_rate)
        self.out_rate = int(out_rate)
        self._stream = (
            soxr.ResampleStream(self.in_rate, self.out_rate, 1, dtype="float32", quality="HQ")
            if self.in_rate != self.out_rate
            else None
        )

    def process(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        """Mono float32 at ``out_rate`` for one block of (n,) or (n, channels) input."""
        mono = to_mono(block)
        if mono.dtype != np.float32:
            mono = mono.astype(np.float32)
        if self._stream is None:
            return mono
        return self._stream.resample_chunk(mono, last=last)


def resample(samples: np.ndarray, in_rate: int, out_rate: int = RATE) -> np.ndarray:
    """Whole-signal resampling (files, tests)."""
    mono = to_mono(samples)
    if in_rate == out_rate:
        return mono
    return soxr.resample(mono, in_rate, out_rate, quality="HQ").astype(np.float32)
