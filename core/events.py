"""A small thread-safe event bus.

Events are small frozen dataclasses deriving from :class:`Event`. Bound methods are held
weakly (:class:`weakref.WeakMethod`), so a widget or service that goes away unsubscribes
itself; plain functions, lambdas and builtins are held strongly (a weak reference to a
lambda would die at once and drop events silently), so unsubscribe those yourself. Delivery is synchronous on the publisher's thread; the Qt
bridge in ``console`` re-emits events on the GUI thread. A subscriber that raises is
logged and does not stop delivery to the others.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import weakref
from typing import Any, Callable, TypeVar

log = logging.getLogger(__name__)

E = TypeVar("E", bound="Event")


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """Base class of every event on the bus."""


def _ref(callback: Callable[[Any], None]) -> Callable[[], Callable[[Any], None] | None]:
    if hasattr(callback, "__self__") and hasattr(callback, "__func__"):
        return weakref.WeakMethod(callback)  # type: ignore[arg-type]
    return lambda: callback


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: list[tuple[type, Callable[[], Any]]] = []

    def subscribe(self, event_type: type[E], callback: Callable[[E], None]) -> None:
        """Deliver every event that is an instance of ``event_type`` to ``callback``.

        A bound method is held weakly (it goes when its object goes); anything else is held
        until :meth:`unsubscribe`.
        """
        with self._lock:
            self._subs.append((event_type, _ref(callback)))

    def unsubscribe(self, callback: Callable[[Any], None]) -> None:
        with self._lock:
            self._subs = [(t, r) for (t, r) in self._subs if r() not in (None, callback)]

    def publish(self, event: Event) -> None:
        if not isinstance(event, Event):
            raise TypeError(f"not an Event: {type(event).__name__}")
        with self._lock:
            subs = list(self._subs)
        dead = False
        for event_type, ref in subs:
            cb = ref()
            if cb is None:
                dead = True
                continue
            if isinstance(event, event_type):
                try:
                    cb(event)
                except Exception:
                    log.exception("event subscriber failed on %s", type(event).__name__)
        if dead:
            with self._lock:
                self._subs = [(t, r) for (t, r) in self._subs if r() is not None]

    def subscriber_count(self) -> int:
        with self._lock:
            return sum(1 for _, r in self._subs if r() is not None)
