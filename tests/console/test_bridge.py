"""The one bridge: events published on any thread reach widgets on the GUI thread, in order."""
from __future__ import annotations

import dataclasses
import threading

from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from console.bridge import EventBridge
from core.events import Event, EventBus


@dataclasses.dataclass(frozen=True, slots=True)
class Tick(Event):
    n: int


def test_events_from_a_device_thread_arrive_on_the_gui_thread_in_order(qtbot):
    bus = EventBus()
    bridge = EventBridge(bus)
    got: list[tuple[int, bool]] = []
    gui = QApplication.instance().thread()
    bridge.event.connect(lambda e: got.append((e.n, QThread.currentThread() is gui)))

    def device():
        for i in range(300):
            bus.publish(Tick(i))

    t = threading.Thread(target=device, name="fake-device")
    t.start()
    t.join()
    qtbot.waitUntil(lambda: len(got) == 300, timeout=3000)
    assert [n for n, _ in got] == list(range(300))
    assert all(on_gui for _, on_gui in got)


def test_closed_bridge_stops_relaying(qtbot):
    bus = EventBus()
    bridge = EventBridge(bus)
    got = []
    bridge.event.connect(got.append)
    bus.publish(Tick(1))
    qtbot.waitUntil(lambda: len(got) == 1, timeout=2000)
    bridge.close()
    bus.publish(Tick(2))
    qtbot.wait(50)
    assert got == [Tick(1)]
