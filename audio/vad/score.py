"""The speech score of each frame before the decision: the region score (long-term spectral
divergence, :mod:`audio.vad.spectral`), overridden by webrtcvad while a stream's noise is
still unknown (:class:`ColdStart`) and raised by Silero on the frames where it is
not sure (:class:`SileroOnUncertain`); :func:`speech_scores` combines them."""

from __future__ import annotations

import numpy as np

from audio.frames import FRAME
from audio.vad import silero as silero_mod
from audio.vad.base import VadEngine
from audio.vad.webrtc import WebRtcEngine

NOT_SPEECH = -99.0  # a score no threshold accepts


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
    """Silero's probability, asked only where the cheap score is not sure: on frames whose
    region score is in ``[lo_db, hi_db)``, the band where, on the tuning voices, between 10 %
    and 90 % of frames are speech (docs/audio.md, "VAD engines"). It is run from the start of
    such a stretch, warmed on ``lead_windows`` windows of lead-in."""

    def __init__(
        self, engine: VadEngine | None, lo_db: float, hi_db: float, lead_windows: int
    ) -> None:
        self.engine = engine
        self.lo_db = lo_db
        self.hi_db = hi_db
        self._lead = lead_windows * silero_mod.WINDOW // FRAME + 1
        self.reset()

    def reset(self) -> None:
        if self.engine is not None:
            self.engine.reset()
        self._active = False
        self._recent = np.zeros((0, FRAME), dtype=np.int16)  # lead-in for the next stretch
        self.frames_run = 0

    def probabilities(self, frames: np.ndarray, region: np.ndarray) -> np.ndarray | None:
        """Silero's probability on the uncertain frames of a block (-1 elsewhere), or None
        when it is not asked."""
        engine = self.engine
        if engine is None:
            return None
        lead = self._lead
        unsure = (region >= self.lo_db) & (region < self.hi_db)
        if not unsure.any():
            self._active = False
            self._recent = np.concatenate((self._recent, frames))[-lead:]
            return None
        first = int(np.argmax(unsure))
        if not self._active:
            # warm a fresh state on the lead-in before the first uncertain frame
            engine.reset()
            engine.scores(np.concatenate((self._recent, frames[:first]))[-lead:])
            run_from = first
        else:
            run_from = 0
        probs = engine.scores(frames[run_from:])
        self._active = True
        out = np.full(frames.shape[0], -1.0, dtype=np.float32)
        out[run_from:] = probs
        out[~unsure] = -1.0
        self.frames_run += frames.shape[0] - run_from
        self._recent = np.concatenate((self._recent, frames))[-lead:]
        return out


def speech_scores(
    region: np.ndarray,
    levels: list[float],
    cold_votes: list[float],
    silero: np.ndarray | None,
    floor_db: float,
    on_db: float,
    silero_on: float,
) -> list[float]:
    """Each frame's score (dB, compared with the decision's thresholds): the region score;
    during the cold start webrtcvad's vote instead (speech only at least 6 dB above the
    floor); a frame Silero vouches for scores at least ``on_db`` (it only adds speech: on the
    tuning voices letting it remove speech too lost recall at 0-5 dB)."""
    scores: list[float] = region.tolist()
    for i, vote in enumerate(cold_votes):
        scores[i] = on_db if vote and levels[i] > floor_db + 6.0 else NOT_SPEECH
    if silero is not None:
        for i, prob in enumerate(silero.tolist()):
            if prob >= silero_on:
                scores[i] = max(scores[i], on_db)
    return scores
