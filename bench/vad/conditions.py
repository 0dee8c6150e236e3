"""Conditions: one function per condition, turning a clean conversation into what the engines
hear. Each returns a :class:`Scene` (both channels and their truth; only the wearer's or the
caller line's own speech is truth). Every scene then gets the same line/mic self-noise
(:data:`FLOOR_DBFS`) in :func:`render`, so "line noise unchanged" holds for the quiet caller.

Background talkers are always voices of the same split other than the conversation's two
speakers (``Conversation.others``), each talker one person, so babble is several different
people, never one voice shifted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial

import numpy as np

from audio.frames import FRAME, RATE
from audio.resample import resample
from bench.vad.dataset import Conversation, place

#: white self-noise of a mic / line, added to every channel of every condition (dBFS RMS)
FLOOR_DBFS = -70.0


@dataclasses.dataclass
class Scene:
    near: np.ndarray
    far: np.ndarray
    near_truth: np.ndarray
    far_truth: np.ndarray
    utterances: list[tuple[str, int, int]]


Pools = dict[str, list[np.ndarray]]


@dataclasses.dataclass
class Context:
    pools: Pools
    music: list[np.ndarray]


def _scene(conv: Conversation, near=None, far=None, far_truth=None, utterances=None) -> Scene:
    return Scene(
        conv.near if near is None else near,
        conv.far if far is None else far,
        conv.near_truth,
        conv.far_truth if far_truth is None else far_truth,
        conv.utterances if utterances is None else utterances,
    )


def power(x: np.ndarray) -> float:
    return float(np.mean(x.astype(np.float64) ** 2)) if x.size else 1e-12


def speech_power(x: np.ndarray, truth: np.ndarray) -> float:
    """Mean power over the truth frames (the speaker's active level)."""
    frames = x[: truth.size * FRAME].reshape(-1, FRAME)[truth[: x.size // FRAME]]
    return power(frames) if frames.size else 1e-6


def scaled(noise: np.ndarray, reference_power: float, db_below: float) -> np.ndarray:
    """``noise`` scaled so its power is ``db_below`` dB under ``reference_power``."""
    return (noise * np.sqrt(reference_power / 10 ** (db_below / 10) / power(noise))).astype(
        np.float32
    )


def coloured(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Noise with a 1/f**exponent power spectrum (0 white, 1 pink, 2 brown), unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    f[0] = f[1]
    spec *= f ** (-exponent / 2)
    spec[f < 20] = 0  # no DC drift
    x = np.fft.irfft(spec, n)
    return (x / np.sqrt(np.mean(x**2))).astype(np.float32)


def babble(n: int, talkers: list[list[np.ndarray]], rng: np.random.Generator) -> np.ndarray:
    """One stream per talker (each a list of one person's utterances), pauses of 0.2-1.5 s as
    in conversation, summed; unit RMS."""
    out = np.zeros(n, np.float32)
    for utts in talkers:
        pos = int(rng.uniform(0, 3) * RATE)
        while pos < n:
            u = utts[rng.integers(len(utts))] * np.float32(10 ** (rng.uniform(-3, 3) / 20))
            b = min(n, pos + u.size)
            out[pos:b] += u[: b - pos]
            pos = b + int(rng.uniform(0.2, 1.5) * RATE)
    return (out / np.sqrt(power(out))).astype(np.float32)


def talkers(conv: Conversation, ctx: Context, rng: np.random.Generator) -> list[list[np.ndarray]]:
    """4-6 background talkers, each one of the other voices of the split, as many different
    people as there are (a voice speaks twice only when fewer than 4 others exist)."""
    count = int(rng.integers(4, 7))
    others = [conv.others[i] for i in rng.permutation(len(conv.others))]
    return [ctx.pools[others[i % len(others)]] for i in range(count)]


def clean(conv: Conversation, ctx: Context, rng: np.random.Generator) -> Scene:
    """The conversation as recorded (plus the common floor)."""
    return _scene(conv)


def noise(
    conv: Conversation, ctx: Context, rng: np.random.Generator, exponent: float, snr: float
) -> Scene:
    """Stationary coloured noise on both channels, ``snr`` dB below each channel's speech."""
    out = []
    for x, truth in ((conv.near, conv.near_truth), (conv.far, conv.far_truth)):
        nz = coloured(x.size, exponent, rng)
        out.append(x + scaled(nz, speech_power(x, truth), snr))
    return _scene(conv, near=out[0], far=out[1])


def quiet_far(conv: Conversation, ctx: Context, rng: np.random.Generator, db: float) -> Scene:
    """A quiet or whispering caller: the far side's speech ``db`` dB below normal (normal is
    :data:`~bench.vad.dataset.SPEECH_DBFS` -26 dBFS, so 20 dB -> about -46 dBFS), the line
    noise unchanged."""
    return _scene(conv, far=(conv.far * np.float32(10 ** (-db / 20))))


def home_talk(conv: Conversation, ctx: Context, rng: np.random.Generator, db: float) -> Scene:
    """Family talking in the counselor's home: babble of 4-6 other real talkers on the near
    mic, its power ``db`` dB below the wearer's speech. The truth is the wearer only."""
    bg = babble(conv.near.size, talkers(conv, ctx, rng), rng)
    return _scene(conv, near=conv.near + scaled(bg, speech_power(conv.near, conv.near_truth), db))


def tv(conv: Conversation, ctx: Context, rng: np.random.Generator, db: float) -> Scene:
    """A TV in the counselor's room: music (asterisk music on hold) plus one other voice
    talking, equal in power, the mix ``db`` dB below the wearer."""
    n = conv.near.size
    track = ctx.music[int(rng.integers(len(ctx.music)))] if ctx.music else coloured(n, 1, rng)
    start = int(rng.integers(0, max(1, track.size - n)))
    music = np.resize(track[start:], n).astype(np.float32)
    voice = babble(n, [ctx.pools[conv.others[int(rng.integers(len(conv.others)))]]], rng)
    mix = music / np.sqrt(power(music)) + voice
    return _scene(conv, near=conv.near + scaled(mix, speech_power(conv.near, conv.near_truth), db))


def second_speaker(conv: Conversation, ctx: Context, rng: np.random.Generator) -> Scene:
    """Two speakers on the caller's line: another real voice (one of the others) says something
    every 6-14 s, 0-10 dB below the caller, sometimes over the caller. It is caller-side speech,
    so it is truth on the far channel."""
    far = conv.far.copy()
    truth = conv.far_truth.copy()
    utts = list(conv.utterances)
    pool = ctx.pools[conv.others[int(rng.integers(len(conv.others)))]]
    t = rng.uniform(2, 8)
    while t < far.size / RATE - 1:
        u = pool[int(rng.integers(len(pool)))] * np.float32(10 ** (-rng.uniform(0, 10) / 20))
        span = place(far, truth, u, t)
        if span:
            utts.append(("far", *span))
        t += u.size / RATE + rng.uniform(6, 14)
    return _scene(conv, far=far, far_truth=truth, utterances=utts)


def echo(conv: Conversation, ctx: Context, rng: np.random.Generator) -> Scene:
    """Headset echo: the far side leaks into the near mic, delayed 30-80 ms and 20-30 dB down
    (one delay and gain per conversation). The echo is not the counselor: not truth."""
    delay = int(rng.uniform(0.030, 0.080) * RATE)
    gain = np.float32(10 ** (-rng.uniform(20, 30) / 20))
    leak = np.concatenate([np.zeros(delay, np.float32), conv.far[:-delay]]) * gain
    return _scene(conv, near=conv.near + leak)


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


def phone(conv: Conversation, ctx: Context, rng: np.random.Generator) -> Scene:
    """Pink noise 10 dB below the speech, then the phone band on both channels."""
    s = noise(conv, ctx, rng, 1.0, 10.0)
    return dataclasses.replace(s, near=phone_band(s.near), far=phone_band(s.far))


Condition = Callable[[Conversation, Context, np.random.Generator], Scene]

CONDITIONS: dict[str, Condition] = {"clean": clean}
for _name, _exp in (("white", 0.0), ("pink", 1.0), ("brown", 2.0)):
    for _snr in (10, 5, 0):
        CONDITIONS[f"{_name}{_snr}"] = partial(noise, exponent=_exp, snr=float(_snr))
CONDITIONS.update(
    {
        "quiet20": partial(quiet_far, db=20.0),
        "quiet30": partial(quiet_far, db=30.0),
        "home10": partial(home_talk, db=10.0),
        "home15": partial(home_talk, db=15.0),
        "home25": partial(home_talk, db=25.0),
        "tv15": partial(tv, db=15.0),
        "twospk": second_speaker,
        "echo": echo,
        "phone_pink10": phone,
    }
)
#: conditions where the near mic carries other people: the counselor's silences are scored
HOME = ("home10", "home15", "home25", "tv15")
QUICK = ["clean", "pink5", "white0", "quiet20", "home15", "echo"]


def render(name: str, conv: Conversation, ctx: Context, seed: int) -> Scene:
    """The condition's scene plus the common self-noise floor on both channels."""
    rng = np.random.default_rng(seed)
    s = CONDITIONS[name](conv, ctx, rng)
    amp = np.float32(10 ** (FLOOR_DBFS / 20))
    near = s.near + rng.standard_normal(s.near.size).astype(np.float32) * amp
    far = s.far + rng.standard_normal(s.far.size).astype(np.float32) * amp
    return dataclasses.replace(s, near=near.astype(np.float32), far=far.astype(np.float32))
