"""A small thread-safe event bus.

Events are small frozen dataclasses deriving from :class:`Event`. Bound methods are held
weakly (:class:`weakref.WeakMethod`), so a widget or service that goes away unsubscribes
itself; plain functions, lambdas and builtins are held strongly (a weak reference to a
lambda would die at once and drop events silently), so unsubscribe those yourself.
Delivery is synchronous on the publisher's thread; the Qt bridge in ``console`` re-emits
events on the GUI thread. A subscriber that raises is logged and does not stop delivery
to the others.

Delivery goes through an index, event class → its subscribers in subscription order, built
on first use and dropped on every (un)subscription, so publishing touches only the
subscribers an event is for (this is on the button-box latency path, bench/buttonbox.py;
tests/core/test_events_clock.py checks it against the plain scan of every subscriber).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

E = TypeVar("E", bound="Event")


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """Base class of every event on the bus."""


#: distinct event classes remembered by a bus's dispatch index before it starts afresh
_INDEX_MAX = 512

#: how the bus holds a subscriber: call it to get the callback, or None once it has gone
Ref = Callable[[], Callable[[Any], None] | None]


def callback_ref(callback: Callable[[Any], None]) -> Ref:
    """A bound method weakly (:class:`weakref.WeakMethod`), anything else strongly."""
    if hasattr(callback, "__self__") and hasattr(callback, "__func__"):
        return weakref.WeakMethod(callback)
    return lambda: callback


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: (event type, ref) in subscription order
        self._subs: list[tuple[type, Ref]] = []
        #: event class → refs of the matching subscribers, in subscription order. Replaced
        #: (not mutated) on every change, so publish() reads it without the lock.
        self._index: dict[type, tuple[Ref, ...]] = {}

    def subscribe(self, event_type: type[E], callback: Callable[[E], None]) -> None:
        """Deliver every event that is an instance of ``event_type`` to ``callback``.

        A bound method is held weakly (it goes when its object goes); anything else is held
        until :meth:`unsubscribe`.
        """
        with self._lock:
            self._subs.append((event_type, callback_ref(callback)))
            self._index = {}

    def unsubscribe(self, callback: Callable[[Any], None]) -> None:
        with self._lock:
            self._subs = [(t, r) for (t, r) in self._subs if r() not in (None, callback)]
            self._index = {}

    def publish(self, event: Event) -> None:
        cls = type(event)
        refs = self._index.get(cls)
        if refs is None:
            if not isinstance(event, Event):
                raise TypeError(f"not an Event: {cls.__name__}")
            with self._lock:
                refs = tuple(r for t, r in self._subs if isinstance(event, t))
                if len(self._index) >= _INDEX_MAX:  # classes made on the fly: stay bounded
                    self._index = {}
                self._index[cls] = refs
        dead = False
        for ref in refs:
            cb = ref()
            if cb is None:
                dead = True
                continue
            try:
                cb(event)
            except Exception:
                log.exception("event subscriber failed on %s", cls.__name__)
        if dead:
            with self._lock:
                self._subs = [(t, r) for (t, r) in self._subs if r() is not None]
                self._index = {}

    def subscriber_count(self) -> int:
        with self._lock:
            return sum(1 for _, r in self._subs if r() is not None)
