"""Helpers for the button-box tests: an event recorder and a session wired to a simulated box."""
from __future__ import annotations

import threading
import time
from typing import Callable, Iterable

from core.events import Event, EventBus


class Recorder:
    """Records every event of the given types from a bus; wait for conditions on them."""

    def __init__(self, bus: EventBus, types: Iterable[type]) -> None:
        self.events: list[Event] = []
        self._cond = threading.Condition()
        for t in types:
            bus.subscribe(t, self._on)

    def _on(self, event: Event) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def of(self, t: type) -> list:
        with self._cond:
            return [e for e in self.events if isinstance(e, t)]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    def wait_count(self, t: type, n: int, timeout: float = 5.0) -> bool:
        return self.wait_for(lambda: len([e for e in self.events if isinstance(e, t)]) >= n,
                             timeout)


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, step: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
