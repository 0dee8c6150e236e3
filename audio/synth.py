"""Speech-like signals made from numbers, for the demo and the tests (no TTS at run time).

An utterance is a sequence of syllables: a voiced nucleus (a glottal-like harmonic source
on a wandering pitch, shaped by two or three formant resonances that move between vowel
targets) with an attack/decay envelope, sometimes led by a short unvoiced fricative burst.
webrtcvad and Silero both take it for speech; it is deterministic for a given seed.
"""

from __future__ import annotations

import numpy as np

from audio.frames import RATE

_VOWELS = (
    (730, 1090, 2440),
    (270, 2290, 3010),
    (530, 1840, 2480),
    (570, 840, 2410),
    (300, 870, 2240),
    (660, 1720, 2410),
    (490, 1350, 1690),
)


def _resonate(x: np.ndarray, freq: np.ndarray, bw: float, rate: int) -> np.ndarray:
    """A two-pole resonator with a time-varying centre frequency (per-sample loop in numpy chunks)."""
    out = np.zeros_like(x)
    r = np.exp(-np.pi * bw / rate)
    y1 = y2 = 0.0
    step = 80
    for s in range(0, x.size, step):
        f = float(freq[s])
        a1 = 2 * r * np.cos(2 * np.pi * f / rate)
        a2 = -r * r
        seg = x[s : s + step]
        o = np.empty_like(seg)
        for i in range(seg.size):
            y = seg[i] + a1 * y1 + a2 * y2
            o[i] = y
            y2, y1 = y1, y
        out[s : s + step] = o
    return out * (1 - r)


def utterance(
    duration_s: float,
    *,
    seed: int = 0,
    f0: float = 140.0,
    rate: int = RATE,
    level_db: float = -20.0,
) -> np.ndarray:
    """A speech-like utterance of about ``duration_s`` seconds, RMS near ``level_db`` dBFS.

    Energy starts within 20 ms of sample 0 and stops within 20 ms of the end, so the
    utterance's extent is its truth.
    """
    rng = np.random.default_rng(seed)
    n = int(duration_s * rate)
    out = np.zeros(n, dtype=np.float64)
    pos = 0
    while pos < n:
        syl = int(rng.uniform(0.14, 0.26) * rate)
        syl = min(syl, n - pos)
        if syl < int(0.05 * rate):
            break
        t = np.arange(syl) / rate
        pitch = (
            f0
            * (1 + 0.12 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t + rng.uniform(0, 6)))
            * (1 + 0.01 * rng.standard_normal(syl).cumsum() / np.sqrt(syl))
        )
        phase = 2 * np.pi * np.cumsum(pitch) / rate
        src = np.zeros(syl)
        for h in range(1, 30):
            src += np.sin(h * phase) / h
        v0, v1 = _VOWELS[rng.integers(len(_VOWELS))], _VOWELS[rng.integers(len(_VOWELS))]
        voiced = np.zeros(syl)
        for k in range(3):
            fk = np.linspace(v0[k], v1[k], syl)
            voiced += _resonate(src, fk, 80 + 40 * k, rate) * (1.0, 0.6, 0.3)[k]
        env = np.minimum(1.0, np.minimum(t / 0.015, (t[-1] - t + 1e-3) / 0.04))
        env *= 0.6 + 0.4 * np.sin(np.pi * t / t[-1])
        seg = voiced * env
        if rng.random() < 0.35 and syl > int(0.1 * rate):
            m = int(0.05 * rate)
            noise = rng.standard_normal(m)
            noise = np.diff(noise, prepend=0.0)  # tilt towards the highs like /s/
            seg[:m] = 0.3 * noise * np.std(voiced) * np.minimum(1, np.arange(m) / (0.01 * rate))
        out[pos : pos + syl] = seg
        pos += syl
        if rng.random() < 0.15 and pos < n - int(0.3 * rate):
            pos += int(rng.uniform(0.04, 0.09) * rate)  # a short stop closure inside the word
    rms = np.sqrt(np.mean(out[out != 0] ** 2)) if np.any(out) else 1.0
    out *= 10 ** (level_db / 20) / rms
    return out.astype(np.float32)


def noise(duration_s: float, level_db: float, *, seed: int = 0, rate: int = RATE) -> np.ndarray:
    """White noise at ``level_db`` dBFS RMS (a mic's self-noise, a line's hiss)."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(duration_s * rate)) * 10 ** (level_db / 20)).astype(np.float32)


def place(track: np.ndarray, start_s: float, signal: np.ndarray, rate: int = RATE) -> None:
    """Add ``signal`` into ``track`` at ``start_s`` (clipped to the track)."""
    a = int(start_s * rate)
    if a >= track.size:
        return
    b = min(track.size, a + signal.size)
    track[a:b] += signal[: b - a]
