"""Faro's own voice-activity pipeline (engine ``faro``), built on the raw engines.

Per block of 10 ms frames, for one speaker's channel (everything up to the decision is a few
numpy calls per block; only the decision itself walks the frames). Nothing in it is an
absolute level: every level is relative to the channel's own noise or to its speaker's own
speech, so a whispering caller and a loud one are treated alike.

1. **Level, noise floor, noise spectrum** (:mod:`audio.vad.levels`, :mod:`audio.vad.noise`):
   frame level (dBFS), a minimum-statistics floor (~2 s) and the mean spectrum and level of
   the frames judged noise.
2. **Spectral evidence** (:mod:`audio.vad.spectral`): the causal long-term spectral
   divergence over the last 80 ms (the *region* score) and each frame's own band power over
   the noise (which frames are confident enough to teach the speaker level), both in the
   300-3400 Hz band.
3. **Silero where the cheap score is not sure** (optional extra; :mod:`audio.vad.score`): on
   frames whose region score lies between ``off_db`` and ``on_db`` (the hysteresis band,
   where on the tuning voices 25-90 % of frames are speech: the cheap score's measured
   calibration) and that are near the speaker's level, outside a region; and, inside a
   region, on every frame the cheap score would not continue (within the continue gate),
   for as long as the region is open: there the cheap score's "not speech" is the unsure
   answer (at 0 dB it misses whole words at any score), and Silero, whose recurrent state
   is kept across the stretches it is shown, decides. Silero is asked only where its
   answer can change the decision, and may only add speech. Until the noise is known
   (``warmup_frames`` of a new stream) webrtcvad mode 3 decides instead.
4. **The speaker's own level** (:mod:`audio.vad.decision`), on the wearer's mic only
   (``side`` "near" or unknown): a region can only *start* on a frame within ``start_db`` of
   this speaker's level (learnt from its confident frames); it *continues* on frames within
   ``gate_db`` of it, but frames under the start gate are evidence only for ``span`` frames
   after the last one near the speaker's level (the word's tail, as far as the region score's
   own window reaches). Background talkers (a TV, family in the next room) are further below
   the wearer than that, all the time, not only when loud. On the caller's line (``side``
   "far") everyone heard is the caller's side (a second person on the line is caller speech),
   so there is no start gate: a caller who drops to a whisper mid-call is speech at once.
5. **Hysteresis and hang-over** (:mod:`audio.vad.decision`): a region starts after
   ``onset_frames`` frames above ``on_db``, continues while the score stays above ``off_db``
   and ends ``hang_frames`` after the last such frame. The live decision holds a region's
   hang-over for at most ``hold`` frames per frame of evidence near the speaker's level the
   region has had: a background talker's loud syllable that opens a region is held for a few
   frames, not for 300 ms.

The pipeline reports per frame the online decision (with hang-over, what the metrics use), the
*evidence* frames (the frames that start or continue a region), the *region* (the frames the
decision held open, its whole hang-over included: offline segments are the regions cut back
to their evidence, so segment ends are not late by the hang-over; they may trail the speech by
up to the 80 ms window), the level and the share of clipped samples.

:meth:`FaroVad.process` runs the stages in that order; each is a small object or function in
its own module, tested alone (tests/audio/test_audio_vad_stages.py).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from audio.events import FAR
from audio.vad import silero as silero_mod
from audio.vad.base import VadEngine
from audio.vad.decision import Hysteresis, SpeakerLevel, decide
from audio.vad.levels import SourceWatch, levels_and_clip
from audio.vad.noise import NoiseTracker, noise_frames
from audio.vad.score import (
    NOT_SPEECH,
    ColdStart,
    SileroOnUncertain,
    silero_continues,
    silero_needed,
    speech_scores,
)
from audio.vad.spectral import LongTermDivergence, band_power


@dataclasses.dataclass(frozen=True)
class FaroParams:
    """Every constant of the pipeline; docs/audio.md ("VAD engines") justifies each."""

    use_silero: bool = True  # when the extra is installed
    span: int = 8  # frames of the long-term window (80 ms)
    on_db: float = 6.5  # region score (long-term divergence, dB) to start...
    off_db: float = 5.25  # ...and to continue; Silero is asked in between
    onset_frames: int = 2
    hang_frames: int = 30  # 300 ms after the last frame near the speaker level...
    hold: float = 2.0  # ...live, at most this many frames per near evidence frame of the region
    start_db: float = 9.0  # a region starts only within this of the speaker's own level...
    gate_db: float = 24.0  # ...and continues only within this of it
    quiet_margin_db: float = 3.0  # frames this close to the floor are surely noise
    noise_cap_db: float = 12.0  # non-speech frames louder than floor + this do not train the noise
    warmup_frames: int = 50  # a new stream's first 500 ms: webrtcvad decides, the noise learns


@dataclasses.dataclass
class FrameResults:
    """Per-frame outputs of one block (all arrays have one row per frame)."""

    speech: np.ndarray  # bool, online decision with hang-over
    evidence: np.ndarray  # bool, frames that carried speech evidence
    level_db: np.ndarray  # float32
    clip: np.ndarray  # float32, share of clipped samples
    score: np.ndarray  # float32, combined score
    region: np.ndarray  # bool, the region the decision held open (offline segments' source)

    @classmethod
    def empty(cls) -> FrameResults:
        z = np.zeros(0, dtype=np.float32)
        return cls(z.astype(bool), z.astype(bool), z, z, z, z.astype(bool))


class FaroVad(VadEngine):
    name = "faro"

    def __init__(
        self,
        params: FaroParams | None = None,
        *,
        silero: VadEngine | None = None,
        side: str | None = None,
    ) -> None:
        self.p = p = params or FaroParams()
        # the wearer's start gate holds only on the wearer's own mic (``side`` "near" or
        # unknown); on the caller's line ("far") everyone heard is the caller's side
        self.side = side
        self._start_db = math.inf if side == FAR else p.start_db
        if silero is None and p.use_silero and silero_mod.available():
            silero = silero_mod.SileroEngine()
        self._source = SourceWatch()
        self._noise = NoiseTracker()
        self._ltsd = LongTermDivergence(p.span)
        self._cold = ColdStart(p.warmup_frames)
        self._silero = SileroOnUncertain(silero)
        self._hysteresis = Hysteresis(p.on_db, p.off_db, p.onset_frames, p.span, p.hold)
        self._speaker = SpeakerLevel()
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
        self.frames = 0

    def _new_source(self) -> None:
        """Signal after 1 s or more of digital silence: a new source, a new noise."""
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
        if noise.inv_spectrum is None:  # nothing but digital silence so far
            self._ltsd.reset()
            self.frames += n
            z = np.zeros(n, dtype=bool)
            return FrameResults(z, z.copy(), levels, clip, np.zeros(n, dtype=np.float32), z.copy())
        # 2. the speech score: region score, cold start, Silero where the cheap path is unsure
        region, ratio = self._ltsd(power, noise.inv_spectrum)
        silero = None
        if self._silero.engine is not None:
            level_db = self._speaker.level_db
            start_low = in_low = NOT_SPEECH
            if level_db is not None:
                start_low, in_low = level_db - self._start_db, level_db - p.gate_db
            if self._hysteresis.speaking:
                need = silero_continues(region, levels, p.off_db, in_low)
            else:
                need = silero_needed(region, levels, p.off_db, p.on_db, start_low)
            silero = self._silero.probabilities(frames, need)
        cold = self._cold.votes(frames)
        lv = levels.tolist()
        scores = speech_scores(region, lv, cold, silero, floor, p.on_db)
        # 3. the speaker's own level, hysteresis, hang-over
        speech, evidence, held = decide(
            self._hysteresis,
            self._speaker,
            scores,
            ratio.tolist(),
            lv,
            self._start_db,
            p.gate_db,
            p.hang_frames,
        )
        held_a = np.array(held, dtype=bool)
        # 4. learn the noise from this block's noise frames (none of a region's)
        quiet = noise_frames(levels, floor, held_a, live, cold, p.quiet_margin_db, p.noise_cap_db)
        noise.update(power, fpower, quiet)
        self.frames += n
        return FrameResults(
            np.array(speech, dtype=bool),
            np.array(evidence, dtype=bool),
            levels,
            clip,
            self._soft_score(region),
            held_a,
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
