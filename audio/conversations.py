"""Scripted conversations for the simulated audio source (``faro demo``, training, tests).

A conversation is a list of turns (who speaks when, for how long) that loops for as long as
the call lasts. The audio is synthesised from numbers (:mod:`audio.synth`), so the demo
needs no recordings, no TTS and no network. Each side also carries a little background
noise, as a real mic and a real phone line do (so neither looks dead).

The ScriptedCall of the simulated telephony backend names one by its ``audio`` field.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from audio import synth
from audio.events import FAR, NEAR
from audio.frames import RATE


@dataclasses.dataclass(frozen=True)
class Turn:
    side: str  # "near" (counselor) or "far" (caller)
    start_s: float
    dur_s: float


@dataclasses.dataclass(frozen=True)
class Conversation:
    name: str
    length_s: float
    turns: tuple[Turn, ...]
    near_noise_db: float = -62.0
    far_noise_db: float = -56.0

    def truth(self, side: str) -> list[tuple[float, float]]:
        return [(t.start_s, t.start_s + t.dur_s) for t in self.turns if t.side == side]

    @functools.lru_cache(maxsize=64)  # noqa: B019 - few, immutable scripts; 64 utterances at most
    def _utterance(self, index: int) -> np.ndarray:
        turn = self.turns[index]
        f0 = 120.0 if turn.side == NEAR else 200.0
        return synth.utterance(
            turn.dur_s, seed=1000 + index, f0=f0, level_db=-22.0 if turn.side == NEAR else -24.0
        )

    def render(self, side: str, start: int, count: int) -> np.ndarray:
        """``count`` samples of ``side`` from sample ``start`` (the script loops)."""
        out = np.zeros(count, dtype=np.float32)
        period = int(self.length_s * RATE)
        first_loop = start // period
        last_loop = (start + count - 1) // period
        for loop in range(first_loop, last_loop + 1):
            base = loop * period
            for i, turn in enumerate(self.turns):
                if turn.side != side:
                    continue
                a = base + int(turn.start_s * RATE)
                u = self._utterance(i)
                b = a + u.size
                lo, hi = max(a, start), min(b, start + count)
                if lo < hi:
                    out[lo - start : hi - start] += u[lo - a : hi - a]
        level = self.near_noise_db if side == NEAR else self.far_noise_db
        rng = np.random.default_rng(start * 2 + (side == FAR))
        out += (rng.standard_normal(count) * 10 ** (level / 20)).astype(np.float32)
        return out


def _turns(*spec: tuple[str, float, float]) -> tuple[Turn, ...]:
    return tuple(Turn(s, a, d) for s, a, d in spec)


C, K = NEAR, FAR  # counselor, caller

CONVERSATIONS: dict[str, Conversation] = {
    # The caller goes quiet for over 20 s after the counselor's question: a check-in prompt.
    "check_in": Conversation(
        "check_in",
        48.0,
        _turns(
            (C, 0.5, 2.5),
            (K, 3.5, 5.0),
            (C, 9.0, 2.0),
            (K, 11.5, 2.5),
            (C, 14.5, 2.0),
            (C, 26.0, 2.0),
            (K, 38.0, 4.0),
            (C, 42.5, 3.0),
        ),
    ),
    # Both sides talk over each other: one counselor interruption, one caller interruption,
    # and a short back-channel "mm" that is not an interruption.
    "interruptions": Conversation(
        "interruptions",
        30.0,
        _turns(
            (K, 0.5, 3.5),
            (C, 3.2, 2.3),
            (K, 6.0, 3.0),
            (C, 9.5, 3.0),
            (K, 11.8, 3.2),
            (C, 15.5, 2.5),
            (K, 17.0, 0.25),
            (K, 18.6, 3.4),
            (C, 22.5, 5.5),
        ),
    ),
}


def get(name: str) -> Conversation | None:
    return CONVERSATIONS.get(name)


def register(conversation: Conversation) -> None:
    """Add (or replace) a scripted conversation by its name: a training session's practice
    caller (app/training.py builds it from the scenario; synthesised in memory only)."""
    CONVERSATIONS[conversation.name] = conversation
