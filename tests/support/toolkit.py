"""The one test toolkit: an event recorder and a condition wait (docs/contributing.md).

Tests wait on conditions, never for a fixed time: ``wait_until`` polls a predicate, the
recorder's waits sleep on its condition variable until an event arrives. Time-driven
behaviour (ring timeouts, ladders, idle locks) is tested on ``FakeClock.advance`` instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from core.events import Event, EventBus


def wait_until(
    predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition", step: float = 0.01
) -> bool:
    """Poll ``predicate`` until it is true; raise AssertionError naming ``what`` on timeout.

    Returns True, so ``assert wait_until(...)`` reads naturally too."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    if predicate():
        return True
    raise AssertionError(f"{what} not reached within {timeout} s")


class Recorder:
    """Keeps every event of the given types from a bus, thread-safe, with its arrival time.

    The bus holds subscribers weakly: keep the recorder referenced for as long as it records.
    """

    def __init__(self, bus: EventBus, *types: type) -> None:
        self.timed: list[tuple[float, Event]] = []
        self._cond = threading.Condition()
        for kind in types or (Event,):
            bus.subscribe(kind, self._on)

    def _on(self, event: Event) -> None:
        with self._cond:
            self.timed.append((time.monotonic(), event))
            self._cond.notify_all()

    @property
    def events(self) -> list[Event]:
        with self._cond:
            return [e for _t, e in self.timed]

    def of(self, kind: type) -> list[Any]:
        with self._cond:
            return [e for _t, e in self.timed if isinstance(e, kind)]

    def clear(self) -> None:
        with self._cond:
            self.timed.clear()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Wait until ``predicate()`` holds (checked at every event); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    def wait_event(
        self,
        kind: type = Event,
        match: Callable[[Any], bool] = lambda e: True,
        timeout: float = 5.0,
    ) -> tuple[float, Any]:
        """The first recorded ``kind`` event that matches, with its arrival time; raises
        AssertionError when none arrives in time."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for t, e in self.timed:
                    if isinstance(e, kind) and match(e):
                        return t, e
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching {kind.__name__} within {timeout} s")
                self._cond.wait(left)

    def wait_count(self, kind: type, n: int, timeout: float = 5.0) -> bool:
        return self.wait_for(lambda: sum(isinstance(e, kind) for _t, e in self.timed) >= n, timeout)
