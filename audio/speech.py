"""Spoken words for training mode's practice caller: espeak-ng, in memory only.

:func:`synthesise` runs the ``espeak-ng`` binary (Debian package espeak-ng) with
``--stdout``: the text goes in on its stdin, the WAV comes back on its stdout pipe and is
parsed here, from bytes, into float32 samples resampled to the rate asked for. Nothing is
written to a file, by Faro or by espeak-ng (kept off the sound server, :func:`_child_env`). The child is started with
:func:`core.children.spawn`, so it dies with Faro.

:func:`voice_for` picks the voice of a scenario's language from what ``espeak-ng --voices``
lists: ``es-419`` (Latin American Spanish), else ``es``, for ``es_MX``; ``en-us``, else
``en``, for ``en``. A missing binary or voice is :class:`SpeechUnavailable`, which the caller
turns into the synthetic signal of :mod:`audio.synth` and a one-line status.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import struct
import subprocess

import numpy as np

from audio.resample import resample
from core.children import spawn

log = logging.getLogger(__name__)

BINARY = "espeak-ng"
#: a scenario's language → the espeak-ng voices that fit it, best first
VOICES = {"es_MX": ("es-419", "es"), "en": ("en-us", "en")}
#: words per minute: a little under espeak-ng's 175, for a caller on a phone line
WORDS_PER_MINUTE = 160
TIMEOUT_S = 20.0
#: the RMS level (dBFS) of the caller's speech, as the synthetic caller's (audio/synth.py)
LEVEL_DB = -24.0
NO_SOUND_SERVER = "unix:/nonexistent/faro-espeak-plays-nothing"


class SpeechUnavailable(Exception):
    """espeak-ng cannot speak here (not installed, no voice, failed): the reason, in English
    for the log (the console shows its own words)."""


def binary() -> str | None:
    """The path of espeak-ng on PATH now, or None."""
    return shutil.which(BINARY)


def _child_env() -> dict[str, str]:
    """espeak-ng's audio library opens a PulseAudio client even with ``--stdout`` (it makes
    ``~/.config/pulse`` and a ``/tmp/pulse-*`` folder, and could start a sound server): a
    server address that cannot exist keeps it off the sound system altogether. Faro plays
    the samples itself."""
    return dict(os.environ, PULSE_SERVER=NO_SOUND_SERVER)


def _run(argv: list[str], stdin: bytes | None = None) -> bytes:
    try:
        proc = spawn(
            argv,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_child_env(),
        )
    except OSError as exc:
        raise SpeechUnavailable(f"cannot start espeak-ng: {exc.strerror}") from None
    try:
        out, err = proc.communicate(stdin, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise SpeechUnavailable("espeak-ng did not finish in time") from None
    if proc.returncode != 0:
        reason = err.decode("utf-8", "replace").strip().splitlines()[:1]
        raise SpeechUnavailable(f"espeak-ng failed ({proc.returncode}): {''.join(reason)}")
    return out


@functools.lru_cache(maxsize=4)
def _voices(path: str) -> frozenset[str]:
    text = _run([path, "--voices"]).decode("utf-8", "replace")
    names = set()
    for row in text.splitlines()[1:]:  # "Pty Language Age/Gender VoiceName File Other"
        cells = row.split()
        if len(cells) >= 2:
            names.add(cells[1].lower())
    return frozenset(names)


def voice_for(language: str) -> str:
    """The espeak-ng voice for a scenario's language (``es_MX``, ``en``)."""
    path = binary()
    if path is None:
        raise SpeechUnavailable("espeak-ng is not installed")
    listed = _voices(path)
    for name in VOICES.get(language, (language.replace("_", "-").lower(),)):
        if name in listed:
            return name
    raise SpeechUnavailable(f"espeak-ng has no voice for {language}")


def parse_wav(data: bytes) -> tuple[np.ndarray, int]:
    """(mono float32 samples, rate) of a 16-bit PCM WAV held in memory. espeak-ng writes
    the WAV to a pipe before it knows its length, so the sizes in the header are
    placeholders: the data chunk runs to the end of the bytes."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise SpeechUnavailable("espeak-ng gave no WAV")
    pos, rate, channels, bits = 12, 0, 0, 0
    while pos + 8 <= len(data):
        tag, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if tag == b"fmt ":
            fmt, channels, rate = struct.unpack_from("<HHI", data, body)
            bits = struct.unpack_from("<H", data, body + 14)[0]
            if fmt != 1 or bits != 16 or channels < 1:
                raise SpeechUnavailable("espeak-ng gave a WAV that is not 16-bit PCM")
        elif tag == b"data":
            if not rate:
                raise SpeechUnavailable("espeak-ng gave a WAV without its format")
            raw = data[body : min(len(data), body + size)]
            raw = raw[: len(raw) // (2 * channels) * 2 * channels]
            pcm = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
            return pcm.reshape(-1, channels).mean(axis=1).astype(np.float32), rate
        pos = body + size + (size & 1)
    raise SpeechUnavailable("espeak-ng gave a WAV without data")


def synthesise(text: str, voice: str, rate: int, level_db: float = LEVEL_DB) -> np.ndarray:
    """``text`` spoken by espeak-ng's ``voice``: mono float32 at ``rate``, its speech at
    ``level_db`` dBFS RMS. In memory only (stdin and stdout pipes)."""
    path = binary()
    if path is None:
        raise SpeechUnavailable("espeak-ng is not installed")
    out = _run(
        [path, "-v", voice, "-s", str(WORDS_PER_MINUTE), "--stdout", "--stdin"],
        stdin=text.encode("utf-8"),
    )
    samples, in_rate = parse_wav(out)
    if not samples.size:
        raise SpeechUnavailable("espeak-ng said nothing")
    samples = resample(samples, in_rate, rate)
    voiced = np.abs(samples) > 1e-3
    rms = float(np.sqrt(np.mean(samples[voiced] ** 2))) if voiced.any() else 0.0
    if rms > 0:
        samples = samples * np.float32(10 ** (level_db / 20) / rms)
    return np.clip(samples, -1.0, 1.0).astype(np.float32)
