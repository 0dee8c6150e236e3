"""Playback to one sound device: the PortAudio callback only copies out of a ring.

:class:`DevicePlayback` is owned by the audio service's device thread, which opens, checks
and closes it; PortAudio runs the callback on its own real-time thread. One producer (the
telephony engine's media thread, through :meth:`DevicePlayback.write`) puts float32
samples at the device rate into a preallocated ring; the callback copies them out.

The ring is single-producer, single-consumer and lock-free: the producer only moves the
write count, the callback only the read count. It is a small jitter buffer:

* playback starts (and restarts after running dry) once :data:`TARGET_S` is buffered;
* running dry while playing is an **underrun**: the rest of the block is silence (counted);
* more than :data:`MAX_S` buffered is an **overflow**: the callback drops the oldest samples
  down to the target (counted). That is how the drift between the network's clock and the
  headset's is absorbed: a skip every few minutes rather than a growing delay.

Nothing in the callback allocates beyond slicing, locks or logs.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from audio.capture import OwnedStream, opened
from audio.devices import PORTAUDIO_LOCK, OutputDevice
from audio.resample import StreamResampler

log = logging.getLogger(__name__)

# Lost after audio.capture.STALL_S without a callback; right after opening it is healthy for
# FIRST_BLOCK_S even once blocks came (a PulseAudio null sink waking from idle takes ~1.5 s
# after its first buffer is full).
#: buffered audio playback starts at (and trims back to after an overflow)
TARGET_S = 0.06
#: buffered audio above which the oldest samples are dropped
MAX_S = 0.2
#: the ring's room: far above MAX_S, so the producer never writes where the callback reads
RING_S = 1.0


class DevicePlayback(OwnedStream):
    grace_after_first_block = True
    label = "playback"

    def __init__(
        self,
        device: OutputDevice,
        now: Callable[[], float],
        in_rate: int = 48000,
        block_s: float = 0.01,
    ) -> None:
        self.device = device
        self.rate = int(device.default_rate) or 48000
        self._now = now
        self.block = max(1, int(self.rate * block_s))
        self.channels = 1
        self.target = int(self.rate * TARGET_S)
        self.max = int(self.rate * MAX_S)
        self._ring = np.zeros(int(self.rate * RING_S), dtype=np.float32)
        self._w = 0  # samples ever written (the producer's)
        self._r = 0  # samples ever read (the callback's)
        self._playing = False  # the callback's: primed and playing
        self._resampler = StreamResampler(in_rate, self.rate)  # the producer's
        self.underruns = 0  # ran dry while playing
        self.overflows = 0  # trimmed back to the target, or a block with no room
        self.written = 0  # samples accepted
        self.blocks = 0
        self.opened_at = now()
        self.last_block: float | None = None
        self.finished = False
        self._stream: Any = None

    def open(self) -> None:
        import sounddevice as sd

        last: Exception | None = None
        # mono when the device takes it, else its own channel count (the same on each)
        for channels in dict.fromkeys((1, max(1, min(self.device.channels, 2)))):
            try:
                self._stream = opened(
                    functools.partial(
                        sd.OutputStream,
                        device=self.device.index,
                        samplerate=self.rate,
                        channels=channels,
                        dtype="float32",
                        blocksize=self.block,
                        latency="low",
                        callback=self._callback,
                        finished_callback=self._finished,
                    )
                )
            except Exception as exc:
                last = exc
                continue
            self.channels = channels
            with PORTAUDIO_LOCK:  # a library call like the opening: never beside a re-listing
                self._stream.start()
            self.opened_at = self._now()
            return
        assert last is not None
        raise last

    # the producer's thread (the engine's media thread) -------------------------------------
    def write(self, samples: np.ndarray) -> None:
        """Mono float32 at the ``in_rate`` given at construction; never blocks."""
        data = self._resampler.process(samples)
        n = int(data.shape[0])
        if not n:
            return
        size = self._ring.shape[0]
        if self._w + n - self._r > size:  # the callback has stalled: no room
            self.overflows += 1
            return
        start = self._w % size
        first = min(n, size - start)
        self._ring[start : start + first] = data[:first]
        if first < n:
            self._ring[: n - first] = data[first:]
        self._w += n
        self.written += n

    @property
    def buffered_s(self) -> float:
        return max(0, self._w - self._r) / self.rate

    # PortAudio's thread ------------------------------------------------------------------
    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        self.last_block = self._now()
        self.blocks += 1
        w, r = self._w, self._r
        avail = w - r
        if avail > self.max:
            r = w - self.target
            avail = self.target
            self.overflows += 1
        if not self._playing:
            if avail < self.target:
                outdata.fill(0)
                self._r = r
                return
            self._playing = True
        n = min(frames, avail)
        size = self._ring.shape[0]
        start = r % size
        first = min(n, size - start)
        outdata[:first, 0] = self._ring[start : start + first]
        if first < n:
            outdata[first:n, 0] = self._ring[: n - first]
        if n < frames:
            outdata[n:, 0] = 0.0
            self._playing = False
            self.underruns += 1
        if self.channels > 1:
            outdata[:, 1:] = outdata[:, :1]
        self._r = r + n

    def _finished(self) -> None:
        self.finished = True

    # the device thread: healthy() and close() of OwnedStream
