from __future__ import annotations

import dataclasses
import gc
import threading

import pytest

from core.clock import FakeClock, SystemClock
from core.events import Event, EventBus


@dataclasses.dataclass(frozen=True, slots=True)
class Ping(Event):
    n: int


@dataclasses.dataclass(frozen=True, slots=True)
class Pong(Ping):
    pass


class Listener:
    def __init__(self):
        self.got = []

    def on(self, e):
        self.got.append(e)


def test_events_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Ping(1).n = 2  # type: ignore[misc]


def test_subscribers_get_subclasses_and_only_matching_types():
    bus = EventBus()
    a, b = Listener(), Listener()
    bus.subscribe(Ping, a.on)
    bus.subscribe(Pong, b.on)
    bus.publish(Ping(1))
    bus.publish(Pong(2))
    assert [e.n for e in a.got] == [1, 2]
    assert [e.n for e in b.got] == [2]


def test_bound_methods_are_held_weakly():
    bus = EventBus()
    listener = Listener()
    bus.subscribe(Ping, listener.on)
    assert bus.subscriber_count() == 1
    del listener
    gc.collect()
    bus.publish(Ping(1))
    assert bus.subscriber_count() == 0


def test_functions_are_held_until_unsubscribed():
    bus = EventBus()
    got = []
    bus.subscribe(Ping, got.append)
    bus.subscribe(Ping, lambda e: got.append(e.n))
    gc.collect()
    bus.publish(Ping(7))
    assert got == [Ping(7), 7]
    bus.unsubscribe(got.append)
    bus.publish(Ping(8))
    assert got == [Ping(7), 7, 8]


def test_a_failing_subscriber_does_not_stop_the_others(caplog):
    bus = EventBus()
    got = []

    def bad(e):
        raise RuntimeError("boom")

    bus.subscribe(Ping, bad)
    bus.subscribe(Ping, got.append)
    bus.publish(Ping(1))
    assert got == [Ping(1)]
    assert "subscriber failed" in caplog.text


class PlainBus:
    """The bus without its per-class index: every publish scans every subscriber."""

    def __init__(self):
        self.subs = []

    def subscribe(self, event_type, callback):
        self.subs.append((event_type, callback))

    def unsubscribe(self, callback):
        self.subs = [(t, c) for t, c in self.subs if c != callback]

    def publish(self, event):
        for t, c in list(self.subs):
            if isinstance(event, t):
                c(event)


def test_the_indexed_bus_delivers_what_the_plain_scan_delivers():
    """The per-class index (kept: it is on the button-box latency path) is the plain form."""
    import random

    @dataclasses.dataclass(frozen=True, slots=True)
    class Other(Event):
        n: int

    rng = random.Random(10)
    kinds = [Event, Ping, Pong, Other]
    pairs = [(Listener(), Listener()) for _ in range(6)]  # (on the bus, on the plain scan)
    bus, plain = EventBus(), PlainBus()
    for step in range(2000):
        x, twin = rng.choice(pairs)
        roll = rng.random()
        if roll < 0.1:
            kind = rng.choice(kinds)
            bus.subscribe(kind, x.on)
            plain.subscribe(kind, twin.on)
        elif roll < 0.15:
            bus.unsubscribe(x.on)
            plain.unsubscribe(twin.on)
        else:
            event = rng.choice([Ping, Pong, Other])(step)
            bus.publish(event)
            plain.publish(event)
    assert sum(len(x.got) for x, _twin in pairs) > 1000
    assert all(x.got == twin.got for x, twin in pairs)


def test_publish_from_many_threads():
    bus = EventBus()
    got = []
    lock = threading.Lock()

    def on(e):
        with lock:
            got.append(e.n)

    bus.subscribe(Ping, on)
    threads = [
        threading.Thread(target=lambda k=k: [bus.publish(Ping(k * 1000 + i)) for i in range(500)])
        for k in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(k * 1000 + i for k in range(4) for i in range(500))


def test_publish_rejects_non_events():
    with pytest.raises(TypeError):
        EventBus().publish("hello")  # type: ignore[arg-type]


def test_fake_clock_fires_timers_in_order_only_when_advanced():
    clock = FakeClock()
    fired = []
    clock.call_later(2, lambda: fired.append(("b", clock.monotonic())))
    clock.call_later(1, lambda: fired.append(("a", clock.monotonic())))
    t = clock.call_later(1.5, lambda: fired.append("cancelled"))
    t.cancel()
    clock.advance(0.5)
    assert fired == []
    clock.advance(5)
    assert fired == [("a", 1001.0), ("b", 1002.0)]
    assert clock.monotonic() == 1005.5
    assert (clock.now() - FakeClock().now()).total_seconds() == 5.5


def test_fake_clock_timer_may_schedule_another():
    clock = FakeClock()
    fired = []
    clock.call_later(1, lambda: clock.call_later(1, lambda: fired.append(clock.monotonic())))
    clock.advance(3)
    assert fired == [1002.0]


def test_system_clock_fires_and_stops():
    clock = SystemClock()
    done = threading.Event()
    clock.call_later(0.01, done.set)
    assert done.wait(2)
    never = threading.Event()
    clock.call_later(0.3, never.set)
    clock.stop()
    assert not never.wait(0.5)
    assert clock.call_later(0, never.set).cancelled


def test_system_clock_does_not_keep_cancelled_timers_until_they_are_due():
    """A timer cancelled long before it is due (a daily purge at every lock) must not pile up."""
    from core.clock import SystemClock

    clock = SystemClock()
    try:
        keep = clock.call_later(3600, lambda: None)
        for _ in range(1000):
            clock.call_later(86400, lambda: None).cancel()
        assert clock.pending() == 1
        assert clock.held() <= 2 * SystemClock.COMPACT_MIN
        fired = threading.Event()
        clock.call_later(0.01, fired.set)
        assert fired.wait(2)
        assert not keep.cancelled
    finally:
        clock.stop()
