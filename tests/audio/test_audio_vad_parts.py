"""The parts of Faro's VAD pipeline: band spectrum, long-term divergence, noise tracking,
cold start and the per-frame cost structure."""

from __future__ import annotations

import numpy as np

from audio import synth
from audio.frames import FRAME, RATE, Framer
from audio.segments import runs, trim_hangover
from audio.vad import FaroParams, FaroVad, spectral
from audio.vad.noise import NoiseTracker


def test_band_power_equals_the_fft_of_the_telephone_band():
    x = np.random.default_rng(0).standard_normal((7, FRAME)).astype(np.float32) * 3000
    ref = (
        np.abs(
            np.fft.rfft(x * np.hanning(FRAME) / 32768, axis=1)[
                :, spectral.LOW_BIN : spectral.HIGH_BIN
            ]
        )
        ** 2
    )
    assert np.allclose(spectral.band_power(x), ref, rtol=1e-4, atol=1e-10)
    hz = np.arange(spectral.LOW_BIN, spectral.HIGH_BIN) * RATE / FRAME
    assert hz[0] >= 300 and hz[-1] <= 3400  # nothing a phone line removes


def test_long_term_divergence_is_a_causal_running_maximum_across_blocks():
    rng = np.random.default_rng(1)
    p = rng.random((37, spectral.BINS)).astype(np.float32) + 0.01
    inv = (1.0 / rng.random(spectral.BINS) + 0.5).astype(np.float32)
    for span in (1, 3, 8, 12):
        ltsd = spectral.LongTermDivergence(span)
        got = np.concatenate([ltsd(p[i : i + 10], inv)[0] for i in range(0, 37, 10)])
        hist = np.concatenate((np.repeat(p[:1], span - 1, axis=0), p))
        want = [10 * np.log10((hist[i : i + span].max(axis=0) * inv).mean()) for i in range(37)]
        assert np.allclose(got, want, atol=1e-4), span


def test_steady_noise_of_any_colour_scores_low_and_speech_high():
    rng = np.random.default_rng(2)
    for exponent in (0.0, 1.0, 2.0):
        spec = np.fft.rfft(rng.standard_normal(RATE * 3))
        f = np.maximum(np.fft.rfftfreq(RATE * 3, 1 / RATE), 20.0)
        noise = np.fft.irfft(spec * f ** (-exponent / 2), RATE * 3)
        noise = (noise / noise.std() * 0.01).astype(np.float32)
        frames = Framer().push(noise).astype(np.float32)
        power = spectral.band_power(frames)
        inv = (1.0 / power.mean(axis=0)).astype(np.float32)
        region, _ = spectral.LongTermDivergence(8)(power, inv)
        assert 3.0 < np.median(region) < 5.5, exponent  # the noise's own constant (~4.3 dB)
        speechy = noise.copy()
        synth.place(speechy, 1.0, synth.utterance(1.0, seed=1, level_db=-40.0))  # 0 dB SNR
        r2, _ = spectral.LongTermDivergence(8)(
            spectral.band_power(Framer().push(speechy).astype(np.float32)), inv
        )
        assert np.median(r2[110:190]) > np.percentile(region, 99), exponent


def test_noise_tracker_floor_follows_a_rising_noise_within_about_two_seconds():
    nt = NoiseTracker()
    for level in [-60.0] * 30 + [-40.0] * 30:  # blocks of 10 frames: 3 s, then 3 s
        floor = nt.push_levels(np.full(10, level))
    assert floor == -40.0
    nt2 = NoiseTracker()
    floors = [nt2.push_levels(np.full(10, lv)) for lv in [-60.0] * 30 + [-40.0] * 15]
    assert floors[-1] == -60.0  # 1.5 s later it still remembers the quiet


def test_noise_tracker_averages_only_the_frames_marked_as_noise():
    nt = NoiseTracker()
    p = np.ones((10, spectral.BINS), np.float32)
    fp = np.full(10, 1e-6, np.float32)
    nt.start(p, fp)
    loud = p.copy()
    loud[5:] *= 1000.0
    for _ in range(50):
        nt.update(loud, fp, np.arange(10) < 5)
    assert np.allclose(nt.spectrum, 1.0, rtol=1e-3)
    assert abs(nt.level_db + 60.0) < 0.1


def test_cold_start_on_speech_without_any_noise_still_finds_it():
    """A telephony tap can start on speech with no noise before it (the noise is unknown)."""
    x = np.zeros(RATE * 3, np.float32)
    synth.place(x, 1.2, synth.utterance(1.5, seed=3))
    v = FaroVad(FaroParams(use_silero=False))
    frames = Framer().push(x)
    parts = [v.process(frames[i : i + 2]) for i in range(0, len(frames), 2)]
    speech = np.concatenate([p.speech for p in parts])
    assert speech[125:265].mean() > 0.9
    assert not speech[:115].any()


def test_a_noise_that_starts_after_digital_silence_is_not_speech():
    rng = np.random.default_rng(4)
    x = np.concatenate(
        (
            rng.standard_normal(RATE // 2) * 1e-4,
            np.zeros(RATE * 2),
            rng.standard_normal(RATE * 2) * 10 ** (-50 / 20),
        )
    ).astype(np.float32)
    v = FaroVad(FaroParams(use_silero=False))
    frames = Framer().push(x)
    parts = [v.process(frames[i : i + 10]) for i in range(0, len(frames), 10)]
    assert not np.concatenate([p.speech for p in parts]).any()


def test_wearer_is_found_over_quieter_background_talkers_in_blocks():
    """Background speech 30 dB below the wearer's loud frames is gated out frame by frame,
    also inside one large block."""
    rng = np.random.default_rng(6)
    y = (rng.standard_normal(RATE * 9) * 0.001).astype(np.float32)
    synth.place(y, 1.0, synth.utterance(2.0, seed=3, level_db=-12.0))
    synth.place(y, 4.5, synth.utterance(2.0, seed=4, level_db=-44.0))
    res = FaroVad(FaroParams(use_silero=False)).process(Framer().push(y))
    segs = runs(trim_hangover(res.region, res.evidence, 2))
    assert len(segs) == 1 and abs(segs[0][0] - 100) <= 15 and abs(segs[0][1] - 300) <= 20, segs


def test_clipping_is_measured_only_where_it_happens():
    x = np.zeros((10, FRAME), np.int16)
    x[3, :80] = 32767
    res = FaroVad(FaroParams(use_silero=False)).process(x)
    assert res.clip[3] == 0.5 and res.clip[[0, 1, 2, 4]].sum() == 0
