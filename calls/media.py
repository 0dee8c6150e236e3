"""The PCM path between a telephony engine and Faro's audio service.

When Faro carries the call itself (the ``sip`` backend) it owns both directions of the
audio. The engine and the audio service never know each other; they meet here:

* the **far side** (what the caller says) arrives from the engine's media thread through
  :meth:`CallMedia.deliver_far`; every listener registered with :meth:`CallMedia.on_far`
  gets the caller's block (the audio service feeds voice activity with it), and every
  listener registered with :meth:`CallMedia.on_heard` gets what the counselor hears (the
  audio service plays it to the headset): the same block, or the caller mixed with a
  supervisor who coaches or joins the call (live assistance, docs/telephony.md), whose
  voice must never count as the caller's;
* the **near side** (the counselor's microphone) goes the other way: the audio service
  calls :meth:`CallMedia.send_near` with every captured block and the engine's sink puts it
  on the wire. Mute is enforced by the engine (it sends silence), not here, so that the
  audio service keeps hearing the microphone and "speaking while muted" stays exact.

Blocks are mono int16 at :data:`RATE` (48 kHz, the rate headsets run at), so nothing is
resampled twice; a device at another rate is converted by the audio service. Listeners and
sinks must not block: they run on real-time-ish threads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import numpy as np

log = logging.getLogger(__name__)

#: samples per second of every block that crosses (both directions), mono int16
RATE = 48000

FarListener = Callable[[np.ndarray], None]
NearSink = Callable[[np.ndarray], None]
ActiveListener = Callable[[bool], None]


class CallMedia:
    """Thread-safe meeting point of one engine and one audio service."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._far: list[FarListener] = []
        self._heard: list[FarListener] = []
        self._active_listeners: list[ActiveListener] = []
        self._sink: NearSink | None = None
        self.far_blocks = 0
        self.near_blocks = 0

    # -- audio service side ---------------------------------------------------------------
    def on_far(self, listener: FarListener) -> None:
        with self._lock:
            self._far.append(listener)

    def on_heard(self, listener: FarListener) -> None:
        """``listener(block)`` with what the counselor hears (for the headset)."""
        with self._lock:
            self._heard.append(listener)

    def on_active(self, listener: ActiveListener) -> None:
        """``listener(True)`` when a call's media starts flowing, ``(False)`` when it stops."""
        with self._lock:
            self._active_listeners.append(listener)

    @property
    def active(self) -> bool:
        with self._lock:
            return self._sink is not None

    def send_near(self, block: np.ndarray) -> bool:
        """The counselor's microphone, mono int16 at :data:`RATE`. False: no call takes it."""
        with self._lock:
            sink = self._sink
        if sink is None:
            return False
        self.near_blocks += 1
        try:
            sink(block)
        except Exception:
            log.exception("the engine refused a microphone block")
            return False
        return True

    # -- engine side ----------------------------------------------------------------------
    def attach_sink(self, sink: NearSink | None) -> None:
        """The engine takes microphone blocks (a call's media is up), or stops (None)."""
        with self._lock:
            was = self._sink is not None
            self._sink = sink
            now = sink is not None
            listeners = list(self._active_listeners) if was != now else []
        for listener in listeners:
            try:
                listener(now)
            except Exception:
                log.exception("a media listener failed")

    def deliver_far(self, block: np.ndarray, heard: np.ndarray | None = None) -> None:
        """The caller's audio, mono int16 at :data:`RATE`, from the engine's media thread;
        ``heard``: what the counselor hears when it is not only the caller (a coaching or
        joined supervisor mixed in), the same length."""
        self.far_blocks += 1
        with self._lock:
            far = list(self._far)
            playout = list(self._heard)
        for listener in far:
            try:
                listener(block)
            except Exception:
                log.exception("a far-side listener failed")
        self._playout(playout, block if heard is None else heard)

    def deliver_heard(self, block: np.ndarray) -> None:
        """What the counselor hears when the caller sent nothing (a coaching supervisor while
        the caller is held): to the headset only, never to voice activity."""
        with self._lock:
            playout = list(self._heard)
        self._playout(playout, block)

    @staticmethod
    def _playout(playout: list[FarListener], out: np.ndarray) -> None:
        for listener in playout:
            try:
                listener(out)
            except Exception:
                log.exception("a playout listener failed")
