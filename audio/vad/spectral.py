"""Spectral features of 10 ms frames against a tracked noise spectrum, one block at a time.

* :func:`band_power` — the periodogram of the telephone band (300-3400 Hz) of each frame. The
  band is chosen so that nothing depends on energy a phone line removes: a caller heard through
  G.711 and a wideband headset give the same kind of evidence.
* :class:`LongTermDivergence` — the long-term spectral divergence of Ramírez et al. (2004),
  made causal: for each frame, the per-bin *maximum* over the last ``span`` frames divided by
  the noise spectrum and averaged over the band, in dB. For noise of any colour this sits near
  a constant (about 4.3 dB for ``span`` 8); speech, whose energy moves between bins as it
  goes, raises it even where a single frame is buried in noise. This temporal context is what
  keeps the decision good at 5 and 0 dB without a neural model.
* The per-frame ratio (the frame's own band power over the noise, in dB) tells which frames
  are confident enough to teach the speaker's own level (:mod:`audio.vad.decision`).

All of it is a handful of numpy calls per block (two matrix-vector products do the
averaging), not a Python loop per frame.
"""

from __future__ import annotations

import numpy as np

from audio.frames import FRAME, RATE

_BIN_HZ = RATE / FRAME
LOW_BIN = int(np.ceil(300 / _BIN_HZ))
HIGH_BIN = int(3400 / _BIN_HZ) + 1
BINS = HIGH_BIN - LOW_BIN


def _basis() -> np.ndarray:
    """Hann-windowed DFT rows of the band's bins, cos then sin: ``(FRAME, 2 * BINS)``.
    Only the band is needed, so one small matrix product replaces a full FFT per frame."""
    t = np.arange(FRAME)
    k = np.arange(LOW_BIN, HIGH_BIN)
    ang = 2.0 * np.pi * np.outer(t, k) / FRAME
    win = (np.hanning(FRAME) / 32768.0)[:, None]
    return np.ascontiguousarray(
        np.concatenate((np.cos(ang), -np.sin(ang)), axis=1) * win, dtype=np.float32
    )


_BASIS = _basis()


def band_power(x: np.ndarray) -> np.ndarray:
    """``(n, BINS)`` power of the 300-3400 Hz bins of float32 frames in int16 units."""
    spec = x @ _BASIS
    spec *= spec
    p = spec[:, :BINS] + spec[:, BINS:]
    p += 1e-12
    return p


class LongTermDivergence:
    """Causal long-term spectral divergence over the last ``span`` frames."""

    def __init__(self, span: int = 8) -> None:
        self.span = span
        self.reset()

    def reset(self) -> None:
        self._hist: np.ndarray | None = None  # the last span-1 frames' band power

    def __call__(self, power: np.ndarray, inv_noise: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(long-term divergence dB, per-frame ratio dB) for one block."""
        n = power.shape[0]
        k = self.span - 1
        if self._hist is None:
            self._hist = np.repeat(power[:1], k, axis=0)
        h = np.concatenate((self._hist, power))
        self._hist = h[-k:] if k else h[:0]
        # running maximum over `span` rows by doubling: windows of 2, 4, 8... rows
        width = 1
        while width * 2 <= self.span:
            h = np.maximum(h[width:], h[:-width])
            width *= 2
        m = h[-n:] if width == self.span else _max_rows(h, width, self.span, n)
        both = np.concatenate((m, power)) @ inv_noise
        both *= 1.0 / BINS
        db = 10.0 * np.log10(both)
        return db[:n], db[n:]


def _max_rows(h: np.ndarray, width: int, span: int, n: int) -> np.ndarray:
    """Finish a running maximum when ``span`` is not a power of two (h holds windows of
    ``width`` rows; two overlapping ones cover ``span``)."""
    rest = span - width
    return np.maximum(h[-n:], h[-n - rest : h.shape[0] - rest])
