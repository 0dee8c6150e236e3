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

from audio.vad.levels import SILENT_DB


class NoiseTracker:
    def __init__(self, sub_frames: int = 25, subs: int = 8, smoothing: float = 0.98) -> None:
        self.sub_frames = sub_frames
        self.subs = subs
        self.smoothing = smoothing  # per noise frame (time constant ~0.5 s of noise)
        self.reset()

    def reset(self) -> None:
        self._sub = np.inf
        self._sub_n = 0
        self._ring: list[float] = []
        self.floor_db: float | None = None
        self.spectrum: np.ndarray | None = None
        self.inv_spectrum: np.ndarray | None = None
        self._power = 0.0  # mean frame power (linear) of noise frames
        self.level_db: float | None = None
        self.seen = 0  # noise frames averaged so far (a running mean at first)

    def observe(
        self,
        power: np.ndarray,
        frame_power: np.ndarray,
        levels: np.ndarray,
        live: np.ndarray | None,
    ) -> float:
        """Feed a block's live frames (``live`` None: all of them; digital silence is no
        noise); return the floor to use for this block (``SILENT_DB`` until a live frame has
        been seen)."""
        if live is None:
            self.start(power, frame_power)
            return self.push_levels(levels)
        if live.any():
            self.start(power[live], frame_power[live])
            return self.push_levels(levels[live])
        return self.floor_db if self.floor_db is not None else SILENT_DB

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

    def restart_level(self, level_db: float) -> None:
        """Start the mean level again from ``level_db``: the next noise frames replace it."""
        self._power = 10.0 ** (level_db / 10.0)
        self.level_db = level_db
        self.seen = 0

    def update(
        self,
        power: np.ndarray,
        frame_power: np.ndarray,
        noise: np.ndarray,
        smoothing: float | None = None,
    ) -> None:
        """``frame_power``: linear mean-square power of each frame (full scale 1);
        ``smoothing`` per noise frame overrides the tracker's own."""
        k = int(np.count_nonzero(noise))
        if not k:
            return
        if self.spectrum is None:
            raise RuntimeError("NoiseTracker.update() before start()")
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


def noise_frames(
    levels: np.ndarray,
    floor_db: float,
    speech: np.ndarray,
    live: np.ndarray | None,
    cold_votes: list[float],
    quiet_margin_db: float,
    cap_db: float,
) -> np.ndarray:
    """The frames of a block that train the noise: surely noise by level (within
    ``quiet_margin_db`` of the floor), or called non-speech by the decision while within
    ``cap_db`` of the floor (during the cold start: webrtcvad's non-speech frames). Never
    digital silence (``live`` None: there is none in the block)."""
    mask = levels < floor_db + quiet_margin_db
    mask |= ~speech & (levels < floor_db + cap_db)
    if cold_votes:
        mask[: len(cold_votes)] = np.array(cold_votes, dtype=np.float32) < 0.5
    if live is not None:
        mask &= live
    return mask
