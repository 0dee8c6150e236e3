"""Known speech-like recordings with their truth, and segment comparison, for audio tests."""

from __future__ import annotations

import numpy as np

from audio import synth
from audio.frames import RATE


def known_recording(
    rate: int = RATE, seed: int = 7
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """About 9 s: three utterances at known times over a quiet noise floor, and their truth."""
    truth = [(1.0, 2.6), (3.6, 5.8), (7.0, 8.2)]
    track = synth.noise(9.5, -60.0, seed=seed)
    for i, (a, b) in enumerate(truth):
        synth.place(
            track, a, synth.utterance(b - a, seed=seed + i, f0=130 + 30 * i, level_db=-18.0)
        )
    if rate != RATE:
        from audio.resample import resample

        track = resample(track, RATE, rate)
    return track.astype(np.float32), truth


def match_segments(
    found: list[list[float]] | list[tuple[float, float]],
    truth: list[tuple[float, float]],
    tol: float,
) -> list[str]:
    """Problems (empty when every truth segment has one found segment within ``tol`` at both ends
    and nothing else was found)."""
    problems = []
    if len(found) != len(truth):
        problems.append(f"{len(found)} segments found, {len(truth)} expected: {found}")
    for (ta, tb), seg in zip(truth, found, strict=False):  # a count mismatch is reported above
        fa, fb = seg
        if abs(fa - ta) > tol or abs(fb - tb) > tol:
            problems.append(f"segment {seg} vs truth {(ta, tb)}")
    return problems


#: a human speaker's recorded prompts (Debian asterisk-core-sounds-en-wav)
HUMAN_PROMPTS = "/usr/share/asterisk/sounds/en_US_f_Allison"


def recorded_speech(
    rate: int = RATE, seed: int = 3, count: int = 3
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """``count`` recorded prompts of a human speaker, each 1-3 s and one segment (no inner
    pause of 300 ms or more), placed 1.2 s apart after a 1 s lead-in, and their truth."""
    import glob
    from pathlib import Path

    from audio.frames import FRAME, frame_levels_db
    from audio.resample import resample
    from audio.wavread import read_wav

    files = sorted(glob.glob(f"{HUMAN_PROMPTS}/*.wav"))
    if not files:
        raise FileNotFoundError(f"{HUMAN_PROMPTS}: apt-get install asterisk-core-sounds-en-wav")
    rng = np.random.default_rng(seed)
    picked: list[tuple[np.ndarray, float, float]] = []
    for f in rng.permutation(files):
        data, file_rate = read_wav(Path(f))
        x = resample(data[:, 0], file_rate, RATE).astype(np.float32)
        frames = (np.clip(np.pad(x, (0, -x.size % FRAME)), -1, 1) * 32767).astype(np.int16)
        lv = frame_levels_db(frames.reshape(-1, FRAME))
        on = np.flatnonzero(lv > lv.max() - 35)
        if on.size == 0 or np.diff(on).max(initial=0) >= 30:
            continue
        a, b = on[0] * FRAME / RATE, (on[-1] + 1) * FRAME / RATE
        if 1.0 <= b - a <= 3.0:
            picked.append((x, a, b))
        if len(picked) == count:
            break
    track = synth.noise(1.0 + sum(p[0].size / RATE + 1.2 for p in picked), -65.0, seed=seed)
    truth, at = [], 1.0
    for x, a, b in picked:
        i = int(at * RATE)
        track[i : i + x.size] += x * np.float32(10 ** (-6 / 20))
        truth.append((round(at + a, 3), round(at + b, 3)))
        at += x.size / RATE + 1.2
    if rate != RATE:
        from audio.resample import resample as rs

        track = rs(track, RATE, rate)
    return track.astype(np.float32), truth
