"""The one interface every voice-activity engine implements.

An engine takes a block of 10 ms frames (``(n, 160)`` int16 at 16 kHz) and returns one
speech score per frame in [0, 1] (webrtcvad answers 0 or 1; Silero a probability). Engines
keep their own state between blocks (one engine instance per audio channel) and are used
from a single thread (the audio worker).
"""

from __future__ import annotations

import numpy as np


class VadEngine:
    name = "base"
    #: the score above which a frame counts as speech when the engine is used raw
    threshold = 0.5

    def scores(self, frames: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def reset(self) -> None:
        """Forget the state (a new stream starts)."""
