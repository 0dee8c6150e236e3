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
    (:func:`silero_needed`). Silero reads 32 ms windows on a recurrent state, so each stretch
    of such frames is run from a fresh state warmed on ``lead_windows`` windows of lead-in;
    the state is kept across blocks only while the stretch goes on to the block's end."""

    def __init__(self, engine: VadEngine | None, lead_windows: int) -> None:
        self.engine = engine
        self._lead = lead_windows * silero_mod.WINDOW // FRAME + 1
        self.reset()

    def reset(self) -> None:
        if self.engine is not None:
            self.engine.reset()
        self._active = False  # Silero has seen every frame up to the end of the last block
        self._recent = np.zeros((0, FRAME), dtype=np.int16)  # lead-in for the next stretch
        self.frames_run = 0

    def probabilities(self, frames: np.ndarray, need: np.ndarray) -> np.ndarray | None:
        """Silero's probability on the ``need`` frames of a block (-1 elsewhere), or None
        when it is not asked."""
        engine = self.engine
        if engine is None:
            return None
        lead = self._lead
        n = frames.shape[0]
        idx = np.flatnonzero(need)
        if not idx.size:
            self._active = False
            self._recent = np.concatenate((self._recent, frames))[-lead:]
            return None
        first, last = int(idx[0]), int(idx[-1])
        if not self._active:
            # warm a fresh state on the lead-in before the first frame it is needed on
            engine.reset()
            engine.scores(np.concatenate((self._recent, frames[:first]))[-lead:])
            run_from = first
        else:
            run_from = 0
        # go on to the block's end (and into the next block) only when the stretch may go on
        run_to = n if n - 1 - last < lead else last + 1
        self._active = run_to == n
        out = np.full(n, -1.0, dtype=np.float32)
        out[run_from:run_to] = engine.scores(frames[run_from:run_to])
        out[~need] = -1.0
        self.frames_run += run_to - run_from
        self._recent = np.concatenate((self._recent, frames))[-lead:]
        return out


def silero_needed(
    region: np.ndarray,
    levels: np.ndarray,
    lo_db: float,
    on_db: float,
    off_db: float,
    speaking: bool,
    low_db: float,
) -> np.ndarray:
    """The frames on which Silero's answer can change the decision, given whether a region
    is open at the block's start: the cheap score is unsure (at least ``lo_db``) but would
    not start a region by itself (under ``on_db``), or, inside one, would not continue it
    (under ``off_db``); and the frame is loud enough to count (``low_db`` and up: outside a
    region the start gate, inside it the continue gate)."""
    need = region >= lo_db
    need &= region < (off_db if speaking else on_db)
    need &= levels >= low_db
    return need


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
        for i, prob in enumerate(silero.tolist()):
            if prob >= SILERO_ON:
                scores[i] = max(scores[i], on_db)
    return scores
