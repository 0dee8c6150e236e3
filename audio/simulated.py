"""A simulated audio source: scripted conversations paced in real time.

Used with ``audio.source = "simulated"`` (``faro demo``). During a call it plays the
conversation the simulated telephony backend's current script names (``ScriptedCall.audio``);
outside a call the counselor's mic hears only a quiet room. Frames go onto the same bounded
queue as a real capture, in 20 ms blocks, so the worker cannot tell the difference.

Pacing: :meth:`pump` pushes every block that is due by the injected clock; the source's
own thread calls it every 20 ms. Tests call :meth:`pump` after advancing a FakeClock.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from audio import conversations
from audio.events import FAR, NEAR
from audio.frames import RATE
from core.clock import Clock

log = logging.getLogger(__name__)

BLOCK = RATE // 50  # 20 ms
MAX_CATCH_UP = RATE * 2  # never push more than 2 s at once (a paused process resumes)


class SimulatedSource:
    def __init__(
        self,
        clock: Clock,
        out: queue.Queue[Any],
        script_name: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._clock = clock
        self._out = out
        self._script_name = script_name
        self._lock = threading.Lock()
        self._t0 = clock.monotonic()
        self._sent = 0
        self._conv: conversations.Conversation | None = None
        self._conv_start = 0
        self.dropped = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._room = conversations.Conversation("room", 1.0, ())

    @property
    def in_call(self) -> bool:
        with self._lock:
            return self._conv is not None

    def start_call(self) -> None:
        name = self._script_name() or ""
        conv = conversations.get(name)
        if conv is None and name:
            log.warning("no scripted conversation named %r; the caller stays silent", name)
        with self._lock:
            self._conv = conv or conversations.Conversation("silent", 60.0, ())
            self._conv_start = self._sent

    def end_call(self) -> None:
        with self._lock:
            self._conv = None

    def pump(self) -> int:
        """Push the blocks due by now; return how many samples per side were pushed."""
        due = int((self._clock.monotonic() - self._t0) * RATE)
        pushed = 0
        while due - self._sent >= BLOCK:
            if due - self._sent > MAX_CATCH_UP:
                self._sent = due - BLOCK
            with self._lock:
                conv, offset = self._conv, self._sent - self._conv_start
            if conv is None:
                near = self._room.render(NEAR, self._sent, BLOCK)
                self._put(NEAR, near)
            else:
                self._put(NEAR, conv.render(NEAR, offset, BLOCK))
                self._put(FAR, conv.render(FAR, offset, BLOCK))
            self._sent += BLOCK
            pushed += BLOCK
        return pushed

    def _put(self, side: str, samples: np.ndarray) -> None:
        try:
            self._out.put_nowait((side, RATE, samples))
        except queue.Full:
            self.dropped += 1

    # the source's own thread ---------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="faro-audio-sim", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            try:
                self.pump()
            except Exception:
                log.exception("simulated audio source failed")

    def stop(self) -> None:
        self._stop.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=2)
