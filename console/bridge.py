"""The one bridge from core events to the GUI thread.

Core services publish on the :class:`core.events.EventBus` from whatever thread they own
(the clock, a device thread, the audio worker). :class:`EventBridge` subscribes to every
event and re-emits it through a Qt signal; because the bridge lives on the GUI thread, Qt
queues the emission and the event is handled on the GUI thread. Widgets never subscribe
to the bus themselves: each registers a handler per event type on its window's bridge,

    bridge.on(CallStateChanged, self._on_state)

and renders from the event it is given. An event goes to every handler registered for a
class in its MRO (so ``bridge.on(Event, …)`` sees everything), in the order they were
registered. :attr:`EventBridge.event` still carries every event, for widgets not yet moved
to the registry.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal

from core.events import Event, EventBus, Ref, callback_ref

E = TypeVar("E", bound=Event)

#: a widget's handlers by event type, for :meth:`EventBridge.register`
Handlers = Mapping[type[Event], Callable[[Any], None]]


def feed(handlers: Handlers, event: Event) -> None:
    """Hand ``event`` to ``handlers`` by hand, as a bridge they are registered on would: to
    each handler whose type ``event`` is an instance of (for a widget built without a bridge)."""
    for kind, handler in handlers.items():
        if isinstance(event, kind):
            handler(event)


def _alive(handler: Callable[[Any], None]) -> bool:
    """False once the Qt object a bound method belongs to is deleted (Qt's auto-disconnect)."""
    owner = getattr(handler, "__self__", None)
    return not isinstance(owner, QObject) or shiboken6.isValid(owner)


def _live(ref: Ref) -> bool:
    handler = ref()
    return handler is not None and _alive(handler)


class EventBridge(QObject):
    #: every event, on the GUI thread (kept for widgets not yet on :meth:`on`); the name,
    #: older than the registry, shadows QObject.event(), which nothing calls on a bridge
    event = Signal(object)  # type: ignore[assignment]  # shadows QObject.event, see above
    _internal = Signal(object)

    def __init__(self, bus: EventBus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bus = bus
        #: (event type, ref → handler or None) in registration order; a bound method is held
        #: weakly, as a Qt connection holds its receiver
        self._handlers: list[tuple[type, Ref]] = []
        #: event class → the refs of its handlers; dropped whenever the handlers change
        self._index: dict[type, tuple[Ref, ...]] = {}
        # The bus holds a bound method weakly: subscribing self._relay ties the subscription
        # to this bridge's life, so a bridge that is garbage collected stops relaying.
        self._internal.connect(self.dispatch, Qt.ConnectionType.QueuedConnection)
        bus.subscribe(Event, self._relay)

    @overload
    def on(self, event_type: type[E], handler: Callable[[E], None]) -> None: ...
    @overload
    def on(self, event_type: tuple[type[Event], ...], handler: Callable[[Any], None]) -> None: ...

    def on(
        self, event_type: type[Event] | tuple[type[Event], ...], handler: Callable[[Any], None]
    ) -> None:
        """Call ``handler`` on the GUI thread with every event that is an ``event_type``
        (a class or a tuple of classes). A bound method is held weakly and is skipped once
        its widget is deleted, as a Qt connection would be."""
        types = event_type if isinstance(event_type, tuple) else (event_type,)
        ref = callback_ref(handler)
        self._handlers.extend((kind, ref) for kind in types)
        self._index = {}

    def register(self, handlers: Handlers) -> None:
        """:meth:`on` for each type and handler of ``handlers``, in order."""
        for kind, handler in handlers.items():
            self.on(kind, handler)

    def dispatch(self, event: Event) -> None:
        """Hand ``event`` to its handlers, then to :attr:`event`, now and on this thread.

        The bridge calls it on the GUI thread for every event from the bus; a test may call
        it to feed a widget one event. A handler that raises goes to ``sys.excepthook`` (as
        an exception in a Qt slot does) and does not stop the others."""
        cls = type(event)
        refs = self._index.get(cls)
        if refs is None:
            mro = cls.__mro__
            seen: set[int] = set()  # a handler registered for two classes of the MRO: once
            picked: list[Ref] = []
            for kind, ref in self._handlers:
                if kind in mro and id(ref) not in seen:
                    seen.add(id(ref))
                    picked.append(ref)
            refs = self._index[cls] = tuple(picked)
        dead = False
        for ref in refs:
            handler = ref()
            if handler is None or not _alive(handler):
                dead = True
                continue
            try:
                handler(event)
            except Exception as exc:
                sys.excepthook(type(exc), exc, exc.__traceback__)
        if dead:
            self._handlers = [(kind, ref) for kind, ref in self._handlers if _live(ref)]
            self._index = {}
        self.event.emit(event)

    def _relay(self, event: Event) -> None:
        # Emitted from any thread; the queued connection delivers it on this object's thread.
        self._internal.emit(event)

    def close(self) -> None:
        self._bus.unsubscribe(self._relay)
