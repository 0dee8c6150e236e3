"""Faro's own voice-activity pipeline, built on the raw engines.

Per block of 10 ms frames, for one speaker's channel (everything up to the decision is a few
numpy calls per block; only the decision itself walks the frames):

1. **Level, noise floor, noise spectrum** (:mod:`audio.vad.noise`): frame level (dBFS), a
   minimum-statistics floor (~2 s) and the mean spectrum and level of the frames judged noise.
2. **Spectral evidence** (:mod:`audio.vad.spectral`): the causal long-term spectral
   divergence over the last 80 ms (the *region* score) and each frame's own band power over the
   noise (the *evidence* score), both in the 300-3400 Hz band.
3. **Silero only where it is needed** (optional extra): when this channel's estimated SNR is
   below ``strong_below_snr_db`` *and* the region score is in the uncertain band
   ``[uncertain_lo_db, uncertain_hi_db)`` (just under the start threshold), Silero is run from
   the start of that stretch (with ``silero_lead_windows`` windows of lead-in to warm its
   state) and may promote those frames to speech; it never removes speech. Frames the cheap
   path is sure about never reach it. Until the noise is known (``warmup_frames`` of a new
   stream) webrtcvad mode 3 decides instead.
4. **Relative level gates**: a frame more than ``gate_db`` below this speaker's own level
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
5. **Hysteresis and hang-over**: a region starts after ``onset_frames`` frames above ``on_db``,
   continues while the score stays above ``off_db`` and ends ``hang_frames`` after the last
   such frame.

The pipeline reports per frame the online decision (with hang-over, what the metrics use), the
*evidence* frames (offline segments are cut from them, so segment ends are not late by the
hang-over or the 80 ms window), the level and the share of clipped samples.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from audio.frames import FRAME
from audio.vad import silero as silero_mod
from audio.vad.base import VadEngine
from audio.vad.noise import NoiseTracker
from audio.vad.spectral import LongTermDivergence, band_power
from audio.vad.webrtc import WebRtcEngine

_LEVEL_SCALE = 1.0 / (FRAME * 32768.0 * 32768.0)
_CLIP = 32440
_SILENT_DB = -90.0
_NEW_SOURCE_FRAMES = 100   # signal after 1 s of digital silence: a new source, a new noise


@dataclasses.dataclass(frozen=True)
class FaroParams:
    use_silero: bool = True          # when the extra is installed
    span: int = 8                    # frames of the long-term window
    on_db: float = 6.5               # region score (long-term divergence, dB) to start...
    off_db: float = 5.5              # ...and to continue
    evidence_db: float = 0.5         # a frame's own band power over the noise to count as evidence
    onset_frames: int = 2
    hang_frames: int = 18
    gate_db: float = 24.0            # below the speaker's own level: not this speaker
    quiet_margin_db: float = 3.0     # frames this close to the floor are surely noise
    noise_cap_db: float = 12.0       # non-speech frames louder than floor + this do not train the noise
    warmup_frames: int = 50          # a new stream's first 500 ms: webrtcvad decides, the noise learns
    min_level_db: float = -62.0      # below this nothing is speech (dead air, not a whisper)
    # babble (background talkers): detected when the channel has been "speech" almost without a
    # break for many seconds (no turn lasts that long), its noise frames score like speech and
    # the background is close to the speaker in level; then only level separates the wearer
    babble_busy: float = 0.97        # share of speech frames (average over ~busy_frames)...
    babble_busy_frames: int = 300    # ...time constant of that average (3 s)
    babble_on_db: float = 5.5        # noise frames' mean region score at least this
    babble_near_db: float = 35.0     # speaker level minus the noise floor below this (and the mode
                                     # ends when the background falls further below the speaker)
    babble_gate_db: float = 5.0      # in babble: frames must stand this far above the background level
    babble_confident_db: float = 12.0  # in babble: the speaker level learns only from frames this far above it
    babble_hang_frames: int = 30   # in babble: bridges pauses of up to 300 ms (levels alone are choppy)
    babble_smoothing: float = 0.998  # in babble: the background level averages ~5 s of its frames
    strong_below_snr_db: float = 8.0
    uncertain_lo_db: float = 5.0
    uncertain_hi_db: float = 6.5
    silero_on: float = 0.5
    silero_lead_windows: int = 2


@dataclasses.dataclass
class FrameResults:
    """Per-frame outputs of one block (all arrays have one row per frame)."""

    speech: np.ndarray     # bool, online decision with hang-over
    evidence: np.ndarray   # bool, frames that carried speech evidence
    level_db: np.ndarray   # float32
    clip: np.ndarray       # float32, share of clipped samples
    score: np.ndarray      # float32, combined score

    @classmethod
    def empty(cls) -> "FrameResults":
        z = np.zeros(0, dtype=np.float32)
        return cls(z.astype(bool), z.astype(bool), z, z, z)


def levels_and_clip(frames: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame power (mean square, full scale 1), level (dBFS) and clipped share of each frame of
    a block; ``x`` is ``frames`` as float32."""
    power = np.einsum("ij,ij->i", x, x)
    power *= _LEVEL_SCALE
    power += 1e-10
    level = np.log10(power)
    level *= 10.0
    if frames.max() >= _CLIP or frames.min() <= -_CLIP:
        clip = (np.abs(frames.astype(np.int32)) >= _CLIP).mean(axis=1).astype(np.float32)
    else:
        clip = np.zeros(frames.shape[0], dtype=np.float32)
    return power, level, clip


class FaroVad(VadEngine):
    name = "faro"

    def __init__(self, params: FaroParams | None = None, *, silero: VadEngine | None = None) -> None:
        self.p = params or FaroParams()
        if silero is None and self.p.use_silero and silero_mod.available():
            silero = silero_mod.SileroEngine()
        self._silero = silero
        self._ltsd = LongTermDivergence(self.p.span)
        self._webrtc = WebRtcEngine(3)
        self._noise = NoiseTracker()
        self.reset()

    @property
    def has_silero(self) -> bool:
        return self._silero is not None

    def reset(self) -> None:
        self._ltsd.reset()
        self._noise.reset()
        if self._silero is not None:
            self._silero.reset()
        self._speaker_db: float | None = None
        self._speaking = False
        self._run = 0
        self._quiet = 0
        self._strong_active = False
        self._region_noise = 4.5
        self._silent_run = 0
        self._known = 0
        self._webrtc.reset()
        self._babble = False
        self._busy = 0.5
        self._recent = np.zeros((0, FRAME), dtype=np.int16)   # lead-in for Silero
        self.strong_frames = 0
        self.frames = 0

    # -- the estimated SNR of this channel ---------------------------------------------
    @property
    def noise_floor_db(self) -> float | None:
        return self._noise.level_db

    @property
    def speaker_level_db(self) -> float | None:
        return self._speaker_db

    @property
    def snr_db(self) -> float | None:
        floor = self._noise.level_db
        if floor is None or self._speaker_db is None:
            return None
        return self._speaker_db - floor

    def scores(self, frames: np.ndarray) -> np.ndarray:
        return self.process(frames).score

    def process(self, frames: np.ndarray) -> FrameResults:
        n = frames.shape[0]
        if n == 0:
            return FrameResults.empty()
        p = self.p
        x = frames.astype(np.float32)
        fpower, levels, clip = levels_and_clip(frames, x)
        power = band_power(x)
        noise = self._noise
        live = levels > _SILENT_DB   # digital silence (a stream starting, a muted source) is no noise
        if live.all():
            if self._silent_run >= _NEW_SOURCE_FRAMES:
                self._new_source()
            self._silent_run = 0
            noise.start(power, fpower)
            floor = noise.push_levels(levels)
        elif live.any():
            if self._silent_run + int(np.argmax(live)) >= _NEW_SOURCE_FRAMES:
                self._new_source()
            self._silent_run = n - 1 - int(np.flatnonzero(live)[-1])
            noise.start(power[live], fpower[live])
            floor = noise.push_levels(levels[live])
        else:
            self._silent_run += n
            floor = noise.floor_db if noise.floor_db is not None else _SILENT_DB
        if noise.spectrum is None:   # nothing but digital silence so far
            self._ltsd.reset()
            self.frames += n
            z = np.zeros(n, dtype=bool)
            return FrameResults(z, z.copy(), levels, clip, np.zeros(n, dtype=np.float32))
        region, ratio = self._ltsd(power, noise.inv_spectrum)
        babble = self._babble
        silero = self._strong(frames, region) if not babble else self._skip_strong(frames)

        speaker = self._speaker_db
        lv = levels.tolist()
        rg = region.tolist()
        rt = ratio.tolist()
        sp = silero.tolist() if silero is not None else None
        speech = [False] * n
        evidence = [False] * n
        speaking, run, quiet = self._speaking, self._run, self._quiet
        on, off, ev_db, onset, hang = p.on_db, p.off_db, p.evidence_db, p.onset_frames, p.hang_frames
        low0 = p.min_level_db
        confident = -99.0
        if babble:
            # talkers around: only level tells the wearer from them
            low0 = max(low0, noise.level_db + p.babble_gate_db)
            confident = noise.level_db + p.babble_confident_db
            hang = p.babble_hang_frames
        gate = p.gate_db
        low = low0 if speaker is None else max(low0, speaker - gate)
        # until the noise is known (a stream's first frames), webrtcvad's absolute model decides
        warm = min(n, max(0, p.warmup_frames - self._known))
        wr = self._webrtc.scores(frames[:warm]).tolist() if warm else []
        self._known += n
        for i in range(n):
            level = lv[i]
            r = rg[i]
            if i < warm:
                r = on if wr[i] and level > floor + 6.0 else -99.0
            if sp is not None and sp[i] >= p.silero_on:   # Silero vouches for this uncertain frame
                r = max(r, on)
            if level < low:
                r = -99.0
            if speaking:
                if r >= off:
                    quiet = 0
                    evidence[i] = rt[i] >= ev_db
                else:
                    quiet += 1
                    if quiet > hang:
                        speaking = False
                        run = 0
            else:
                if r >= on:
                    run += 1
                    evidence[i] = rt[i] >= ev_db
                    if run >= onset:
                        speaking, quiet = True, 0
                else:
                    run = 0
            speech[i] = speaking
            if evidence[i] and rt[i] >= 6.0 and r >= on and level >= confident:
                # an upper-envelope tracker of this speaker's confident frames: rises fast to
                # their loud frames, falls slowly, so quieter talkers cannot drag it down
                if speaker is None:
                    speaker = level
                else:
                    speaker += (0.05 if level > speaker else 0.004) * (level - speaker)
                low = max(low0, speaker - gate)
        self._speaking, self._run, self._quiet = speaking, run, quiet
        self._speaker_db = speaker
        speech_a = np.array(speech, dtype=bool)
        # noise frames: surely noise by level, or called non-speech by the decision
        quiet_mask = levels < floor + p.quiet_margin_db
        quiet_mask |= ~speech_a & (levels < floor + p.noise_cap_db)
        if warm:
            quiet_mask[:warm] = np.array(wr, dtype=np.float32) < 0.5
        if babble:   # the background: every frame the gate rejects
            quiet_mask = levels < low0
        quiet_mask &= live
        noise.update(power, fpower, quiet_mask, p.babble_smoothing if babble else None)
        k = int(np.count_nonzero(quiet_mask))
        if k:
            a = 0.99 ** k
            self._region_noise = a * self._region_noise + (1.0 - a) * float(region[quiet_mask].mean())
        self._track_babble(speech_a, floor)
        self.frames += n
        score = region - p.off_db
        score *= 1.0 / (2.0 * (p.on_db - p.off_db))
        score += 0.5
        np.minimum(score, 1.0, out=score)
        np.maximum(score, 0.0, out=score)
        return FrameResults(speech_a, np.array(evidence, dtype=bool), levels, clip, score)

    @property
    def babble(self) -> bool:
        """True while the background is judged to be other talkers."""
        return self._babble

    def _track_babble(self, speech: np.ndarray, floor: float) -> None:
        """Switch babble mode on or off after a block.

        On: the decision has called almost every frame speech for many seconds (a person's
        turn has pauses; talkers around a desk do not), the frames taken for noise score like
        speech, and the floor is within ``babble_near_db`` of the speaker. The background's
        level then restarts from the floor and learns from the frames the gate rejects.
        Off: the background no longer scores like speech (the room went quiet, or it was a
        steady noise after all)."""
        p = self.p
        if self._babble:
            speaker, level = self._speaker_db, self._noise.level_db
            if speaker is not None and level is not None and speaker - level > p.babble_near_db:
                self._babble = False      # the room went quiet
                self._busy = 0.5
            return
        n = speech.shape[0]
        a = (1.0 - 1.0 / p.babble_busy_frames) ** n
        self._busy = a * self._busy + (1.0 - a) * float(speech.mean())
        speaker = self._speaker_db
        if (self._busy >= p.babble_busy and self._region_noise >= p.babble_on_db
                and speaker is not None and speaker - floor < p.babble_near_db):
            self._babble = True
            self._noise.restart_level(floor)

    def _new_source(self) -> None:
        """Signal after 1 s or more of digital silence: a new source, a new noise."""
        self._babble = False
        self._busy = 0.5
        self._noise.reset()
        self._ltsd.reset()
        self._webrtc.reset()
        self._known = 0

    def _skip_strong(self, frames: np.ndarray) -> None:
        """Babble is speech to Silero too: it is not asked, only its lead-in is kept."""
        if self._silero is not None:
            lead = self.p.silero_lead_windows * silero_mod.WINDOW // FRAME + 1
            self._strong_active = False
            self._recent = np.concatenate((self._recent, frames))[-lead:]
        return None

    def _strong(self, frames: np.ndarray, region: np.ndarray) -> np.ndarray | None:
        """Silero's probability on the uncertain frames of a low-SNR block (-1 elsewhere)."""
        if self._silero is None:
            return None
        p = self.p
        snr = self.snr_db
        lead = p.silero_lead_windows * silero_mod.WINDOW // FRAME + 1
        if snr is not None and snr >= p.strong_below_snr_db:
            self._strong_active = False
            self._recent = frames[-lead:]
            return None
        unsure = (region >= p.uncertain_lo_db) & (region < p.uncertain_hi_db)
        if not unsure.any():
            self._strong_active = False
            self._recent = np.concatenate((self._recent, frames))[-lead:]
            return None
        first = int(np.argmax(unsure))
        if not self._strong_active:
            # warm a fresh state on the lead-in before the first uncertain frame
            self._silero.reset()
            self._silero.scores(np.concatenate((self._recent, frames[:first]))[-lead:])
            run_from = first
        else:
            run_from = 0
        probs = self._silero.scores(frames[run_from:])
        self._strong_active = True
        out = np.full(frames.shape[0], -1.0, dtype=np.float32)
        out[run_from:] = probs
        out[~unsure] = -1.0
        self.strong_frames += frames.shape[0] - run_from
        self._recent = np.concatenate((self._recent, frames))[-lead:]
        return out
