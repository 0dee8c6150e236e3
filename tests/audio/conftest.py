"""Fixtures of the audio tests."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

import pytest

from core.events import Event, EventBus


class Recorder:
    """Collects events from a bus (thread-safe) and waits for them."""

    def __init__(self, bus: EventBus) -> None:
        self.events: list[tuple[float, Event]] = []
        self._cond = threading.Condition()
        bus.subscribe(Event, self._on)

    def _on(self, event: Event) -> None:
        with self._cond:
            self.events.append((time.monotonic(), event))
            self._cond.notify_all()

    def of(self, kind: type) -> list[Any]:
        with self._cond:
            return [e for _, e in self.events if isinstance(e, kind)]

    def wait_for(self, pred: Callable[[Event], bool], timeout: float) -> tuple[float, Event] | None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for t, e in self.events:
                    if pred(e):
                        return t, e
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
def recorder(bus: EventBus) -> Recorder:
    return Recorder(bus)


def wait_until(pred: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()
