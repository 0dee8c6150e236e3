"""A small thread-safe event bus.

Events are small frozen dataclasses deriving from :class:`Event`. Bound methods are held
weakly (:class:`weakref.WeakMethod`), so a widget or service that goes away unsubscribes
itself; plain functions, lambdas and builtins are held strongly (a weak reference to a
lambda would die at once and drop events silently), so unsubscribe those yourself. Delivery is synchronous on the publisher's thread; the Qt
bridge in ``console`` re-emits events on the GUI thread. A subscriber that raises is
logged and does not stop delivery to the others.

Delivery goes through an index, event class → its subscribers in subscription order, built
on first use and dropped on every (un)subscription, so publishing touches only the
subscribers an event is for (this is on the button-box latency path, bench/buttonbox.py).
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


#: distinct event classes remembered by a bus's dispatch index before it starts afresh
_INDEX_MAX = 512


def _ref(callback: Callable[[Any], None], dead: list[bool]
         ) -> tuple[Callable[[], Callable[[Any], None] | None], tuple[Any, Any]]:
    """How the bus holds ``callback``: a ref for (un)subscribing and a target for delivery."""
    if hasattr(callback, "__self__") and hasattr(callback, "__func__"):
        def died(_ref: object, dead: list[bool] = dead) -> None:
            dead[0] = True
        ref = weakref.WeakMethod(callback, died)  # type: ignore[arg-type]
        # the same two weak references WeakMethod keeps, called without building a method
        return ref, (weakref.ref(callback.__self__), weakref.ref(callback.__func__))
    return (lambda: callback), (None, callback)


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: (event type, ref → callback or None, target) in subscription order; target is
        #: (weakref to the object, weakref to the function) for a bound method, else
        #: (None, the callback)
        self._subs: list[tuple[type, Callable[[], Any], tuple[Any, Any]]] = []
        #: event class → targets of the matching subscribers, in subscription order. Rebuilt
        #: (not mutated) on every change, so publish() reads it without the lock.
        self._index: dict[type, tuple[tuple[Any, Any], ...]] = {}
        #: set by a dying subscriber's weakref callback (which must not take the lock)
        self._dead = [False]

    def subscribe(self, event_type: type[E], callback: Callable[[E], None]) -> None:
        """Deliver every event that is an instance of ``event_type`` to ``callback``.

        A bound method is held weakly (it goes when its object goes); anything else is held
        until :meth:`unsubscribe`.
        """
        ref, target = _ref(callback, self._dead)
        with self._lock:
            self._subs.append((event_type, ref, target))
            self._index = {}

    def unsubscribe(self, callback: Callable[[Any], None]) -> None:
        with self._lock:
            self._subs = [s for s in self._subs if s[1]() not in (None, callback)]
            self._index = {}

    def publish(self, event: Event) -> None:
        cls = type(event)
        targets = self._index.get(cls)
        if targets is None:
            if not isinstance(event, Event):
                raise TypeError(f"not an Event: {type(event).__name__}")
            with self._lock:
                targets = tuple(target for event_type, _r, target in self._subs
                                if isinstance(event, event_type))
                if len(self._index) >= _INDEX_MAX:   # classes made on the fly: stay bounded
                    self._index = {}
                self._index[cls] = targets
        for obj_ref, fn in targets:
            if obj_ref is not None:                  # a bound method, held weakly
                obj, fn = obj_ref(), fn()
                if obj is None or fn is None:
                    continue
                try:
                    fn(obj, event)
                except Exception:
                    log.exception("event subscriber failed on %s", cls.__name__)
            else:
                try:
                    fn(event)
                except Exception:
                    log.exception("event subscriber failed on %s", cls.__name__)
        if self._dead[0]:
            self._purge()

    def _purge(self) -> None:
        with self._lock:
            self._dead[0] = False
            self._subs = [s for s in self._subs if s[1]() is not None]
            self._index = {}

    def subscriber_count(self) -> int:
        with self._lock:
            return sum(1 for s in self._subs if s[1]() is not None)
