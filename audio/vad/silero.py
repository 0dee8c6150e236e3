"""Silero VAD run through onnxruntime, from the .onnx file the ``silero-vad`` wheel ships.

An optional extra: install ``silero-vad`` with ``--no-deps`` (its torch dependency is not
needed) plus ``onnxruntime``. The package is only *located*, never imported (importing it
pulls in torch). The model reads 512-sample windows (32 ms) with 64 samples of context;
each 10 ms frame gets the probability of the latest finished window, so its decision lags
by at most one window.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from audio.frames import FRAME, RATE
from audio.vad.base import VadEngine
from core.errors import FaroError
from core.i18n import _

WINDOW = 512
CONTEXT = 64
MODEL_FILE = "silero_vad.onnx"


class EngineUnavailable(FaroError):
    exit_code = 69


def model_path() -> Path | None:
    """Where the wheel put the .onnx, or None when the extra is not installed."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        return None
    for base in spec.submodule_search_locations:
        path = Path(base) / "data" / MODEL_FILE
        if path.is_file():
            return path
    return None


def available() -> bool:
    return model_path() is not None and importlib.util.find_spec("onnxruntime") is not None


class SileroEngine(VadEngine):
    name = "silero"

    def __init__(self) -> None:
        path = model_path()
        if path is None or importlib.util.find_spec("onnxruntime") is None:
            raise EngineUnavailable(
                _("The Silero VAD engine is not installed."),
                hint=_(
                    "Install the optional extra: pip install --no-deps silero-vad, and onnxruntime."
                ),
            )
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self._sr = np.array(RATE, dtype=np.int64)
        self.windows_run = 0
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._buf = np.zeros(CONTEXT, dtype=np.float32)  # context + pending samples
        self._p = 0.0

    def _run(self, window: np.ndarray) -> float:
        out, self._state = self._session.run(
            None, {"input": window[None, :], "state": self._state, "sr": self._sr}
        )
        self.windows_run += 1
        return float(out[0, 0])

    def scores(self, frames: np.ndarray) -> np.ndarray:
        n = frames.shape[0]
        out = np.empty(n, dtype=np.float32)
        x = frames.reshape(-1).astype(np.float32) * (1.0 / 32768.0)
        buf = np.concatenate((self._buf, x))
        pos = 0  # start of the next window's context in buf
        have = self._buf.size
        for i in range(n):
            have += FRAME
            if have - pos >= CONTEXT + WINDOW:
                self._p = self._run(buf[pos : pos + CONTEXT + WINDOW])
                pos += WINDOW
            out[i] = self._p
        self._buf = buf[pos:].copy()
        return out
