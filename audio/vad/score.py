"""The speech score of each frame before the decision: the region score (long-term spectral
divergence, :mod:`audio.vad.spectral`), overridden by webrtcvad while a stream's noise is
still unknown (:class:`ColdStart`) and raised by Silero on the frames where it is
not sure (:class:`SileroOnUncertain`); :func:`speech_scores` combines them."""

from __future__ import annotations

import numpy as np

from audio.segments import runs
from audio.vad import silero as silero_mod
from audio.vad.base import VadEngine
from audio.vad.webrtc import WebRtcEngine

NOT_SPEECH = -99.0  # a score no threshold accepts
SILERO_ON = silero_mod.SileroEngine.threshold  # Silero's own operating point (0.5), not tuned


class ColdStart:
    """Until ``warmup_frames`` of a stream have been seen the noise is unknown: webrtcvad
    mode 3 (an absolute model) votes on those frames while the noise is learnt."""

    def __init__(self, warmup_frames: int) -> None:
        self.warmup_frames = warmup_frames
        self._webrtc = WebRtcEngine(3)
        self.reset()

    def reset(self) -> None:
        self._known = 0
        self._webrtc.reset()

    def votes(self, frames: np.ndarray) -> list[float]:
        """webrtcvad's votes (1.0 speech, 0.0 not) on the block's first frames that are
        still within the warm-up; empty once the noise is known."""
        n = frames.shape[0]
        warm = min(n, max(0, self.warmup_frames - self._known))
        self._known += n
        return self._webrtc.scores(frames[:warm]).tolist() if warm else []


class SileroOnUncertain:
    """Silero's probability, asked only on the frames where it can change the decision
    (:func:`silero_needed` outside a region, :func:`silero_continues` inside one); each run
    of such frames is shown to Silero as it comes.

    Silero reads 32 ms windows on a recurrent state. The state is never reset between the
    stretches it is shown (only with the stream): it is this channel's own context (its
    noise, its voice), which the model needs most at a low SNR, and keeping it costs
    nothing, where warming a fresh state on a lead-in costs windows at every stretch."""

    def __init__(self, engine: VadEngine | None) -> None:
        self.engine = engine
        self.reset()

    def reset(self) -> None:
        if self.engine is not None:
            self.engine.reset()
        self.frames_run = 0

    def probabilities(self, frames: np.ndarray, need: np.ndarray) -> np.ndarray | None:
        """Silero's probability on the ``need`` frames of a block (-1 elsewhere), or None
        when it is not asked."""
        engine = self.engine
        if engine is None or not need.any():
            return None
        out = np.full(frames.shape[0], -1.0, dtype=np.float32)
        for a, b in runs(need):
            out[a:b] = engine.scores(frames[a:b])
            self.frames_run += b - a
        return out


def silero_needed(
    region: np.ndarray, levels: np.ndarray, off_db: float, on_db: float, low_db: float
) -> np.ndarray:
    """Outside a region, the frames on which Silero's answer can start one: the cheap score
    is unsure (between ``off_db`` and ``on_db``: the band of its measured calibration where
    25-90 % of frames are speech) and the frame is near the speaker's level (``low_db`` and
    up: a frame under the start gate cannot start a region whatever Silero says)."""
    need = region >= off_db
    need &= region < on_db
    need &= levels >= low_db
    return need


def silero_continues(
    region: np.ndarray, levels: np.ndarray, off_db: float, low_db: float
) -> np.ndarray:
    """Inside a region, the frames the cheap score would not continue (under ``off_db``)
    that are loud enough to count (``low_db`` and up: the continue gate)."""
    more = region < off_db
    more &= levels >= low_db
    return more


def speech_scores(
    region: np.ndarray,
    levels: list[float],
    cold_votes: list[float],
    silero: np.ndarray | None,
    floor_db: float,
    on_db: float,
) -> list[float]:
    """Each frame's score (dB, compared with the decision's thresholds): the region score;
    during the cold start webrtcvad's vote instead (speech only at least 6 dB above the
    floor); a frame Silero vouches for scores at least ``on_db`` (it only adds speech: on the
    tuning voices letting it remove speech too lost recall at 0-5 dB)."""
    scores: list[float] = region.tolist()
    for i, vote in enumerate(cold_votes):
        scores[i] = on_db if vote and levels[i] > floor_db + 6.0 else NOT_SPEECH
    if silero is not None:
        for i in np.flatnonzero(silero >= SILERO_ON).tolist():
            scores[i] = max(scores[i], on_db)
    return scores
