"""A spectral speech-likelihood score against a tracked noise spectrum (after Sohn et al.).

For each 10 ms frame the periodogram of the speech band (200-4000 Hz) is divided by the
current noise spectrum; the mean of ``g - ln g - 1`` over the bins is small (about 0.6) for
noise of any colour and large when speech energy stands out in some bins. The noise
spectrum is updated once per block from the frames the caller marks as quiet, so the cost is
a handful of numpy calls per block, not per frame.
"""
from __future__ import annotations

import numpy as np

from audio.frames import FRAME, RATE

_BIN_HZ = RATE / FRAME
LOW_BIN = int(200 / _BIN_HZ)
HIGH_BIN = int(4000 / _BIN_HZ) + 1
_WINDOW = np.hanning(FRAME).astype(np.float32) / 32768.0


class SpectralScore:
    def __init__(self, smoothing: float = 0.8) -> None:
        self.smoothing = smoothing
        self._noise: np.ndarray | None = None

    def band_power(self, frames: np.ndarray) -> np.ndarray:
        spec = np.fft.rfft(frames.astype(np.float32) * _WINDOW, axis=1)[:, LOW_BIN:HIGH_BIN]
        return (spec.real ** 2 + spec.imag ** 2) + 1e-12

    def llr(self, power: np.ndarray) -> np.ndarray:
        """Mean log-likelihood-ratio-like statistic per frame (noise ≈ 0.6)."""
        if self._noise is None:
            self._noise = np.median(power, axis=0) + 1e-12
        g = power / self._noise
        return (g - np.log(g) - 1.0).mean(axis=1)

    def update_noise(self, power: np.ndarray, quiet: np.ndarray) -> None:
        if not quiet.any():
            return
        est = power[quiet].mean(axis=0)
        if self._noise is None:
            self._noise = est
        else:
            a = self.smoothing ** int(quiet.sum())
            self._noise = a * self._noise + (1.0 - a) * est

    def reset(self) -> None:
        self._noise = None
