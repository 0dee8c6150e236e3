"""webrtcvad (the GMM VAD of WebRTC), per 10 ms frame. Modes 0-3: 3 is the most aggressive
at calling frames non-speech."""

from __future__ import annotations

import numpy as np
import webrtcvad

from audio.frames import FRAME, RATE
from audio.vad.base import VadEngine


class WebRtcEngine(VadEngine):
    def __init__(self, mode: int = 2) -> None:
        if mode not in (0, 1, 2, 3):
            raise ValueError("webrtcvad mode must be 0, 1, 2 or 3")
        self.mode = mode
        self.name = f"webrtc{mode}"
        self._vad = webrtcvad.Vad(mode)

    def scores(self, frames: np.ndarray) -> np.ndarray:
        buf = np.ascontiguousarray(frames, dtype=np.int16).tobytes()
        step = FRAME * 2
        is_speech = self._vad.is_speech
        return np.fromiter(
            (is_speech(buf[i : i + step], RATE) for i in range(0, len(buf), step)),
            dtype=np.float32,
            count=frames.shape[0],
        )

    def reset(self) -> None:
        self._vad = webrtcvad.Vad(self.mode)
