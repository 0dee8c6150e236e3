"""Faro's own voice-activity pipeline, built on the raw engines.

Per 10 ms frame, for one speaker's channel:

1. **Level and noise floor.** The frame level (dBFS) and a minimum-statistics noise floor:
   the lowest level of the last ~2 s (eight 250 ms sub-windows), plus a small bias.
2. **Scores.** webrtcvad (cheap), a spectral likelihood against the tracked noise spectrum
   (cheap, robust to stationary noise of any colour) and, when the optional extra is
   installed, Silero (strong, ~35x dearer).
3. **SNR-based combination.** The estimated SNR is the speaker's own speech level minus the
   noise floor. Above ``strong_below_snr_db`` the cheap scores decide and Silero is not run
   at all; below it Silero is run and weighs most.
4. **Relative level gate.** A frame more than ``gate_db`` below this speaker's own speech
   level cannot be *this* speaker (a headset mic is close to the mouth): background talkers,
   the TV, the caller bleeding into the counselor's mic.
5. **Hysteresis and hang-over.** Speech starts after ``onset_frames`` frames above ``on``,
   continues while the score stays above ``off``, and ends ``hang_frames`` after the last
   such frame.

The pipeline reports, per frame, the online decision (with hang-over, what the metrics use),
the *evidence* frames (what offline segments are cut from, so segment ends are not late by
the hang-over), the level and the share of clipped samples.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from audio.frames import clip_fractions, frame_levels_db
from audio.vad import silero as silero_mod
from audio.vad.base import VadEngine
from audio.vad.spectral import SpectralScore
from audio.vad.webrtc import WebRtcEngine


@dataclasses.dataclass(frozen=True)
class FaroParams:
    webrtc_mode: int = 2
    use_silero: bool = True          # when the extra is installed
    strong_below_snr_db: float = 14.0
    llr_low: float = 0.9             # spectral statistic mapped to [0, 1] between these
    llr_high: float = 2.4
    on: float = 0.6
    off: float = 0.45
    onset_frames: int = 2
    hang_frames: int = 18
    gate_db: float = 24.0
    floor_bias_db: float = 1.5
    quiet_margin_db: float = 3.0     # frames this close to the floor update the noise spectrum
    min_level_db: float = -62.0      # below this nothing is speech (dead air, not a whisper)
    floor_gate: float = 0.0          # frames must stand this share of the SNR above the floor...
    floor_gate_max_db: float = 6.0   # ...up to this many dB (steady babble sits at the floor)


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


class _Floor:
    """Minimum statistics over eight 25-frame sub-windows (~2 s)."""

    __slots__ = ("sub", "sub_n", "ring", "value")

    def __init__(self) -> None:
        self.sub = 1e9
        self.sub_n = 0
        self.ring: list[float] = []
        self.value: float | None = None

    def push(self, level: float) -> float:
        if level < self.sub:
            self.sub = level
        self.sub_n += 1
        if self.value is None or level < self.value:
            self.value = level if self.value is None else min(self.value, level)
        if self.sub_n >= 25:
            self.ring.append(self.sub)
            if len(self.ring) > 8:
                del self.ring[0]
            self.value = min(self.ring)
            self.sub, self.sub_n = 1e9, 0
        return self.value


class FaroVad(VadEngine):
    name = "faro"

    def __init__(self, params: FaroParams | None = None, *, silero: VadEngine | None = None) -> None:
        self.p = params or FaroParams()
        self._webrtc = WebRtcEngine(self.p.webrtc_mode)
        self._spectral = SpectralScore()
        if silero is None and self.p.use_silero and silero_mod.available():
            silero = silero_mod.SileroEngine()
        self._silero = silero
        self.reset()

    @property
    def has_silero(self) -> bool:
        return self._silero is not None

    def reset(self) -> None:
        self._webrtc.reset()
        self._spectral.reset()
        if self._silero is not None:
            self._silero.reset()
        self._floor = _Floor()
        self._speaker_db: float | None = None
        self._speaking = False
        self._run = 0     # consecutive frames above `on` while silent
        self._quiet = 0   # frames since the last evidence while speaking
        self.strong_frames = 0
        self.frames = 0

    # -- the estimated SNR of this channel ---------------------------------------------
    @property
    def noise_floor_db(self) -> float | None:
        return None if self._floor.value is None else self._floor.value + self.p.floor_bias_db

    @property
    def speaker_level_db(self) -> float | None:
        return self._speaker_db

    @property
    def snr_db(self) -> float | None:
        floor = self.noise_floor_db
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
        levels = frame_levels_db(frames)
        clip = clip_fractions(frames).astype(np.float32)
        power = self._spectral.band_power(frames)
        llr = self._spectral.llr(power)
        cheap = np.clip((llr - p.llr_low) * (1.0 / (p.llr_high - p.llr_low)), 0.0, 1.0)
        web = self._webrtc.scores(frames)
        snr = self.snr_db
        strong = self._silero is not None and (snr is None or snr < p.strong_below_snr_db)
        if strong:
            sil = self._silero.scores(frames)
            score = 0.6 * sil + 0.25 * cheap + 0.15 * web
            self.strong_frames += n
        else:
            if self._silero is not None:
                self._silero.reset()  # its state would be stale when it is needed again
            score = 0.7 * cheap + 0.3 * web
        score = score.astype(np.float32)

        speech = np.zeros(n, dtype=bool)
        evidence = np.zeros(n, dtype=bool)
        quiet_mask = np.zeros(n, dtype=bool)
        floor = self._floor
        speaker = self._speaker_db
        speaking, run, quiet = self._speaking, self._run, self._quiet
        on, off, onset, hang = p.on, p.off, p.onset_frames, p.hang_frames
        gate_db, min_level, bias, qmargin = p.gate_db, p.min_level_db, p.floor_bias_db, p.quiet_margin_db
        fgate = 0.0 if snr is None else min(p.floor_gate_max_db, max(0.0, p.floor_gate * (snr - 6.0)))
        lv = levels.tolist()
        sc = score.tolist()
        for i in range(n):
            level = lv[i]
            fl = floor.push(level) + bias
            s = sc[i]
            if level < min_level or level < fl + fgate or (speaker is not None and level < speaker - gate_db):
                s = 0.0
            if level < fl + qmargin:
                quiet_mask[i] = True
            if speaking:
                if s >= off:
                    quiet = 0
                    evidence[i] = True
                else:
                    quiet += 1
                    if quiet > hang:
                        speaking = False
                        run = 0
            if not speaking:
                if s >= on:
                    run += 1
                    evidence[i] = True
                    if run >= onset:
                        speaking, quiet = True, 0
                else:
                    run = 0
            speech[i] = speaking
            if speaking and evidence[i] and level > fl + 6.0:
                # an upper-envelope tracker: rises fast to this speaker's loud frames, falls slowly,
                # so quieter background talkers called "speech" cannot drag it down
                if speaker is None:
                    speaker = level
                else:
                    speaker += (0.05 if level > speaker else 0.004) * (level - speaker)
        self._speaking, self._run, self._quiet = speaking, run, quiet
        self._speaker_db = speaker
        self._spectral.update_noise(power, quiet_mask)
        self.frames += n
        return FrameResults(speech, evidence, levels.astype(np.float32), clip, score)
