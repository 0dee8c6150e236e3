"""Noise conditions: white, pink, brown at 20/10/5/0 dB SNR, babble, and a phone band."""

from __future__ import annotations

import numpy as np

from audio.frames import FRAME, RATE
from audio.resample import resample


def coloured(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Noise with a 1/f**exponent power spectrum (0 white, 1 pink, 2 brown), unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    f[0] = f[1]
    spec *= f ** (-exponent / 2)
    spec[f < 20] = 0  # no DC drift
    x = np.fft.irfft(spec, n)
    return (x / np.sqrt(np.mean(x**2))).astype(np.float32)


def babble(
    n: int, pool: list[np.ndarray], rng: np.random.Generator, talkers: int = 6
) -> np.ndarray:
    out = np.zeros(n, np.float32)
    for _ in range(talkers):
        pos = int(rng.uniform(0, 2) * RATE)
        while pos < n:
            u = pool[rng.integers(len(pool))]
            b = min(n, pos + u.size)
            out[pos:b] += u[: b - pos]
            pos = b + int(rng.uniform(0.05, 0.4) * RATE)
    return (out / np.sqrt(np.mean(out**2))).astype(np.float32)


def speech_power(x: np.ndarray, truth: np.ndarray) -> float:
    frames = x[: truth.size * FRAME].reshape(-1, FRAME)[truth[: x.size // FRAME]]
    return float(np.mean(frames.astype(np.float64) ** 2)) if frames.size else 1e-6


def phone_band(x: np.ndarray) -> np.ndarray:
    """300-3400 Hz at 8 kHz through G.711 mu-law, back at 16 kHz."""
    y = resample(x, RATE, 8000).astype(np.float64)
    spec = np.fft.rfft(y)
    f = np.fft.rfftfreq(y.size, 1 / 8000)
    spec[(f < 300) | (f > 3400)] = 0
    y = np.clip(np.fft.irfft(spec, y.size), -1, 1)
    mu = 255.0
    code = np.round(np.sign(y) * np.log1p(mu * np.abs(y)) / np.log1p(mu) * 127) / 127
    y = np.sign(code) * ((1 + mu) ** np.abs(code) - 1) / mu
    return resample(y.astype(np.float32), 8000, RATE)


CONDITIONS = (
    ["clean"]
    + [f"{c}{snr}" for c in ("white", "pink", "brown") for snr in (20, 10, 5, 0)]
    + ["babble10", "babble5", "phone_pink10"]
)


def mix(
    condition: str, clean: np.ndarray, truth: np.ndarray, pool: list[np.ndarray], seed: int
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = clean.size
    floor = (rng.standard_normal(n) * 10 ** (-70 / 20)).astype(np.float32)  # a mic's self-noise
    if condition == "clean":
        return clean + floor
    kind = condition.rstrip("0123456789")
    snr = float(condition[len(kind) :])
    if kind == "phone_pink":
        noisy = mix(f"pink{int(snr)}", clean, truth, pool, seed)
        return phone_band(noisy)
    noise = {
        "white": lambda: coloured(n, 0, rng),
        "pink": lambda: coloured(n, 1, rng),
        "brown": lambda: coloured(n, 2, rng),
        "babble": lambda: babble(n, pool, rng),
    }[kind]()
    p = speech_power(clean, truth)
    return clean + noise * np.float32(np.sqrt(p / 10 ** (snr / 10))) + floor
