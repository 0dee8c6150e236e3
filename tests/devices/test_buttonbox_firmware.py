"""The reference firmware's logic under CPython: debounce, long press, retransmission, offline.

Its behaviour against the real driver over a pty is covered by every simulator test (the
simulator runs this very BoxLogic); the last test here runs it bare, driven by a loop like
main.py's, to show nothing of the simulator is needed.
"""

from __future__ import annotations

import os
import select
import threading
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from devices.buttonbox import protocol as p
from devices.buttonbox.codec import FrameDecoder, encode_frame
from devices.firmware.pico import boxlogic
from tests.support.toolkit import wait_until


def host_frames(box: boxlogic.BoxLogic) -> list[tuple[p.Header, object]]:
    dec = FrameDecoder()
    return [p.decode_body(b) for b in dec.feed(box.take_output())]


def hello(box, now=0, hb=100, long_ms=400):
    box.feed(encode_frame(p.encode_body(p.Hello(0, hb, long_ms), 0)), now)


def test_hello_gets_identity_and_starts_a_session():
    box = boxlogic.BoxLogic(serial="X1")
    assert not box.session
    hello(box)
    ((head, ident),) = host_frames(box)
    assert isinstance(ident, p.Identity) and ident.serial == "X1"
    assert ident.buttons == ("answer", "hangup", "mute", "help")
    assert box.session and box.long_ms == 400


def test_no_events_before_a_host_says_hello():
    box = boxlogic.BoxLogic()
    box.set_button(0, True, 10)
    box.tick(20)
    assert box.take_output() == b""


def test_debounce_ignores_bounces_shorter_than_20ms():
    box = boxlogic.BoxLogic()
    hello(box)
    box.take_output()
    for t, level in [(0, True), (3, False), (6, True), (9, False)]:  # contact bounce
        box.sample(0, level, t)
    box.sample(0, False, 40)
    assert host_frames(box) == []
    box.sample(0, True, 50)
    box.sample(0, True, 65)
    assert host_frames(box) == []
    box.sample(0, True, 71)
    ((head, msg),) = host_frames(box)
    assert msg == p.Button(0, p.ButtonKind.DOWN, 71)


def test_long_press_after_the_configured_time_and_events_wait_for_acks():
    box = boxlogic.BoxLogic()
    hello(box, hb=5000, long_ms=400)
    box.take_output()
    box.set_button(3, True, 1000)
    ((h1, down),) = host_frames(box)
    box.tick(1160)
    ((_h, again),) = host_frames(box)  # not acknowledged within 150 ms: sent again
    assert again == down
    box.feed(encode_frame(p.encode_body(p.Ack(h1.seq), 0)), 1170)
    box.tick(1399)
    assert host_frames(box) == []  # acknowledged, and not long yet
    box.tick(1400)
    ((h2, long_),) = host_frames(box)
    assert long_ == p.Button(3, p.ButtonKind.LONG, 1400) and h2.seq == (h1.seq + 1) & 0xFF


def test_unacknowledged_event_is_resent_then_given_up_and_reported():
    box = boxlogic.BoxLogic()
    hello(box, hb=5000, long_ms=5000)
    box.take_output()
    box.set_button(0, True, 0)
    sent = [m for _h, m in host_frames(box)]
    for t in range(10, 1200, 10):
        box.feed(encode_frame(p.encode_body(p.Heartbeat(t), 0)), t)  # the host is alive
        box.tick(t)
        sent += [m for _h, m in host_frames(box)]
    downs = [m for m in sent if isinstance(m, p.Button) and m.kind is p.ButtonKind.DOWN]
    assert len(downs) == boxlogic.MAX_TRIES  # same event, same seq, resent
    errors = [m for m in sent if isinstance(m, p.Error)]
    assert errors and errors[0].code == p.ErrorCode.EVENT_LOST and errors[0].info == 1


def test_led_state_applied_acknowledged_and_offline_when_host_goes_quiet():
    box = boxlogic.BoxLogic()
    hello(box, now=0, hb=100)
    box.take_output()
    leds = p.LedState((p.Led(0, p.LedMode.ON, (0, 255, 0)), p.Led(2, p.LedMode.BLINK)))
    box.feed(encode_frame(p.encode_body(leds, 7)), 10)
    ((head, ack),) = host_frames(box)
    assert ack == p.Ack(7)
    assert box.leds[0] == (p.LedMode.ON, 0, 255, 0) and box.leds[2][0] == p.LedMode.BLINK
    assert box.led_level(0, 20) == 255
    assert box.led_level(2, 100) == 255 and box.led_level(2, 600) == 0
    box.tick(411)  # more than 4 heartbeats of silence
    assert not box.session
    assert box.led_level(0, 500) > 0 and box.led_level(2, 0) == 0  # offline: first LED breathes


def test_garbage_and_bad_crc_are_counted_and_reported_by_the_box():
    box = boxlogic.BoxLogic()
    hello(box, hb=5000)
    box.take_output()
    box.feed(b"\x00\x13\x37garbage\x00" + b"\x42" * 300 + b"\x00", 5)
    assert box.bad_total == 2
    box.tick(1100)
    errors = [m for _h, m in host_frames(box) if isinstance(m, p.Error)]
    assert errors == [p.Error(p.ErrorCode.BAD_FRAME, 2)]


def test_bare_firmware_logic_against_the_real_driver_over_a_pty(tmp_path, fake_clock):
    """BoxLogic driven like main.py drives it (poll, feed, tick, write), no simulator."""
    from core.clock import SystemClock
    from devices.buttonbox.driver import ButtonBoxDriver, DriverSettings
    from tests.support.pty_pair import PtyPair

    pair = PtyPair()
    box = boxlogic.BoxLogic(serial="BARE")
    stop = threading.Event()
    t0 = time.monotonic()

    def firmware_main() -> None:  # main.py's loop, with the pty for the USB serial
        while not stop.is_set():
            now = int((time.monotonic() - t0) * 1000)
            r, _, _ = select.select([pair.master_fd], [], [], 0.005)
            if r:
                try:
                    box.feed(os.read(pair.master_fd, 512), now)
                except OSError:
                    return
            box.tick(now)
            if box.session and now > 300 and not box.pressed[1] and not getattr(box, "_done", 0):
                box.set_button(1, True, now)
                box._done = 1
            out = box.take_output()
            if out:
                pair.write(out)

    got: list = []
    clock = SystemClock()
    drv = ButtonBoxDriver(
        DriverSettings(port=pair.device_path, heartbeat_s=0.1, heartbeat_timeout_s=0.6),
        clock,
        got.append,
        lambda name, kind: got.append((name, kind)),
    )
    fw = threading.Thread(target=firmware_main, daemon=True)
    fw.start()
    drv.start()
    try:
        assert wait_until(lambda: ("hangup", p.ButtonKind.DOWN) in got, 5, "the hangup press")
        assert drv.identity is not None and drv.identity.serial == "BARE"
    finally:
        drv.stop()
        stop.set()
        fw.join(2)
        clock.stop()
        pair.close()


# -- the rules the firmware shares with the host (docs/buttonbox-protocol.md) -----------------
def _session_outputs(trailing: bytes) -> tuple:
    """A short host session, every host message carrying ``trailing``: what the box did."""
    box = boxlogic.BoxLogic()

    def send(msg: object, seq: int, now: int) -> None:
        box.feed(encode_frame(p.encode_body(msg, seq) + trailing), now)

    send(p.Hello(0, 100, 400), 0, 0)
    ident = host_frames(box)
    send(p.LedState((p.Led(1, p.LedMode.BLINK, (1, 2, 3)),)), 1, 10)
    acks = host_frames(box)
    box.set_button(0, True, 20)
    ((head, down),) = host_frames(box)
    send(p.Ack(head.seq), 1, 30)
    send(p.Heartbeat(40), 1, 40)
    box.tick(160)
    resent = host_frames(box)  # acknowledged: nothing sent again
    return ident, acks, down, resent, box.leds, box.long_ms, box.session, box.queue


@given(st.binary(min_size=1, max_size=40))
@settings(max_examples=100)
def test_the_firmware_ignores_trailing_fields_in_every_host_message(trailing):
    assert _session_outputs(trailing) == _session_outputs(b"")


def in_session(**hello_kw) -> boxlogic.BoxLogic:
    """A freshly powered box a host has said HELLO to (its IDENTITY taken)."""
    box = boxlogic.BoxLogic()
    hello(box, **hello_kw)
    box.take_output()
    return box


def test_an_older_led_state_is_acknowledged_but_never_undoes_a_newer_one():
    box = in_session()
    new = p.LedState((p.Led(0, p.LedMode.ON, (0, 255, 0)),))
    old = p.LedState((p.Led(0, p.LedMode.BLINK_FAST, (0, 255, 0)),))
    box.feed(encode_frame(p.encode_body(new, 0x01)), 10)
    box.feed(encode_frame(p.encode_body(old, 0xFF)), 20)  # 0xFF after 0x01: older
    box.feed(encode_frame(p.encode_body(new, 0x01)), 30)  # a repeat
    assert [m for _h, m in host_frames(box)] == [p.Ack(0x01), p.Ack(0xFF), p.Ack(0x01)]
    assert box.leds[0][0] == p.LedMode.ON
    hello(box, now=40)  # a new session: a new window
    box.take_output()
    box.feed(encode_frame(p.encode_body(old, 0xFF)), 50)
    assert box.leds[0][0] == p.LedMode.BLINK_FAST


def test_hello_does_not_reset_the_box_counter_and_lost_events_are_reported():
    box = in_session(hb=5000, long_ms=60000)
    box.set_button(0, True, 10)
    ((h1, _down),) = host_frames(box)
    assert h1.seq == 1  # the first event after power-up
    hello(box, now=20, hb=5000, long_ms=60000)  # a new host, the event unacknowledged
    (h_id, ident), (h2, err) = host_frames(box)  # after the IDENTITY: it was lost
    assert isinstance(ident, p.Identity) and h_id.seq == 1
    assert err == p.Error(p.ErrorCode.EVENT_LOST, 1) and h2.seq == 2  # not reset by HELLO
    box.feed(encode_frame(p.encode_body(p.Ack(2), 0)), 30)
    quiet = 30 + 4 * 5000 + 1
    box.tick(quiet)  # the host went quiet: offline
    assert not box.session
    box.set_button(0, False, quiet + 1)  # a release nobody hears: lost
    box.take_output()
    hello(box, now=quiet + 10, hb=5000, long_ms=60000)
    assert [m for _h, m in host_frames(box)][1:] == [p.Error(p.ErrorCode.EVENT_LOST, 1)]
