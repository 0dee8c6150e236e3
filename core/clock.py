"""Injectable clocks.

Everything that waits (ring timeouts, idle lock, escalation ladders, VAD hang-over)
asks a :class:`Clock` for the time and schedules work with :meth:`Clock.call_later`,
so tests drive time with :class:`FakeClock.advance` instead of sleeping.
"""

from __future__ import annotations

import datetime as _dt
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Timer:
    """Handle of a scheduled callback; ``cancel()`` is thread-safe and idempotent."""

    __slots__ = ("due", "fn", "cancelled", "_seq")

    def __init__(self, due: float, fn: Callable[[], None], seq: int) -> None:
        self.due = due
        self.fn = fn
        self.cancelled = False
        self._seq = seq

    def cancel(self) -> None:
        self.cancelled = True

    def __lt__(self, other: Timer) -> bool:
        return (self.due, self._seq) < (other.due, other._seq)


class Clock:
    """Interface: monotonic seconds, wall time (UTC), and delayed callbacks."""

    def monotonic(self) -> float:
        raise NotImplementedError

    def now(self) -> _dt.datetime:
        raise NotImplementedError

    def call_later(self, delay: float, fn: Callable[[], None]) -> Timer:
        raise NotImplementedError

    def stop(self) -> None:
        """Stop firing timers (idempotent)."""


def _run_timer(timer: Timer) -> None:
    try:
        timer.fn()
    except Exception:  # a failing callback must not kill the clock
        log.exception("timer callback failed")


class SystemClock(Clock):
    """Real time. Timers fire on one daemon thread owned by the clock."""

    def __init__(self) -> None:
        self._heap: list[Timer] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> _dt.datetime:
        return _dt.datetime.now(_dt.UTC)

    def call_later(self, delay: float, fn: Callable[[], None]) -> Timer:
        timer = Timer(time.monotonic() + max(0.0, delay), fn, next(self._seq))
        with self._cond:
            if self._stopped:
                timer.cancelled = True
                return timer
            heapq.heappush(self._heap, timer)
            self._compact()
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="faro-clock", daemon=True)
                self._thread.start()
            self._cond.notify()
        return timer

    #: a heap this long is compacted once most of it is cancelled timers (as asyncio does)
    COMPACT_MIN = 64

    def _compact(self) -> None:
        """Drop cancelled timers once they are most of the heap (caller holds the lock).

        A cancelled timer otherwise stays until its due time: a store's daily purge timer,
        cancelled at every lock, would pile up for a day."""
        if len(self._heap) >= self.COMPACT_MIN:
            live = [t for t in self._heap if not t.cancelled]
            if len(live) * 2 < len(self._heap):
                heapq.heapify(live)
                self._heap = live

    def pending(self) -> int:
        """Timers still to fire (cancelled ones not counted)."""
        with self._cond:
            return sum(1 for t in self._heap if not t.cancelled)

    def held(self) -> int:
        """Timers in memory, cancelled ones included until their due time (the soak watches it)."""
        with self._cond:
            return len(self._heap)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    if self._heap and self._heap[0].cancelled:
                        heapq.heappop(self._heap)
                        continue
                    wait = self._heap[0].due - time.monotonic() if self._heap else None
                    if wait is not None and wait <= 0:
                        break
                    self._cond.wait(wait)
                if self._stopped:
                    return
                timer = heapq.heappop(self._heap)
            _run_timer(timer)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2)


class FakeClock(Clock):
    """Manual time for tests: nothing happens until :meth:`advance` is called.

    Due timers run synchronously inside ``advance`` on the caller's thread, in due order.
    """

    def __init__(self, start: float = 1000.0, wall: _dt.datetime | None = None) -> None:
        self._mono = start
        self._wall0 = wall or _dt.datetime(2026, 11, 21, 12, 0, tzinfo=_dt.UTC)
        self._start = start
        self._heap: list[Timer] = []
        self._seq = itertools.count()
        self._lock = threading.RLock()

    def monotonic(self) -> float:
        return self._mono

    def now(self) -> _dt.datetime:
        return self._wall0 + _dt.timedelta(seconds=self._mono - self._start)

    def call_later(self, delay: float, fn: Callable[[], None]) -> Timer:
        with self._lock:
            timer = Timer(self._mono + max(0.0, delay), fn, next(self._seq))
            heapq.heappush(self._heap, timer)
            return timer

    def pending(self) -> int:
        with self._lock:
            return sum(1 for t in self._heap if not t.cancelled)

    def held(self) -> int:
        with self._lock:
            return len(self._heap)

    def advance(self, seconds: float) -> None:
        """Move time forward, firing every timer that falls due on the way."""
        target = self._mono + seconds
        while True:
            with self._lock:
                while self._heap and self._heap[0].cancelled:
                    heapq.heappop(self._heap)
                if not self._heap or self._heap[0].due > target:
                    self._mono = target
                    return
                timer = heapq.heappop(self._heap)
                self._mono = max(self._mono, timer.due)
            _run_timer(timer)

    def stop(self) -> None:
        with self._lock:
            self._heap.clear()
