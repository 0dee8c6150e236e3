"""The ring: a sound the counselor chose, played while a call rings, stopped the moment it
stops ringing.

:class:`Ringer` is a small service with one owner thread. The console's flow (app/wiring.py)
calls :meth:`Ringer.ring` when a call starts ringing and :meth:`Ringer.silence` when it
stops (answered, missed, declined); the thread opens an output stream only while ringing,
so the speakers are not held between calls, and writes the pattern in 50 ms blocks, so it
falls silent within one block. The sounds are synthesised here (no files to ship or lose):

* ``chime``: two soft bell notes, then a pause (the default: clear, not alarming);
* ``classic``: a telephone's dual tone (440 + 480 Hz), one second on, two off;
* ``soft``: one low tone swelling in and out, for a quiet house at night;
* ``none``: no sound (the banner and the box's light still say it rings).

The device is ``audio.ring_device``: empty for the system's default output (the laptop's
speakers: heard with the headset off), or part of a device name / ``usb:VID:PID``. A device
that cannot be opened is said once in the log and the status; the ring is never a reason
for a call to fail.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import numpy as np

log = logging.getLogger(__name__)

RATE = 48000
BLOCK_S = 0.05
SOUNDS = ("chime", "classic", "soft", "none")


def _env(n: int, attack_s: float, release_s: float) -> np.ndarray:
    env = np.ones(n, dtype=np.float32)
    a, r = min(n, int(attack_s * RATE)), min(n, int(release_s * RATE))
    if a:
        env[:a] = np.linspace(0, 1, a, dtype=np.float32)
    if r:
        env[n - r :] *= np.linspace(1, 0, r, dtype=np.float32)
    return env


def _tone(freqs: tuple[float, ...], secs: float) -> np.ndarray:
    t = np.arange(int(secs * RATE), dtype=np.float32) / RATE
    wave = sum(np.sin(2 * np.pi * f * t) for f in freqs) / len(freqs)
    return np.asarray(wave, dtype=np.float32)


def _bell(freq: float, secs: float) -> np.ndarray:
    """A struck note: a fundamental and a soft octave, decaying."""
    n = int(secs * RATE)
    t = np.arange(n, dtype=np.float32) / RATE
    wave = np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(2 * np.pi * 2 * freq * t)
    decay = np.exp(-t * 4.0).astype(np.float32)
    return (wave * decay / 1.3).astype(np.float32) * _env(n, 0.005, 0.05)


def pattern(sound: str) -> np.ndarray:
    """One cycle of ``sound`` (mono float32 at :data:`RATE`, peak ≤ 1), pause included."""
    silence = lambda s: np.zeros(int(s * RATE), dtype=np.float32)  # noqa: E731
    if sound == "chime":
        parts = [_bell(880.0, 0.45), _bell(660.0, 0.7), silence(1.85)]
    elif sound == "classic":
        on = _tone((440.0, 480.0), 1.0)
        parts = [on * _env(on.size, 0.01, 0.01), silence(2.0)]
    elif sound == "soft":
        on = _tone((392.0,), 1.2)
        parts = [on * _env(on.size, 0.5, 0.6), silence(1.8)]
    elif sound == "none":
        return np.zeros(0, dtype=np.float32)
    else:
        raise ValueError(f"unknown ring sound {sound!r}")
    return np.concatenate(parts).astype(np.float32)


class Ringer:
    """Plays the ring while asked; thread-safe :meth:`ring` / :meth:`silence`."""

    def __init__(
        self,
        sound: str = "chime",
        volume: float = 0.6,
        device: str = "",
        open_stream: Callable[[str], object] | None = None,
    ) -> None:
        self.sound = sound
        self.volume = volume
        self.device = device
        self._open_stream = open_stream or _open_output
        self._want = threading.Event()
        self._wake = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self.ringing = False  # the thread's: a stream is open and playing
        self.rings = 0  # how many times a ring started (for tests and figures)
        self.failures = 0
        self.last_error = ""
        self._once = False  # a preview: one cycle, then silence

    # -- the service --------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="faro-ringer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stop = True
            self._want.clear()
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None

    # -- commands (any thread) ------------------------------------------------------------
    def ring(self) -> None:
        if self.sound == "none":
            return
        with self._wake:
            self._want.set()
            self._wake.notify_all()

    def silence(self) -> None:
        with self._wake:
            self._want.clear()
            self._wake.notify_all()

    def preview(self, sound: str) -> None:
        """Make ``sound`` the ring and play one cycle of it now (the settings' "try it")."""
        self.sound = sound
        self._once = True
        self.ring()

    # -- the owner thread -----------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stop and not self._want.is_set():
                    self._wake.wait()
                if self._stop:
                    return
            self._play()

    def _play(self) -> None:
        cycle = pattern(self.sound) * float(self.volume)
        if not cycle.size:
            self._want.clear()
            return
        try:
            stream = self._open_stream(self.device)
        except Exception as exc:  # no sound card, device busy: said once, never fatal
            self.failures += 1
            if str(exc) != self.last_error:
                log.warning("the ring cannot play: %s", exc)
            self.last_error = str(exc)
            with self._wake:  # wait for this ring to end before trying again
                while not self._stop and self._want.is_set():
                    self._wake.wait(0.5)
            return
        self.ringing = True
        self.rings += 1
        block = int(BLOCK_S * RATE)
        pos = 0
        try:
            while self._want.is_set() and not self._stop:
                chunk = cycle[pos : pos + block]
                if chunk.size < block:
                    if self._once:
                        stream.write(chunk.reshape(-1, 1))  # type: ignore[attr-defined]
                        break
                    chunk = np.concatenate([chunk, cycle[: block - chunk.size]])
                pos = (pos + block) % cycle.size
                stream.write(chunk.reshape(-1, 1))  # type: ignore[attr-defined]
        except Exception:
            log.warning("the ring stopped playing", exc_info=True)
        finally:
            self.ringing = False
            if self._once:
                self._once = False
                self._want.clear()
            try:
                stream.abort()  # type: ignore[attr-defined]  # silent now, not after the buffer
                stream.close()  # type: ignore[attr-defined]
            except Exception:
                pass


class _Output:
    """A PortAudio output stream the audio service knows is open (it will not re-initialise
    PortAudio under it)."""

    def __init__(self, spec: str) -> None:
        import sounddevice as sd

        from audio.devices import PORTAUDIO_LOCK, list_outputs, matches, other_stream

        with PORTAUDIO_LOCK:
            device = None
            if spec.strip():
                found = [d for d in list_outputs() if matches(spec, d)]
                if not found:
                    raise RuntimeError(f"no output device matches {spec!r}")
                device = found[0].index
            self._stream = sd.OutputStream(
                device=device, samplerate=RATE, channels=1, dtype="float32", latency="low"
            )
            other_stream(True)
        try:
            self._stream.start()
        except Exception:
            self.close()
            raise

    def write(self, data: np.ndarray) -> None:
        self._stream.write(data)

    def abort(self) -> None:
        self._stream.abort()

    def close(self) -> None:
        from audio.devices import PORTAUDIO_LOCK, other_stream

        with PORTAUDIO_LOCK:
            try:
                self._stream.close()
            finally:
                other_stream(False)


def _open_output(spec: str) -> object:
    return _Output(spec)
