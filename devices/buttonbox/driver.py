"""The button-box driver: one owner thread for the serial port, from open to close.

Every method that touches the port runs on the thread the driver starts ("faro-buttonbox");
:func:`_owner_thread` asserts it, so a call from anywhere else fails loudly in tests instead
of racing. Other threads talk to the driver through :meth:`ButtonBoxDriver.set_leds` and
:meth:`ButtonBoxDriver.stop`, which only store a value and wake the owner through a pipe.

Life of a connection: pick the port (the configured path, or the first port whose USB
vendor:product is listed) → open it → HELLO → wait for IDENTITY → serve (heartbeats both
ways, acknowledge and de-duplicate button events, send the LED state until acknowledged)
→ on an unplug, a write failure or heartbeat silence, close and try again with backoff
(50 ms doubling to ``reconnect_max_s``). A device that answers with something else than a
version-1 IDENTITY (or never answers after a few tries) is rejected with a clear message and
left alone until its port disappears.
"""
from __future__ import annotations

import functools
import logging
import os
import select
import threading
from dataclasses import dataclass, field
from typing import Callable, Sequence

import serial

from core.clock import Clock
from core.events import Event
from core.i18n import _
from devices import events as ev
from devices.buttonbox.codec import FrameDecoder, encode_frame
from devices.buttonbox.leds import LedFrame, LedPattern
from devices.buttonbox.protocol import (
    VERSION, Ack, Button, ButtonKind, Error, ErrorCode, Heartbeat, Hello, Identity, Led, LedMode,
    LedState, Message, MsgType, ProtocolError, decode_body, decode_header, encode_body)
from devices.ports import find_by_usb_id

log = logging.getLogger(__name__)

MAX_LEDS = 24          # what fits in one LED_STATE frame
READ_SIZE = 65536
POLL_S = 0.1           # the owner thread looks at the clock at least this often
_BUTTON = int(MsgType.BUTTON)
_KINDS = {int(k): k for k in ButtonKind}


@dataclass(frozen=True)
class DriverSettings:
    port: str = ""
    usb_ids: tuple[tuple[int, int], ...] = ((0x2E8A, 0x0005),)
    heartbeat_s: float = 0.5
    heartbeat_timeout_s: float = 2.0
    hello_timeout_s: float = 1.0
    reconnect_min_s: float = 0.05
    reconnect_max_s: float = 1.0
    long_press_ms: int = 800
    led_retry_s: float = 0.25
    silent_attempts: int = 3       # unanswered HELLO rounds before a port is left alone
    baudrate: int = 115200
    bad_frames_every_s: float = 0.5


def _owner_thread(method: Callable) -> Callable:
    @functools.wraps(method)
    def checked(self: "ButtonBoxDriver", *args, **kw):
        assert threading.current_thread() is self._thread, (
            f"ButtonBoxDriver.{method.__name__} must run on the driver's owner thread")
        return method(self, *args, **kw)
    return checked


class _Closed(Exception):
    """The connection ended; ``reason`` is a code, ``message`` is for people."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(reason)
        self.reason, self.message = reason, message


class _Rejected(_Closed):
    pass


class _NoAnswer(Exception):
    pass


@dataclass
class _Counters:
    malformed: int = 0
    lost_events: int = 0
    box_reported: int = 0


@dataclass
class _Connection:
    port: serial.Serial
    path: str
    identity: Identity | None = None
    backlog: list[bytes] = field(default_factory=list)
    tx_seq: int = 0
    rx_seq: int | None = None
    last_rx: float = 0.0
    next_heartbeat: float = 0.0
    led_sent_version: int = -1
    led_inflight: tuple[int, int, LedFrame] | None = None  # seq, version, frame
    led_retry_at: float = 0.0


class ButtonBoxDriver:
    def __init__(self, settings: DriverSettings, clock: Clock, emit: Callable[[Event], None],
                 on_button: Callable[[str, ButtonKind], None] | None = None,
                 comports: Callable[[], Sequence[object]] | None = None) -> None:
        self.settings = settings
        self._clock = clock
        self._emit = emit
        self._on_button = on_button or (lambda name, kind: None)
        self._comports = comports
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._pipe_open = True
        self._desired: LedFrame = {}
        self._desired_version = 0
        self._final: LedFrame | None = None
        self._decoder = FrameDecoder()
        self._counters = _Counters()
        self._published_counts: ev.BadFrames | None = None
        self._counts_at = 0.0
        self._rejected: dict[str, str] = {}     # path → why it is left alone
        self._silent: dict[str, int] = {}       # path → unanswered HELLO rounds
        self.max_buffered = 0
        self.status = "stopped"
        self.message = ""
        self.identity: Identity | None = None
        self.port_path = ""
        self.confirmed_leds: LedFrame | None = None

    # -- any thread -------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stopping:
                return
            self.status, self.message = "searching", _("Looking for the button box.")
            self._thread = threading.Thread(target=self._run, name="faro-buttonbox", daemon=True)
            self._thread.start()

    def stop(self, final_leds: LedFrame | None = None) -> None:
        """Stop the owner thread (sending ``final_leds`` first if connected). Idempotent."""
        with self._lock:
            if not self._stopping:
                self._stopping = True
                self._final = final_leds
            thread = self._thread
        self._wake()
        if thread is None:
            self._close_pipe()
        elif thread is not threading.current_thread():
            thread.join(5)
            if thread.is_alive():
                log.error("button-box thread did not stop within 5 s")

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def set_leds(self, frame: LedFrame) -> None:
        """The LED state the box should show (sent now, and again after every reconnect)."""
        with self._lock:
            self._desired = dict(frame)
            self._desired_version += 1
        self._wake()

    def counts(self) -> ev.BadFrames:
        s, c = self._decoder.stats, self._counters
        return ev.BadFrames(s.bad_crc, s.bad_cobs, s.overlong, s.too_short, c.malformed,
                            c.lost_events, c.box_reported)

    def _wake(self) -> None:
        with self._lock:
            if self._pipe_open:
                try:
                    os.write(self._wake_w, b"x")
                except BlockingIOError:
                    pass

    def _close_pipe(self) -> None:
        with self._lock:
            if self._pipe_open:
                self._pipe_open = False
                os.close(self._wake_r)
                os.close(self._wake_w)

    # -- the owner thread ---------------------------------------------------------------
    def _run(self) -> None:
        backoff = self.settings.reconnect_min_s
        try:
            while not self._stopping:
                path = self._pick_port()
                if path is None:
                    self._pause(backoff)
                    backoff = min(backoff * 2, self.settings.reconnect_max_s)
                    continue
                served = self._connect_and_serve(path)
                if served:
                    backoff = self.settings.reconnect_min_s
                self._pause(backoff)
                backoff = min(backoff * 2, self.settings.reconnect_max_s)
        except Exception:  # a bug: log it, report the box as gone, end the thread
            log.exception("button-box driver failed")
            self._set_status("disconnected", _("The button box driver failed; see the log."))
        finally:
            self._set_status("stopped", "")
            self._close_pipe()

    def _set_status(self, status: str, message: str) -> None:
        self.status, self.message = status, message

    @_owner_thread
    def _pick_port(self) -> str | None:
        if self.settings.port:
            path = self.settings.port
            if not os.path.exists(path):
                self._forget(path)
                self._set_status("searching", _("No button box at {port}.").format(port=path))
                return None
            return None if path in self._rejected else path
        try:
            paths = find_by_usb_id(self.settings.usb_ids,
                                   self._comports() if self._comports else None)
        except Exception:
            log.exception("listing serial ports failed")
            paths = []
        for gone in set(self._rejected) | set(self._silent):
            if gone not in paths:
                self._forget(gone)
        for path in paths:
            if path not in self._rejected:
                return path
        if not self._rejected:
            self._set_status("searching", _("No button box is plugged in."))
        return None

    def _forget(self, path: str) -> None:
        self._rejected.pop(path, None)
        self._silent.pop(path, None)

    @_owner_thread
    def _pause(self, seconds: float) -> None:
        """Wait ``seconds`` of real time, or less if woken by stop()."""
        if self._stopping:
            return
        select.select([self._wake_r], [], [], seconds)
        self._drain_wake()

    def _drain_wake(self) -> None:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass

    @_owner_thread
    def _connect_and_serve(self, path: str) -> bool:
        """One connection. Returns True if a box identified itself on it."""
        try:
            port = serial.Serial(path, self.settings.baudrate, timeout=0, write_timeout=0.5,
                                 exclusive=True)
        except (OSError, serial.SerialException, ValueError) as exc:
            log.info("cannot open %s: %s", path, exc)
            self._set_status("searching", _("Cannot open {port}: it is busy or not allowed.")
                             .format(port=path))
            return False
        conn = _Connection(port, path)
        served = False
        try:
            port.reset_input_buffer()
            self._decoder.reset()
            self._set_status("connecting", "")
            conn.identity = self._handshake(conn)
            self._silent.pop(path, None)
            served = True
            self._serve(conn)
        except _Rejected as rej:
            self._rejected[path] = rej.message
            log.warning("button box on %s rejected: %s", path, rej.reason)
            self._set_status("rejected", rej.message)
            self._emit(ev.ButtonBoxRejected(rej.reason, rej.message, path))
        except _NoAnswer:
            tries = self._silent.get(path, 0) + 1
            self._silent[path] = tries
            if tries >= self.settings.silent_attempts:
                message = _("The device on {port} does not answer as a Faro button box; "
                            "Faro leaves it alone until it is unplugged.").format(port=path)
                self._rejected[path] = message
                self._set_status("rejected", message)
                self._emit(ev.ButtonBoxRejected("unknown_device", message, path))
        except _Closed as closed:
            if served:
                log.info("button box on %s: %s", path, closed.reason)
                self._set_status("disconnected", closed.message)
                self._publish_counts(force=True)
                self._emit(ev.ButtonBoxDisconnected(closed.reason, closed.message, path))
        finally:
            try:
                port.close()
            except Exception:
                log.debug("closing %s failed", path, exc_info=True)
            self.identity = None
        return served

    @_owner_thread
    def _write(self, conn: _Connection, msg: Message, seq: int | None = None) -> None:
        data = encode_frame(encode_body(msg, conn.tx_seq if seq is None else seq))
        try:
            try:
                sent = os.write(conn.port.fd, data)   # the usual case: all of it, at once
            except BlockingIOError:
                sent = 0
            if sent < len(data):
                conn.port.write(data[sent:])          # waits up to write_timeout
        except (OSError, serial.SerialException) as exc:
            raise _Closed("write_failed", _("The button box stopped taking data.")) from exc

    @_owner_thread
    def _read(self, conn: _Connection, timeout: float) -> bytes:
        """Bytes that arrived within ``timeout`` (b"" if none); raises _Closed on an unplug."""
        fd = conn.port.fd
        ready, _w, _x = select.select([fd, self._wake_r], [], [], max(0.0, timeout))
        if self._wake_r in ready:
            self._drain_wake()
        if fd not in ready:
            return b""
        try:
            data = os.read(fd, READ_SIZE)
        except OSError as exc:
            raise _Closed("unplugged", _("The button box was unplugged.")) from exc
        if not data:
            raise _Closed("unplugged", _("The button box was unplugged."))
        return data

    @_owner_thread
    def _handshake(self, conn: _Connection) -> Identity:
        s = self.settings
        hello = Hello(0, int(s.heartbeat_s * 1000), s.long_press_ms)
        self._write(conn, hello)
        start = self._clock.monotonic()
        deadline, resend_at = start + s.hello_timeout_s, start + s.hello_timeout_s / 2
        got = 0
        while not self._stopping:
            now = self._clock.monotonic()
            if now >= deadline:
                if got:
                    raise _Rejected("unknown_device", _(
                        "The device on {port} does not speak the Faro button-box protocol; "
                        "Faro leaves it alone until it is unplugged.").format(port=conn.path))
                raise _NoAnswer()
            if now >= resend_at:
                self._write(conn, hello)
                resend_at = deadline + 1
            data = self._read(conn, min(POLL_S, min(deadline, resend_at) - now))
            got += len(data)
            bodies = self._decoder.feed(data)
            for i, body in enumerate(bodies):
                head = decode_header(body)
                if head.type != MsgType.IDENTITY:
                    continue
                if head.version != VERSION:
                    raise _Rejected("wrong_version", _(
                        "The button box on {port} speaks protocol version {theirs}; this Faro "
                        "speaks version {ours}. Update the box firmware or Faro; Faro leaves the "
                        "box alone until it is unplugged.").format(
                            port=conn.path, theirs=head.version, ours=VERSION))
                try:
                    _head, identity = decode_body(body)
                except ProtocolError:
                    raise _Rejected("unknown_device", _(
                        "The device on {port} sent an identity Faro cannot read; Faro leaves it "
                        "alone until it is unplugged.").format(port=conn.path)) from None
                conn.backlog = bodies[i + 1:]
                return identity  # type: ignore[return-value]
        raise _Closed("stopped", "")

    @_owner_thread
    def _serve(self, conn: _Connection) -> None:
        s = self.settings
        identity = conn.identity
        assert identity is not None
        now = self._clock.monotonic()
        conn.last_rx, conn.next_heartbeat = now, now
        self.identity, self.port_path = identity, conn.path
        self.confirmed_leds = None  # so the restored state is reported again
        self._set_status("connected", "")
        self._emit(ev.ButtonBoxConnected(identity, conn.path))
        for body in conn.backlog:
            self._frame(conn, body)
        fd, wake, decoder = conn.port.fd, self._wake_r, self._decoder
        fds, feed = [fd, wake], decoder.feed
        while True:
            if self._stopping:
                self._goodbye(conn)
                raise _Closed("stopped", _("Faro stopped."))
            now = self._clock.monotonic()
            if now - conn.last_rx > s.heartbeat_timeout_s:
                raise _Closed("heartbeat_timeout", _(
                    "The button box stopped answering (no heartbeat for {seconds:.1f} s).")
                    .format(seconds=s.heartbeat_timeout_s))
            if now >= conn.next_heartbeat:
                self._write(conn, Heartbeat(int(now * 1000) & 0xFFFFFFFF))
                conn.next_heartbeat = now + s.heartbeat_s
            self._send_leds(conn, now)
            self._publish_counts()
            due = min(conn.next_heartbeat, conn.last_rx + s.heartbeat_timeout_s + 0.001)
            if conn.led_inflight is not None:
                due = min(due, conn.led_retry_at)
            # the latency path, written out (no helper calls): wake → read → frames → press
            ready = select.select(fds, [], [], min(POLL_S, max(0.001, due - now)))[0]
            if fd in ready:
                try:
                    data = os.read(fd, READ_SIZE)
                except OSError as exc:
                    raise _Closed("unplugged", _("The button box was unplugged.")) from exc
                if not data:
                    raise _Closed("unplugged", _("The button box was unplugged."))
                for body in feed(data):
                    self._frame(conn, body)
                buffered = decoder.buffered
                if buffered > self.max_buffered:
                    self.max_buffered = buffered
            if wake in ready:
                self._drain_wake()

    @_owner_thread
    def _send_leds(self, conn: _Connection, now: float) -> None:
        with self._lock:
            frame, version = self._desired, self._desired_version
        retry = conn.led_inflight is not None and now >= conn.led_retry_at
        if version == conn.led_sent_version and not retry:
            return
        conn.tx_seq = (conn.tx_seq + 1) & 0xFF
        self._write(conn, self._led_message(conn, frame))
        conn.led_sent_version = version
        conn.led_inflight = (conn.tx_seq, version, frame)
        conn.led_retry_at = now + self.settings.led_retry_s

    def _led_message(self, conn: _Connection, frame: LedFrame) -> LedState:
        assert conn.identity is not None
        leds = []
        for i, info in enumerate(conn.identity.leds[:MAX_LEDS]):
            pattern = frame.get(info.name, LedPattern(LedMode.OFF))
            leds.append(Led(i, pattern.mode, pattern.rgb))
        return LedState(tuple(leds))

    @_owner_thread
    def _goodbye(self, conn: _Connection) -> None:
        if self._final is None:
            return
        try:
            conn.tx_seq = (conn.tx_seq + 1) & 0xFF
            self._write(conn, self._led_message(conn, self._final))
            conn.port.flush()
        except (_Closed, OSError, serial.SerialException):
            pass

    def _frame(self, conn: _Connection, body: bytes) -> None:
        """One frame with a good CRC (owner thread: called from _serve only; _write asserts)."""
        # BUTTON, the message whose latency matters, is decoded inline with the very checks
        # of decode_body (version 1, exactly 6 payload bytes, a known kind); anything else,
        # or a BUTTON that fails them, takes the general path below.
        if len(body) == 9 and body[1] == _BUTTON and body[0] == VERSION:
            kind = _KINDS.get(body[4])
            if kind is not None:
                seq, last = body[2], conn.rx_seq
                if seq != last:                  # else a retransmission: not acted on again
                    if last is not None:         # (_take_seq, written out)
                        self._counters.lost_events += (seq - last - 1) & 0xFF
                    conn.rx_seq = seq
                    buttons = conn.identity.buttons  # type: ignore[union-attr]
                    if body[3] < len(buttons):   # the press first, then the ACK (_press)
                        try:
                            self._on_button(buttons[body[3]], kind)
                        except Exception:        # must not end the owner thread
                            log.exception("handling button %s (%s) failed", buttons[body[3]],
                                          kind.name.lower())
                    else:
                        self._counters.malformed += 1
                conn.last_rx = self._clock.monotonic()
                self._write(conn, Ack(seq))      # a retransmission is acknowledged again
                return
        try:
            head, msg = decode_body(body)
        except ProtocolError:
            self._counters.malformed += 1
            return
        conn.last_rx = self._clock.monotonic()
        if isinstance(msg, (Button, Error)):
            if head.seq != conn.rx_seq:
                self._take_seq(conn, head.seq)
                if isinstance(msg, Button):
                    assert conn.identity is not None
                    if msg.button < len(conn.identity.buttons):
                        self._press(conn.identity.buttons[msg.button], msg.kind)
                    else:
                        self._counters.malformed += 1
                else:
                    self._box_error(msg)
            self._write(conn, Ack(head.seq))  # a retransmission is acknowledged again
        elif isinstance(msg, Ack):
            inflight = conn.led_inflight
            if inflight is not None and msg.seq == inflight[0]:
                conn.led_inflight = None
                if inflight[2] != self.confirmed_leds:
                    self.confirmed_leds = inflight[2]
                    self._emit(ev.LedStateChanged(self._led_views(conn, inflight[2])))

    def _take_seq(self, conn: _Connection, seq: int) -> None:
        """A new reliable event: count the ones skipped (lost) since the last."""
        if conn.rx_seq is not None:
            self._counters.lost_events += (seq - conn.rx_seq - 1) & 0xFF
        conn.rx_seq = seq

    def _press(self, button: str, kind: ButtonKind) -> None:
        try:
            self._on_button(button, kind)
        except Exception:  # a failing handler must not end the owner thread
            log.exception("handling button %s (%s) failed", button, kind.name.lower())

    def _box_error(self, msg: Error) -> None:
        if msg.code == ErrorCode.BAD_FRAME:
            self._counters.box_reported += msg.info
        elif msg.code == ErrorCode.EVENT_LOST:
            self._counters.lost_events += msg.info
            log.warning("the button box dropped %d event(s) it could not deliver", msg.info)
        else:
            log.warning("the button box reported error %d (%d)", msg.code, msg.info)

    @staticmethod
    def _led_views(conn: _Connection, frame: LedFrame) -> tuple[ev.LedView, ...]:
        assert conn.identity is not None
        views = []
        for info in conn.identity.leds:
            p = frame.get(info.name, LedPattern(LedMode.OFF))
            views.append(ev.LedView(info.name, p.mode.name.lower(), p.colour))
        return tuple(views)

    def _publish_counts(self, force: bool = False) -> None:
        now = self._clock.monotonic()
        if not force and now - self._counts_at < self.settings.bad_frames_every_s:
            return
        counts = self.counts()
        if counts != self._published_counts:
            self._published_counts = counts
            self._counts_at = now
            self._emit(counts)
