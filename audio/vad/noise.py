"""The noise a channel carries when its speaker is silent: level floor and spectrum.

* **Floor** (minimum statistics, after Martin 2001): the lowest frame level of the last
  ~2 s, kept as the minima of eight sub-windows of 250 ms. It follows a rising noise within
  2 s and never needs to know where speech is; it is used to find frames that are surely
  noise (within ``quiet_margin_db`` of the floor).
* **Spectrum and mean level**: an exponential average of the band power (and of the frame
  power) of the frames the caller marks as noise: frames near the floor, and frames the
  decision called non-speech. The average, not the minimum, is what a non-stationary noise
  such as babble needs as its reference.

Updated once per block with a few numpy calls.
"""
from __future__ import annotations

import numpy as np


class NoiseTracker:
    def __init__(self, sub_frames: int = 25, subs: int = 8, smoothing: float = 0.98,
                 step_db: float = 10.0, step_frames: int = 50) -> None:
        self.sub_frames = sub_frames
        self.subs = subs
        self.smoothing = smoothing    # per noise frame (time constant ~0.5 s of noise)
        self.step_db = step_db        # every frame this far above the noise level...
        self.step_frames = step_frames  # ...for this long (500 ms): the noise itself has risen
        self.reset()

    def reset(self) -> None:
        self._sub = np.inf
        self._sub_n = 0
        self._ring: list[float] = []
        self.floor_db: float | None = None
        self.spectrum: np.ndarray | None = None
        self.inv_spectrum: np.ndarray | None = None
        self._power = 0.0             # mean frame power (linear) of noise frames
        self.level_db: float | None = None
        self._above = 0
        self.seen = 0                 # noise frames averaged so far (a running mean at first)

    def push_levels(self, levels: np.ndarray) -> float:
        """Feed a block's frame levels; return the floor to use for this block."""
        low = float(levels.min())
        if self.floor_db is None or low < self.floor_db:
            self.floor_db = low
        self._sub = min(self._sub, low)
        self._sub_n += levels.shape[0]
        if self._sub_n >= self.sub_frames:
            self._ring.append(self._sub)
            if len(self._ring) > self.subs:
                del self._ring[0]
            self.floor_db = min(self._ring)
            self._sub, self._sub_n = np.inf, 0
        return self.floor_db

    def start(self, power: np.ndarray, frame_power: np.ndarray) -> None:
        """First block: a rough reference until noise frames are seen."""
        if self.spectrum is None:
            self._set(np.median(power, axis=0))
            self._power = float(np.median(frame_power))
            self.level_db = 10.0 * np.log10(self._power + 1e-10)

    def check_step(self, power: np.ndarray, frame_power: np.ndarray, levels: np.ndarray) -> bool:
        """A noise that rises in one step (a fan, a stream that starts) would look like speech
        until the 2 s floor follows it. Speech always dips between syllables; when not one
        frame of the last ``step_frames`` came within ``step_db`` of the noise level, start
        the noise again from the current block."""
        if self.level_db is None:
            return False
        if float(levels.min()) > self.level_db + self.step_db:
            self._above += levels.shape[0]
        else:
            self._above = 0
            return False
        if self._above < self.step_frames:
            return False
        self._set(power.mean(axis=0))
        self._power = float(frame_power.mean())
        self.level_db = 10.0 * np.log10(self._power + 1e-10)
        low = float(levels.min())
        self._ring = [low]
        self.seen = int(levels.shape[0])
        self._sub, self._sub_n = np.inf, 0
        self.floor_db = low
        self._above = 0
        return True

    def restart_level(self, level_db: float) -> None:
        """Start the mean level again from ``level_db``: the next noise frames replace it."""
        self._power = 10.0 ** (level_db / 10.0)
        self.level_db = level_db
        self.seen = 0

    def update(self, power: np.ndarray, frame_power: np.ndarray, noise: np.ndarray,
               smoothing: float | None = None) -> None:
        """``frame_power``: linear mean-square power of each frame (full scale 1);
        ``smoothing`` per noise frame overrides the tracker's own."""
        k = int(np.count_nonzero(noise))
        if not k:
            return
        a = min((smoothing or self.smoothing) ** k, self.seen / (self.seen + k))
        self.seen += k
        w = noise.astype(np.float32)
        w *= (1.0 - a) / k
        spectrum = w @ power
        spectrum += a * self.spectrum
        self._set(spectrum)
        self._power = a * self._power + float(w @ frame_power)
        self.level_db = 10.0 * np.log10(self._power + 1e-10)

    def _set(self, spectrum: np.ndarray) -> None:
        self.spectrum = spectrum
        self.inv_spectrum = (1.0 / spectrum).astype(np.float32, copy=False)
