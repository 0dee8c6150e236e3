"""Faro's own voice-activity pipeline (engine ``faro``), built on the raw engines.

Per block of 10 ms frames, for one speaker's channel (everything up to the decision is a few
numpy calls per block; only the decision itself walks the frames):

1. **Level, noise floor, noise spectrum** (:mod:`audio.vad.levels`, :mod:`audio.vad.noise`): frame level (dBFS), a
   minimum-statistics floor (~2 s) and the mean spectrum and level of the frames judged noise.
2. **Spectral evidence** (:mod:`audio.vad.spectral`): the causal long-term spectral
   divergence over the last 80 ms (the *region* score) and each frame's own band power over the
   noise (the *evidence* score), both in the 300-3400 Hz band.
3. **Silero only where it is needed** (optional extra; :mod:`audio.vad.score`): when this channel's estimated SNR is
   below ``strong_below_snr_db`` *and* the region score is in the uncertain band
   ``[uncertain_lo_db, uncertain_hi_db)`` (just under the start threshold), Silero is run from
   the start of that stretch (with ``silero_lead_windows`` windows of lead-in to warm its
   state) and may promote those frames to speech; it never removes speech. Frames the cheap
   path is sure about never reach it. Until the noise is known (``warmup_frames`` of a new
   stream) webrtcvad mode 3 decides instead.
4. **Relative level gates** (:mod:`audio.vad.decision`, babble in :mod:`audio.vad.babble`): a frame more than ``gate_db`` below this speaker's own level
   (learnt from high-confidence frames, updated frame by frame) cannot be *this* speaker.
   **Babble mode** (background talkers): switched on when the decision has called almost every
   frame speech for many seconds (share >= ``babble_busy`` over ~3 s; a person's turn has
   pauses, a room of talkers does not), the frames taken for noise score like speech
   (``babble_on_db``) and the floor is within ``babble_near_db`` of the speaker. Then the
   background level is relearnt from the frames the gate rejects, a frame must stand
   ``babble_gate_db`` above it, the speaker level learns only from frames
   ``babble_confident_db`` above it, Silero is not asked (babble is speech to it too) and the
   hang-over bridges ``babble_hang_frames``. It ends when the background falls more than
   ``babble_near_db`` below the speaker.
5. **Hysteresis and hang-over** (:mod:`audio.vad.decision`): a region starts after ``onset_frames`` frames above ``on_db``,
   continues while the score stays above ``off_db`` and ends ``hang_frames`` after the last
   such frame.

The pipeline reports per frame the online decision (with hang-over, what the metrics use), the
*evidence* frames (offline segments are cut from them, so segment ends are not late by the
hang-over or the 80 ms window), the level and the share of clipped samples.

:meth:`FaroVad.process` runs the stages in that order; each is a small object or function in
its own module, tested alone (tests/audio/test_audio_vad_stages.py).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from audio.vad import silero as silero_mod
from audio.vad.babble import BabbleMode
from audio.vad.base import VadEngine
from audio.vad.decision import Hysteresis, SpeakerLevel, decide
from audio.vad.levels import SourceWatch, levels_and_clip
from audio.vad.noise import NoiseTracker, noise_frames
from audio.vad.score import ColdStart, SileroOnUncertain, speech_scores
from audio.vad.spectral import LongTermDivergence, band_power


@dataclasses.dataclass(frozen=True)
class FaroParams:
    use_silero: bool = True  # when the extra is installed
    span: int = 8  # frames of the long-term window
    on_db: float = 6.5  # region score (long-term divergence, dB) to start...
    off_db: float = 5.5  # ...and to continue
    evidence_db: float = 0.5  # a frame's own band power over the noise to count as evidence
    onset_frames: int = 2
    hang_frames: int = 18
    gate_db: float = 24.0  # below the speaker's own level: not this speaker
    quiet_margin_db: float = 3.0  # frames this close to the floor are surely noise
    noise_cap_db: float = 12.0  # non-speech frames louder than floor + this do not train the noise
    warmup_frames: int = 50  # a new stream's first 500 ms: webrtcvad decides, the noise learns
    min_level_db: float = -62.0  # below this nothing is speech (dead air, not a whisper)
    # babble (background talkers): detected when the channel has been "speech" almost without a
    # break for many seconds (no turn lasts that long), its noise frames score like speech and
    # the background is close to the speaker in level; then only level separates the wearer
    babble_busy: float = 0.97  # share of speech frames (average over ~busy_frames)...
    babble_busy_frames: int = 300  # ...time constant of that average (3 s)
    babble_on_db: float = 5.5  # noise frames' mean region score at least this
    babble_near_db: float = 35.0  # speaker level minus the noise floor below this (and the mode
    # ends when the background falls further below the speaker)
    babble_gate_db: float = 5.0  # in babble: frames must stand this far above the background level
    babble_confident_db: float = (
        12.0  # in babble: the speaker level learns only from frames this far above it
    )
    babble_hang_frames: int = (
        30  # in babble: bridges pauses of up to 300 ms (levels alone are choppy)
    )
    babble_smoothing: float = 0.998  # in babble: the background level averages ~5 s of its frames
    strong_below_snr_db: float = 8.0
    uncertain_lo_db: float = 5.0
    uncertain_hi_db: float = 6.5
    silero_on: float = 0.5
    silero_lead_windows: int = 2


@dataclasses.dataclass
class FrameResults:
    """Per-frame outputs of one block (all arrays have one row per frame)."""

    speech: np.ndarray  # bool, online decision with hang-over
    evidence: np.ndarray  # bool, frames that carried speech evidence
    level_db: np.ndarray  # float32
    clip: np.ndarray  # float32, share of clipped samples
    score: np.ndarray  # float32, combined score

    @classmethod
    def empty(cls) -> FrameResults:
        z = np.zeros(0, dtype=np.float32)
        return cls(z.astype(bool), z.astype(bool), z, z, z)


class FaroVad(VadEngine):
    name = "faro"

    def __init__(
        self, params: FaroParams | None = None, *, silero: VadEngine | None = None
    ) -> None:
        self.p = p = params or FaroParams()
        if silero is None and p.use_silero and silero_mod.available():
            silero = silero_mod.SileroEngine()
        self._source = SourceWatch()
        self._noise = NoiseTracker()
        self._ltsd = LongTermDivergence(p.span)
        self._cold = ColdStart(p.warmup_frames)
        self._silero = SileroOnUncertain(
            silero,
            p.strong_below_snr_db,
            p.uncertain_lo_db,
            p.uncertain_hi_db,
            p.silero_lead_windows,
        )
        self._hysteresis = Hysteresis(p.on_db, p.off_db, p.onset_frames, p.evidence_db)
        self._speaker = SpeakerLevel()
        self._babble = BabbleMode(
            p.babble_busy,
            p.babble_busy_frames,
            p.babble_on_db,
            p.babble_near_db,
            p.babble_gate_db,
            p.babble_confident_db,
            p.babble_hang_frames,
            p.babble_smoothing,
        )
        self.reset()

    @property
    def has_silero(self) -> bool:
        return self._silero.engine is not None

    def reset(self) -> None:
        self._source.reset()
        self._noise.reset()
        self._ltsd.reset()
        self._cold.reset()
        self._silero.reset()
        self._hysteresis.reset()
        self._speaker.reset()
        self._babble.reset()
        self.frames = 0

    def _new_source(self) -> None:
        """Signal after 1 s or more of digital silence: a new source, a new noise."""
        self._babble.new_source()
        self._noise.reset()
        self._ltsd.reset()
        self._cold.reset()

    # -- the estimated SNR of this channel ---------------------------------------------
    @property
    def noise_floor_db(self) -> float | None:
        return self._noise.level_db

    @property
    def speaker_level_db(self) -> float | None:
        return self._speaker.level_db

    @property
    def snr_db(self) -> float | None:
        floor = self._noise.level_db
        speaker = self._speaker.level_db
        if floor is None or speaker is None:
            return None
        return speaker - floor

    @property
    def strong_frames(self) -> int:
        """Frames Silero has been run on."""
        return self._silero.frames_run

    @property
    def babble(self) -> bool:
        """True while the background is judged to be other talkers."""
        return self._babble.active

    def scores(self, frames: np.ndarray) -> np.ndarray:
        return self.process(frames).score

    def process(self, frames: np.ndarray) -> FrameResults:
        n = frames.shape[0]
        if n == 0:
            return FrameResults.empty()
        p = self.p
        noise = self._noise
        # 1. levels, the band spectrum, the noise floor (digital silence is no noise)
        x = frames.astype(np.float32)
        fpower, levels, clip = levels_and_clip(frames, x)
        power = band_power(x)
        live, new_source = self._source.observe(levels)
        if new_source:
            self._new_source()
        floor = noise.observe(power, fpower, levels, live)
        if (
            noise.spectrum is None or noise.inv_spectrum is None
        ):  # nothing but digital silence so far
            self._ltsd.reset()
            self.frames += n
            z = np.zeros(n, dtype=bool)
            return FrameResults(z, z.copy(), levels, clip, np.zeros(n, dtype=np.float32))
        # 2. the speech score: region score, cold start, Silero on uncertain frames
        region, ratio = self._ltsd(power, noise.inv_spectrum)
        babble = self._babble
        silero = None
        if babble.active:
            self._silero.skip(frames)
        else:
            silero = self._silero.probabilities(frames, region, self.snr_db)
        low0, confident, hang = babble.limits(p.min_level_db, noise.level_db, p.hang_frames)
        cold = self._cold.votes(frames)
        lv = levels.tolist()
        scores = speech_scores(region, lv, cold, silero, floor, p.on_db, p.silero_on)
        # 3. level gate, hysteresis, hang-over
        speech, evidence = decide(
            self._hysteresis,
            self._speaker,
            scores,
            ratio.tolist(),
            lv,
            low0,
            p.gate_db,
            confident,
            hang,
        )
        speech_a = np.array(speech, dtype=bool)
        # 4. learn the noise from this block's noise frames; babble on or off
        quiet = noise_frames(
            levels,
            floor,
            speech_a,
            live,
            cold,
            p.quiet_margin_db,
            p.noise_cap_db,
            low0 if babble.active else None,
        )
        noise.update(power, fpower, quiet, babble.noise_smoothing())
        babble.learn_noise_score(region, quiet)
        babble.track(speech_a, floor, self._speaker.level_db, noise)
        self.frames += n
        return FrameResults(
            speech_a, np.array(evidence, dtype=bool), levels, clip, self._soft_score(region)
        )

    def _soft_score(self, region: np.ndarray) -> np.ndarray:
        """The region score mapped to [0, 1]: 0.5 half-way between the two thresholds."""
        p = self.p
        score = region - p.off_db
        score *= 1.0 / (2.0 * (p.on_db - p.off_db))
        score += 0.5
        np.minimum(score, 1.0, out=score)
        np.maximum(score, 0.0, out=score)
        return score
