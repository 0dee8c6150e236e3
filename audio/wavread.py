"""Reading PCM WAV files for offline analysis (read only: product code never writes audio)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from core.errors import FaroError
from core.i18n import _


class AudioFileError(FaroError):
    exit_code = 66  # EX_NOINPUT


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """(samples as float32 (n, channels) in [-1, 1], sample rate)."""
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate, n = (
                w.getnchannels(),
                w.getsampwidth(),
                w.getframerate(),
                w.getnframes(),
            )
            raw = w.readframes(n)
    except FileNotFoundError:
        raise AudioFileError(_("There is no file {path}.").format(path=path)) from None
    except (wave.Error, EOFError) as exc:
        raise AudioFileError(
            _("{path} is not a PCM WAV file Faro can read ({error}).").format(path=path, error=exc),
            hint=_("Convert it to 16-bit PCM WAV, for example with sox."),
        ) from None
    except OSError as exc:
        raise AudioFileError(
            _("Cannot read {path}: {reason}.").format(path=path, reason=exc.strerror)
        ) from None
    if width == 1:
        data = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        data = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        data = v.astype(np.float32) / float(1 << 23)
    elif width == 4:
        data = np.frombuffer(raw, "<i4").astype(np.float32) / float(1 << 31)
    else:
        raise AudioFileError(
            _("{path} uses {width}-byte samples, which Faro cannot read.").format(
                path=path, width=width
            )
        )
    if channels < 1 or data.size == 0:
        raise AudioFileError(_("{path} holds no audio.").format(path=path))
    return data.reshape(-1, channels), rate
