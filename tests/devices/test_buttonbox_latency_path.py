"""The shortcuts taken on the latency path (bench/buttonbox.py) change nothing observable.

The decoder's one-whole-frame path must equal the general loop; the bus's per-class index
must follow every (un)subscription and a dying subscriber; the call machine must still publish
in order, outside its lock, one publisher at a time. BUTTON frames take the protocol's normal
decode and do what the protocol document says (trailing fields, short payloads, versions,
repeats, replays, the wrap-around); and a press handler that fails must not end the owner
thread nor make the press happen twice.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import threading
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calls.events import CallAnswered, CallStateChanged, MuteChanged
from calls.model import Action, CallState, Source
from core.clock import SystemClock
from core.events import Event, EventBus
from devices import events as ev
from devices.buttonbox import protocol as p
from devices.buttonbox.codec import (
    CRC_RESIDUE,
    MAX_BODY,
    MAX_ENCODED,
    FrameDecoder,
    cobs_decode,
    cobs_encode,
    crc32,
    encode_frame,
)
from devices.buttonbox.driver import ButtonBoxDriver
from tests.devices.conftest import buttonbox_threads, fast_settings
from tests.support.buttonbox_helpers import box_hears_host_for
from tests.support.toolkit import wait_until


# -- codec ------------------------------------------------------------------------------------
def reference_cobs_decode(data: bytes) -> bytes | None:
    """The textbook decoder, byte block by block (what the codec had before)."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        if code == 0:
            return None
        end = i + code
        if end > n:
            return None
        out += data[i + 1 : end]
        i = end
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)


blocks = st.binary(max_size=600).map(lambda b: b.replace(b"\x00", b"\x01"))


@given(
    st.one_of(
        st.binary(max_size=700),
        blocks,
        st.binary(max_size=700).map(cobs_encode),
        st.lists(st.sampled_from([0x01, 0x02, 0xFE, 0xFF, 0x80]), max_size=40).map(bytes),
    )
)
@settings(max_examples=400)
def test_cobs_decode_equals_the_reference(data):
    assert cobs_decode(data) == reference_cobs_decode(data)


@given(st.binary(max_size=MAX_BODY), st.binary(min_size=4, max_size=4), st.booleans())
@settings(max_examples=300)
def test_the_crc_residue_check_accepts_exactly_the_right_crc(body, other, right):
    good = crc32(body).to_bytes(4, "little")
    tail = good if right else other
    assert (zlib.crc32(body + tail) == CRC_RESIDUE) == (tail == good)


def _general(frame: bytes) -> tuple[list[bytes], object]:
    """The same bytes through the general loop: the leading zero alone, then the rest."""
    dec = FrameDecoder()
    out = dec.feed(frame[:1]) + dec.feed(frame[1:])
    return out, dec.stats


def _damaged(draw_body: bytes, how: int, at: int, byte: int) -> bytes:
    frame = bytearray(encode_frame(draw_body))
    inner = len(frame) - 2
    pos = 1 + at % inner
    if how == 1:
        frame[pos] = byte or 1  # any non-zero byte changed: CRC or COBS
    elif how == 2:
        del frame[pos]  # a byte lost
    elif how == 3:
        frame[1] = 0xFF  # a code pointing past the end
    elif how == 4:
        frame = bytearray(b"\x00" + bytes([byte or 1]) * (at % (MAX_ENCODED + 6)) + b"\x00")
    return bytes(frame)


@given(
    st.binary(min_size=0, max_size=MAX_BODY),
    st.integers(0, 4),
    st.integers(0, 10_000),
    st.integers(0, 255),
)
@settings(max_examples=500)
def test_whole_frame_fast_path_equals_the_general_loop(body, how, at, byte):
    frame = _damaged(body, how, at, byte)
    dec = FrameDecoder()
    fast = dec.feed(frame)
    general, stats = _general(frame)
    assert fast == general
    assert dataclasses.asdict(dec.stats) == dataclasses.asdict(stats)
    assert dec.buffered == 0


message_bodies = st.builds(
    lambda kind, seq, payload, trailing: bytes([p.VERSION, kind, seq]) + payload + trailing,
    st.sampled_from([t.value for t in p.MsgType]),
    st.integers(0, 255),
    st.binary(max_size=60),
    st.binary(max_size=MAX_BODY),
)


@given(message_bodies, st.integers(0, 2), st.integers(0, 10_000), st.integers(0, 255))
@settings(max_examples=300)
def test_fast_path_equals_the_general_loop_for_frames_with_trailing_fields(body, how, at, byte):
    """Bodies of every type with a newer minor version's trailing fields, up to the largest
    frame, whole or damaged: the one-frame path gives what the general loop gives."""
    frame = _damaged(body[:MAX_BODY], how, at, byte)
    dec = FrameDecoder()
    fast = dec.feed(frame)
    general, stats = _general(frame)
    assert fast == general
    assert dataclasses.asdict(dec.stats) == dataclasses.asdict(stats)
    if how == 0:
        assert fast == [body[:MAX_BODY]]


def test_fast_path_is_not_taken_with_bytes_held_from_before():
    dec = FrameDecoder()
    good = encode_frame(b"\x01\x03\x00abcd")
    assert dec.feed(b"\x07\x07") == []  # garbage held, no zero yet
    assert dec.feed(good) == [b"\x01\x03\x00abcd"]  # its leading zero ends the garbage
    assert dec.stats.bad_cobs + dec.stats.bad_crc + dec.stats.too_short == 1


# -- bus ----------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class Ping(Event):
    n: int


@dataclasses.dataclass(frozen=True, slots=True)
class Pong(Ping):
    pass


class Listener:
    def __init__(self, name: str, log: list) -> None:
        self.name, self.log = name, log

    def on(self, e: Event) -> None:
        self.log.append((self.name, e.n))


def test_bus_index_follows_subscriptions_and_keeps_their_order():
    bus, log = EventBus(), []
    a, b, c = Listener("a", log), Listener("b", log), Listener("c", log)
    bus.subscribe(Pong, a.on)
    bus.subscribe(Ping, b.on)
    bus.publish(Pong(1))  # the index for Pong is built here
    bus.subscribe(Pong, c.on)  # … and must be rebuilt
    bus.publish(Pong(2))
    bus.publish(Ping(3))
    assert log == [("a", 1), ("b", 1), ("a", 2), ("b", 2), ("c", 2), ("b", 3)]
    log.clear()
    bus.unsubscribe(a.on)
    bus.publish(Pong(4))
    assert log == [("b", 4), ("c", 4)]
    log.clear()
    del b
    gc.collect()  # a dead subscriber: not called, dropped
    bus.publish(Pong(5))
    assert log == [("c", 5)]
    assert bus.subscriber_count() == 1


def test_a_subscription_made_while_publishing_gets_the_next_event_only():
    bus, got = EventBus(), []

    class Late:
        def on(self, e: Ping) -> None:
            got.append(("late", e.n))

    late = Late()

    def first(e: Ping) -> None:
        got.append(("first", e.n))
        if e.n == 1:
            bus.subscribe(Ping, late.on)

    bus.subscribe(Ping, first)
    bus.publish(Ping(1))
    bus.publish(Ping(2))
    assert got == [("first", 1), ("first", 2), ("late", 2)]


def test_publish_still_refuses_what_is_not_an_event():
    bus = EventBus()
    bus.publish(Ping(1))
    for bad in (object(), 3, "x"):
        try:
            bus.publish(bad)  # type: ignore[arg-type]
        except TypeError as exc:
            assert "not an Event" in str(exc)
        else:
            raise AssertionError("a non-event was published")


# -- call machine ------------------------------------------------------------------------------
def test_machine_publishes_in_order_outside_its_lock(session):
    calls = session.calls
    seen: list[tuple[str, bool]] = []
    done = threading.Event()

    class Watch:
        def on(self, e: Event) -> None:
            # the machine's lock must be free: another thread can take it at once
            free = []

            def take() -> None:
                if calls._lock.acquire(timeout=1):
                    calls._lock.release()
                    free.append(True)

            t = threading.Thread(target=take)
            t.start()
            t.join()
            seen.append((type(e).__name__, bool(free)))
            if isinstance(e, CallAnswered):
                calls.do(Action.MUTE_TOGGLE, Source.BUTTON_BOX)  # re-entrant: queued, in order
            if isinstance(e, MuteChanged):
                done.set()

    w = Watch()
    for t in (CallStateChanged, CallAnswered, MuteChanged):
        session.bus.subscribe(t, w.on)
    assert calls.do(Action.ANSWER, Source.BUTTON_BOX)
    assert done.wait(2)
    assert seen == [("CallStateChanged", True), ("CallAnswered", True), ("MuteChanged", True)]
    assert calls.state is CallState.ON_CALL and calls.muted


# -- driver over a real pty -----------------------------------------------------------------
def button(index: int, kind: int, seq: int, extra: bytes = b"") -> bytes:
    body = bytes([p.VERSION, p.MsgType.BUTTON, seq, index, kind]) + (1234).to_bytes(4, "little")
    return encode_frame(body + extra)


def test_button_frames_the_protocol_refuses_are_never_presses(sim, wired, session):
    svc, rec = wired(sim)
    assert rec.wait_count(ev.ButtonBoxConnected, 1)
    sim.write_raw(button(0, 9, 200))  # unknown kind
    sim.write_raw(encode_frame(bytes([p.VERSION, p.MsgType.BUTTON, 202, 0, 1, 0])))  # short
    sim.write_raw(encode_frame(bytes([2, p.MsgType.BUTTON, 203, 0, 1, 0, 0, 0, 0])))  # v2
    sim.write_raw(button(7, 1, 204))  # no such button: counted, not pressed
    assert wait_until(lambda: svc.driver.counts().malformed == 4, 3)
    assert rec.of(ev.ButtonPressed) == []
    sim.write_raw(button(0, 1, 205, b"\x00\x07"))  # answer: down is a press (+ trailing)
    sim.write_raw(button(0, 1, 205))  # its retransmission: not again
    sim.write_raw(button(0, 2, 208))  # two events lost before this one
    sim.write_raw(button(0, 1, 207))  # older than 208: a replay, not acted on
    assert rec.wait_for(lambda: session.calls.state is CallState.ON_CALL)
    assert wait_until(lambda: svc.driver.counts().lost_events == 2, 3)
    assert wait_until(lambda: svc.driver.counts().replayed == 1, 3)
    assert svc.driver.counts().malformed == 4
    sim.write_raw(button(1, 1, 209))  # hangup: read after all of the above
    assert rec.wait_count(ev.ButtonPressed, 2)
    assert [(e.button, e.gesture) for e in rec.of(ev.ButtonPressed)] == [
        ("answer", "press"),
        ("hangup", "press"),
    ]


class FrameRig:
    """A session's frame handling, called directly on this thread (which plays the owner
    thread), writing its ACKs to a real serial port on a pty (whose far end the rig reads
    back)."""

    BUTTONS = ("answer", "hangup", "mute", "help")
    MARK = b"\x00\xff\xfe\xfd\x00"

    def __init__(self) -> None:
        from devices.buttonbox.box_session import BoxSession
        from devices.buttonbox.counters import BadFramesReport, LinkCounters
        from devices.buttonbox.holds import Kind
        from devices.buttonbox.led_output import LedOutput, LedRequest
        from devices.buttonbox.link import Link
        from devices.buttonbox.owner import Wakeup
        from devices.buttonbox.settings import DriverSettings
        from tests.support.pty_pair import PtyPair

        self.pair = PtyPair()
        self.presses: list[tuple[str, Kind]] = []
        clock, decoder, self.counters = SystemClock(), FrameDecoder(), LinkCounters()
        self.link = Link.open(self.pair.device_path, 115200, Wakeup())
        ident = p.Identity("box", "1", (1, 0, 0), 0, self.BUTTONS, ())
        leds = LedOutput(self.link, ident, LedRequest(), lambda e: None, 0.25)
        report = BadFramesReport(self.counts, lambda e: None, clock, 0.5)
        self.session = BoxSession(
            self.link,
            ident,
            decoder,
            self.counters,
            leds,
            report,
            DriverSettings(),
            clock,
            lambda b, k: self.presses.append((b, k)),
            lambda: False,
        )
        self.decoder = decoder
        self.acks = FrameDecoder()

    def counts(self) -> ev.BadFrames:
        return self.counters.bad_frames(self.decoder.stats)

    def run(self, body: bytes, last: int | None) -> dict[str, object]:
        self.presses.clear()
        self.session.rx_seq = last
        self.session.holds.forget()  # each example on its own: no button still down
        before = self.counts()
        self.session.frame(body)
        after = self.counts()
        # a marker after what the driver wrote: read up to it, and all of that has come
        # (after a zero, a frame's next byte is a small COBS code, never 0xFF)
        os.write(self.link.fd, self.MARK)
        data = b""
        while not data.endswith(self.MARK):
            data += self.pair.read(4096, 2.0)
        acked = [p.decode_body(b)[1].seq for b in self.acks.feed(data[: -len(self.MARK)])]
        return {
            "presses": list(self.presses),
            "acked": acked,
            "rx_seq": self.session.rx_seq,
            **{
                k: getattr(after, k) - getattr(before, k)
                for k in ("malformed", "lost_events", "replayed")
            },
        }

    def close(self) -> None:
        self.link.close()
        self.link.wakeup.close()
        self.pair.close()


def reference(body: bytes, last: int | None, buttons: tuple[str, ...]) -> dict[str, object]:
    """What the protocol document says the host does with a BUTTON-typed body."""
    out: dict[str, object] = {
        "presses": [],
        "acked": [],
        "rx_seq": last,
        "malformed": 0,
        "lost_events": 0,
        "replayed": 0,
    }
    try:
        head, msg = p.decode_body(body)
    except p.ProtocolError:
        return dict(out, malformed=1)
    assert isinstance(msg, p.Button)
    if msg.button >= len(buttons):
        return dict(out, malformed=1)
    ahead = 1 if last is None else p.seq_delta(head.seq, last)
    out["acked"] = [head.seq]
    if ahead == 0:
        return out
    if ahead > p.SEQ_WINDOW:
        return dict(out, replayed=1)
    return dict(
        out, presses=[(buttons[msg.button], msg.kind)], rx_seq=head.seq, lost_events=ahead - 1
    )


@pytest.fixture(scope="module")
def frame_rig():
    rig = FrameRig()
    yield rig
    rig.close()


button_bodies = st.builds(
    lambda version, seq, index, kind, t, trailing, cut: (
        bytes([version, p.MsgType.BUTTON, seq, index, kind]) + t + trailing
    )[: 9 + len(trailing) - cut],
    st.sampled_from([p.VERSION, p.VERSION, p.VERSION, 2]),
    st.integers(0, 255),
    st.integers(0, 6),
    st.integers(0, 4),
    st.binary(min_size=4, max_size=4),
    st.binary(max_size=12),
    st.sampled_from([0, 0, 0, 1, 3, 6]),
)


@given(button_bodies, st.one_of(st.none(), st.integers(0, 255)))
@settings(max_examples=400)
def test_button_frames_decode_through_the_protocol_as_documented(frame_rig, body, last):
    """A BUTTON-typed frame, through the session's normal decode, does exactly what the
    protocol document says: trailing fields, short payloads, versions, kinds, button
    indexes, repeats, replays and gaps over the wrap-around."""
    assert frame_rig.run(body, last) == reference(body, last, FrameRig.BUTTONS)


def test_a_failing_press_handler_does_not_end_the_owner_thread(sim, caplog):
    presses: list[tuple[str, p.ButtonKind]] = []

    def on_button(name: str, kind: p.ButtonKind) -> None:
        presses.append((name, kind))
        if len(presses) == 1:
            raise RuntimeError("handler bug")

    emitted: list[Event] = []
    drv = ButtonBoxDriver(
        fast_settings(sim.path, long_press_ms=5000), SystemClock(), emitted.append, on_button
    )
    drv.start()
    down, up = p.ButtonKind.DOWN, p.ButtonKind.UP
    try:
        assert wait_until(lambda: drv.status == "connected", 5)
        sim.button_down("answer")
        assert wait_until(lambda: presses == [("answer", down)], 3)
        assert wait_until(lambda: not sim.box.queue)  # acknowledged: the box does not resend
        assert box_hears_host_for(sim, 300)  # (and nothing resent is still on its way)
        assert presses == [("answer", down)]
        assert "handling button answer (down) failed" in caplog.text
        sim.button_up("answer")
        sim.button_down("hangup")
        assert wait_until(lambda: presses[1:] == [("answer", up), ("hangup", down)], 3)
        assert drv.status == "connected" and drv.thread is not None and drv.thread.is_alive()
        assert len(buttonbox_threads()) == 1
    finally:
        drv.stop()
