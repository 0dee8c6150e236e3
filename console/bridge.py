"""The one bridge from core events to the GUI thread.

Core services publish on the :class:`core.events.EventBus` from whatever thread they own
(the clock, a device thread, the audio worker). :class:`EventBridge` subscribes to every
event and re-emits it through a Qt signal; because the bridge lives on the GUI thread, Qt
queues the emission and widgets receive the event on the GUI thread. Widgets connect to
:attr:`EventBridge.event` and never subscribe to the bus themselves.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal

from core.events import Event, EventBus


class EventBridge(QObject):
    event = Signal(object)

    def __init__(self, bus: EventBus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bus = bus
        self._relay = self._on_event  # the bus holds subscribers weakly: keep ours alive
        self._internal.connect(self.event, Qt.ConnectionType.QueuedConnection)
        bus.subscribe(Event, self._relay)

    _internal = Signal(object)

    def _on_event(self, event: Event) -> None:
        # Emitted from any thread; the queued connection delivers it on this object's thread.
        self._internal.emit(event)

    def close(self) -> None:
        self._bus.unsubscribe(self._relay)
