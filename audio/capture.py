"""Capture from one sound device: the PortAudio callback only copies and enqueues.

:class:`DeviceCapture` is owned by the audio service's device thread, which opens, checks
and closes it; PortAudio runs the callback on its own real-time thread. The callback copies
the block and ``put_nowait``s it on the service's bounded queue (and, when Faro carries the
call audio, the same copy on the outgoing-audio tap); a full queue drops the block and
counts it. Nothing here allocates beyond the copy, locks or logs.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from typing import Any

from audio.devices import PORTAUDIO_LOCK, InputDevice, other_stream

log = logging.getLogger(__name__)

#: seconds without a callback after which an open stream counts as lost
STALL_S = 0.6
#: the first callback may take longer (a sound server waking up)
FIRST_BLOCK_S = 4.0


class OwnedStream:
    """What the device thread asks of an open PortAudio stream it owns (capture or playback):
    is it still delivering, and close it whatever state it is in."""

    _stream: Any
    _now: Callable[[], float]
    finished: bool
    opened_at: float
    last_block: float | None
    #: counted healthy for FIRST_BLOCK_S after opening even once blocks came (a sound server
    #: that took the first buffer may pause before it goes on)
    grace_after_first_block = False
    label = "audio"

    def healthy(self) -> bool:
        if self._stream is None or self.finished:
            return False
        try:
            if not self._stream.active:
                return False
        except Exception:
            return False
        now = self._now()
        in_grace = now - self.opened_at < FIRST_BLOCK_S
        if self.last_block is None or (self.grace_after_first_block and in_grace):
            return in_grace
        return now - self.last_block < STALL_S

    def close(self) -> None:
        """Under PORTAUDIO_LOCK, like the opening (:func:`opened`): the device list is
        re-read (terminate + initialise) only while no stream of any owner is open, and never
        while one is being opened or closed; PortAudio's library calls are not thread-safe."""
        with PORTAUDIO_LOCK:
            stream, self._stream = self._stream, None
            if stream is None:
                return
            try:
                stream.abort()
            except Exception:
                pass
            try:
                stream.close()
            except Exception:
                log.debug("closing the %s stream failed", self.label, exc_info=True)
            finally:
                other_stream(False)


def opened(make: Callable[[], Any]) -> Any:
    """A stream made by ``make`` under PORTAUDIO_LOCK, counted as open (see close)."""
    with PORTAUDIO_LOCK:
        stream = make()
        other_stream(True)
        return stream


class DeviceCapture(OwnedStream):
    def __init__(
        self,
        side: str,
        device: InputDevice,
        out: queue.Queue[Any],
        now: Callable[[], float],
        block_s: float = 0.05,
        tap: queue.Queue[Any] | None = None,
    ) -> None:
        self.side = side
        self.label = side
        self.device = device
        self.rate = int(device.default_rate) or 48000
        self._out = out
        self._now = now
        self.block = max(1, int(self.rate * block_s))
        self._tap = tap  # a second reader of the same copy (the call's outgoing audio)
        self.dropped = 0  # blocks the queue had no room for
        self.tap_dropped = 0  # blocks the tap had no room for
        self.xruns = 0  # input overflows PortAudio reported
        self.blocks = 0
        self.opened_at = now()
        self.last_block: float | None = None
        self.finished = False
        self._stream: Any = None

    def open(self) -> None:
        import sounddevice as sd

        self._stream = opened(
            lambda: sd.InputStream(
                device=self.device.index,
                samplerate=self.rate,
                channels=1,
                dtype="float32",
                blocksize=self.block,
                latency="low",
                callback=self._callback,
                finished_callback=self._finished,
            )
        )
        with PORTAUDIO_LOCK:  # a library call like the opening: never beside a re-listing
            self._stream.start()
        self.opened_at = self._now()

    # PortAudio's thread ------------------------------------------------------------------
    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        self.last_block = self._now()
        self.blocks += 1
        if status.input_overflow:
            self.xruns += 1
        block = indata.copy()
        try:
            self._out.put_nowait((self.side, self.rate, block))
        except queue.Full:
            self.dropped += 1
        if self._tap is not None:
            try:
                self._tap.put_nowait((self.rate, block))
            except queue.Full:
                self.tap_dropped += 1

    def _finished(self) -> None:
        self.finished = True

    # the device thread: healthy() and close() of OwnedStream
