"""The one bridge: events published on any thread reach widgets on the GUI thread, in order,
through handlers registered per event type."""

from __future__ import annotations

import dataclasses
import threading

from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication, QLabel

from console.bridge import EventBridge, feed
from core.events import Event, EventBus


@dataclasses.dataclass(frozen=True, slots=True)
class Tick(Event):
    n: int


@dataclasses.dataclass(frozen=True, slots=True)
class Tock(Tick):
    pass


@dataclasses.dataclass(frozen=True, slots=True)
class Other(Event):
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
    bridge, witness = EventBridge(bus), EventBridge(bus)
    got, seen = [], []
    bridge.event.connect(got.append)
    witness.on(Tick, seen.append)
    bus.publish(Tick(1))
    qtbot.waitUntil(lambda: len(got) == 1, timeout=2000)
    bridge.close()
    bus.publish(Tick(2))
    bus.publish(Tick(3))
    # both bridges post to the one GUI thread in order: once the witness has Tick(3), the
    # closed bridge would have had Tick(2)
    qtbot.waitUntil(lambda: Tick(3) in seen, timeout=2000)
    assert got == [Tick(1)]
    witness.close()


def test_handlers_are_chosen_by_the_events_class_and_its_bases(qtbot):
    bus = EventBus()
    bridge = EventBridge(bus)
    ticks, tocks, everything, others = [], [], [], []
    bridge.on(Tick, ticks.append)
    bridge.on(Tock, tocks.append)
    bridge.on(Event, everything.append)
    bridge.on(Other, others.append)
    for event in (Tick(1), Tock(2), Other(3)):
        bus.publish(event)
    qtbot.waitUntil(lambda: len(everything) == 3, timeout=2000)
    assert ticks == [Tick(1), Tock(2)]  # a subclass reaches its bases' handlers
    assert tocks == [Tock(2)]
    assert others == [Other(3)]
    assert everything == [Tick(1), Tock(2), Other(3)]
    bridge.close()


def test_handlers_run_on_the_gui_thread_in_registration_order_and_events_in_order(qtbot):
    bus = EventBus()
    bridge = EventBridge(bus)
    gui = QApplication.instance().thread()
    calls: list[tuple[str, int, bool]] = []

    def handler(name):
        return lambda e: calls.append((name, e.n, QThread.currentThread() is gui))

    bridge.on(Event, handler("base first"))  # registration order, not MRO order
    bridge.on(Tock, handler("exact"))
    bridge.on((Tick, Tock), handler("tuple"))  # registered for two of its classes: once
    bridge.event.connect(handler("signal"))  # the old signal: after the handlers
    t = threading.Thread(target=lambda: [bus.publish(Tock(i)) for i in range(50)])
    t.start()
    t.join()
    qtbot.waitUntil(lambda: len(calls) == 200, timeout=3000)
    assert all(on_gui for _n, _i, on_gui in calls)
    assert [(name, i) for name, i, _g in calls] == [
        (name, i) for i in range(50) for name in ("base first", "exact", "tuple", "signal")
    ]
    bridge.close()


def test_a_failing_handler_goes_to_the_excepthook_and_the_others_still_run(qtbot):
    bridge = EventBridge(EventBus())
    got = []

    def bad(event):
        raise RuntimeError("boom")

    bridge.on(Tick, bad)
    bridge.on(Tick, got.append)
    with qtbot.capture_exceptions() as raised:
        bridge.dispatch(Tick(1))
    assert got == [Tick(1)]
    assert [str(value) for _kind, value, _tb in raised] == ["boom"]


def test_a_deleted_widgets_handlers_are_skipped(qtbot):
    bridge = EventBridge(EventBus())

    class Shows(QLabel):
        def on_tick(self, event):
            self.setText(str(event.n))

    widget = Shows()
    bridge.on(Tick, widget.on_tick)
    bridge.dispatch(Tick(1))
    assert widget.text() == "1"
    widget.deleteLater()
    qtbot.waitUntil(lambda: not _valid(widget), timeout=2000)
    bridge.dispatch(Tick(2))  # no "C++ object already deleted"


def test_feed_hands_an_event_to_handlers_as_a_bridge_would():
    got = []
    feed(
        {Tick: lambda e: got.append(("tick", e.n)), Other: lambda e: got.append(("other", e.n))},
        Tock(5),
    )
    assert got == [("tick", 5)]


def _valid(obj) -> bool:
    import shiboken6

    return shiboken6.isValid(obj)
