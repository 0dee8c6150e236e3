"""Babble mode of Faro's VAD: background talkers close in level are detected and gated out by
level, and nothing else switches it on (the demo's synthetic calls, clean human speech, a
long monologue in steady noise)."""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np
import pytest

from audio import conversations, synth
from audio.frames import RATE, Framer
from audio.resample import resample
from audio.vad import FaroParams, FaroVad
from audio.wavread import read_wav

HUMAN = "/usr/share/asterisk/sounds/en_US_f_Allison"  # Debian asterisk-core-sounds-en-wav (a human speaker)


def _run(vad: FaroVad, x: np.ndarray, block: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame (speech, babble mode) of a whole signal fed in live-sized blocks."""
    frames = Framer().push(x)
    speech, babble = [], []
    for i in range(0, len(frames), block):
        r = vad.process(frames[i : i + block])
        speech.append(r.speech)
        babble.append(np.full(r.speech.size, vad.babble))
    return np.concatenate(speech), np.concatenate(babble)


def _talkers_room(
    seconds: float, level_db: float, rng: np.random.Generator, talkers: int = 6
) -> np.ndarray:
    """``talkers`` overlapping voices of short synthetic utterances, like the benchmark's babble."""
    pool = [
        synth.utterance(1.6, seed=200 + k, f0=110 + 25 * k, level_db=-30.0) for k in range(talkers)
    ]
    n = int(seconds * RATE)
    out = np.zeros(n, np.float32)
    for _ in range(talkers):
        pos = int(rng.uniform(0, 1) * RATE)
        while pos < n:
            u = pool[rng.integers(len(pool))]
            b = min(n, pos + u.size)
            out[pos:b] += u[: b - pos]
            pos = b + int(rng.uniform(0.05, 0.3) * RATE)
    return out * np.float32(10 ** (level_db / 20) / np.sqrt(np.mean(out**2)))


def test_background_talkers_10_db_below_the_wearer_are_detected_and_gated_out():
    rng = np.random.default_rng(11)
    seconds = 40.0
    x = _talkers_room(seconds, -32.0, rng) + synth.noise(seconds, -70.0, seed=3)
    truth = np.zeros(int(seconds * 100), bool)
    t = 1.0
    k = 0
    while t < seconds - 4:  # the wearer: turns of 1.5-3 s with pauses between
        d = 1.5 + (k % 3) * 0.75
        synth.place(x, t, synth.utterance(d, seed=300 + k % 4, level_db=-20.0))
        truth[int(t * 100) : int((t + d) * 100)] = True
        t += d + 1.5 + (k % 2)
        k += 1
    speech, babble = _run(FaroVad(FaroParams(use_silero=False)), x)
    assert babble[-1] and 0 < np.argmax(babble) < 1500, "babble not detected within 15 s"
    later = np.arange(truth.size) >= 2000  # the last 20 s, well after detection
    n = min(truth.size, speech.size)
    s, tr, lt = speech[:n], truth[:n], later[:n]
    false_alarms = s[lt & ~tr].mean()
    recall = s[lt & tr].mean()
    assert false_alarms < 0.15 and recall > 0.8, (false_alarms, recall)
    # without the mode every background frame is speech (what every engine does)
    plain, _ = _run(FaroVad(FaroParams(use_silero=False, babble_busy=2.0)), x)
    assert plain[:n][lt & ~tr].mean() > 0.6


@pytest.mark.parametrize("name", sorted(conversations.CONVERSATIONS))
def test_the_demo_conversations_never_switch_babble_on(name):
    conv = conversations.get(name)
    n = int(conv.length_s * 2 * RATE)  # two loops of the script
    for side in ("near", "far"):
        x = conv.render(side, 0, n)
        for vad in (FaroVad(), FaroVad(FaroParams(use_silero=False))):
            speech, babble = _run(vad, x, block=2)  # the demo paces 20 ms blocks
            assert not babble.any(), (name, side)
            assert speech.any()


def _human_monologue(seconds: float, gap_s: float) -> np.ndarray:
    files = sorted(glob.glob(f"{HUMAN}/*.wav"))
    assert files, f"{HUMAN} is missing: apt-get install asterisk-core-sounds-en-wav"
    out, total = [], 0
    for f in files[::7]:
        data, rate = read_wav(Path(f))
        u = resample(data[:, 0], rate, RATE).astype(np.float32)
        if not 1.0 <= u.size / RATE <= 6.0:
            continue
        out += [u, np.zeros(int(gap_s * RATE), np.float32)]
        total += u.size + int(gap_s * RATE)
        if total >= seconds * RATE:
            break
    return np.concatenate(out)


@pytest.mark.parametrize("noise_db", [None, 10.0])
def test_clean_and_noisy_human_speech_never_switches_babble_on(noise_db):
    """A human speaker talking for a minute with pauses of only 150 ms (a monologue with no
    turns at all), clean and in steady noise 10 dB below the speech."""
    x = _human_monologue(60.0, 0.15)
    rng = np.random.default_rng(5)
    floor = rng.standard_normal(x.size).astype(np.float32) * np.float32(10 ** (-70 / 20))
    if noise_db is not None:
        p = float(np.mean(x[np.abs(x) > 1e-3] ** 2))
        floor += rng.standard_normal(x.size).astype(np.float32) * np.float32(
            np.sqrt(p / 10 ** (noise_db / 10))
        )
    speech, babble = _run(FaroVad(FaroParams(use_silero=False)), x + floor)
    assert not babble.any()
    assert speech.mean() > 0.5
