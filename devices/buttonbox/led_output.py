"""LED output to the box: the state other threads ask for, and sending it until acknowledged.

:class:`LedRequest` is the one piece of LED state shared between threads: any thread stores the
wanted state (and, on stop, the state to leave the box in) under its lock; the owner thread
reads the latest. :class:`LedOutput` is one connection's sending, on the owner thread:
LED_STATE always carries the whole state, takes the next sequence number, is resent every
``led_retry_s`` until acknowledged, and sent again after every reconnect (a new
``LedOutput``). An acknowledged state that differs from the last one is published as
``LedStateChanged``. What the layers mean (call state, muted, escalation) is
:mod:`devices.buttonbox.leds`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import serial

from core.events import Event
from devices import events as ev
from devices.buttonbox.leds import LedFrame, LedPattern
from devices.buttonbox.link import Closed, Link
from devices.buttonbox.protocol import Identity, Led, LedMode, LedState

MAX_LEDS = 24  # what fits in one LED_STATE frame


class LedRequest:
    """The LED state the box should show, as asked by any thread (versioned, thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frame: LedFrame = {}
        self._version = 0
        self.final: LedFrame | None = None  # the state to leave the box in when Faro stops

    def set(self, frame: LedFrame) -> None:
        with self._lock:
            self._frame = dict(frame)
            self._version += 1

    def latest(self) -> tuple[LedFrame, int]:
        with self._lock:
            return self._frame, self._version


class LedOutput:
    """Sends the requested LED state to one connected box (owner thread)."""

    def __init__(
        self,
        link: Link,
        identity: Identity,
        request: LedRequest,
        emit: Callable[[Event], None],
        retry_s: float,
    ) -> None:
        self._link, self._identity, self._request = link, identity, request
        self._emit, self._retry_s = emit, retry_s
        self._sent_version = -1
        self.inflight: tuple[int, int, LedFrame] | None = None  # seq, version, frame
        self.retry_at = 0.0
        self.confirmed: LedFrame | None = None  # the state the box acknowledged last

    def send_due(self, now: float) -> None:
        """Send the requested state if it is new, or resend it if its ACK is overdue."""
        frame, version = self._request.latest()
        retry = self.inflight is not None and now >= self.retry_at
        if version == self._sent_version and not retry:
            return
        seq = self._link.next_seq()
        self._link.write(self._message(frame))
        self._sent_version = version
        self.inflight = (seq, version, frame)
        self.retry_at = now + self._retry_s

    def acknowledged(self, seq: int) -> None:
        """The box acknowledged ``seq``: if it is the state in flight, the box shows it."""
        inflight = self.inflight
        if inflight is not None and seq == inflight[0]:
            self.inflight = None
            if inflight[2] != self.confirmed:
                self.confirmed = inflight[2]
                self._emit(ev.LedStateChanged(self._views(inflight[2])))

    def goodbye(self) -> None:
        """Leave the box in the final state (if one was asked for); failures do not matter."""
        final = self._request.final
        if final is None:
            return
        try:
            self._link.next_seq()
            self._link.write(self._message(final))
            self._link.flush()
        except (Closed, OSError, serial.SerialException):
            pass

    def _message(self, frame: LedFrame) -> LedState:
        leds = []
        for i, info in enumerate(self._identity.leds[:MAX_LEDS]):
            pattern = frame.get(info.name, LedPattern(LedMode.OFF))
            leds.append(Led(i, pattern.mode, pattern.rgb))
        return LedState(tuple(leds))

    def _views(self, frame: LedFrame) -> tuple[ev.LedView, ...]:
        views = []
        for info in self._identity.leds:
            p = frame.get(info.name, LedPattern(LedMode.OFF))
            views.append(ev.LedView(info.name, p.mode.name.lower(), p.colour))
        return tuple(views)
