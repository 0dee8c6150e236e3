"""The button-box driver: one owner thread for the serial port, from open to close.

Every method that touches the port runs on the thread the driver starts ("faro-buttonbox");
:func:`_owner_thread` asserts it, so a call from anywhere else fails loudly in tests instead
of racing. Other threads talk to the driver through :meth:`ButtonBoxDriver.set_leds` and
:meth:`ButtonBoxDriver.stop`, which only store a value and wake the owner through a pipe.

Life of a connection: pick the port (the configured path, or the first port whose USB
vendor:product is listed) → open it → HELLO → wait for IDENTITY → serve (heartbeats both
ways, acknowledge button events and accept each one once, in order, by its sequence number;
send the LED state until acknowledged) → on an unplug, a write failure or heartbeat silence,
close and try again with backoff (50 ms doubling to ``reconnect_max_s``).

A device that does not answer the HELLO in time is a box that is busy, booting or frozen: it
is tried again with the same backoff, for ever (after ``silent_attempts`` unanswered rounds
the console is told it does not answer). A device that answers with something that is
clearly not the protocol (bytes but never a frame with a good CRC, ``silent_attempts`` rounds
running), or with an IDENTITY of another version or that cannot be read, is set aside with a
clear message: it is probed again after ``reprobe_s``, or at once when the device node
changes (a replug: another inode or creation time behind the path, even within one poll).
"""
from __future__ import annotations

import functools
import logging
import os
import select
import stat
import threading
from dataclasses import dataclass, field
from typing import Callable, Sequence

import serial

from core.clock import Clock
from core.events import Event
from core.i18n import _
from core.status import Level, StatusReport
from devices import events as ev
from devices.buttonbox.codec import FrameDecoder, encode_frame
from devices.buttonbox.leds import LedFrame, LedPattern
from devices.buttonbox.protocol import (
    SEQ_WINDOW, VERSION, Ack, Button, ButtonKind, Error, ErrorCode, Heartbeat, Hello, Identity,
    Led, LedMode, LedState, Message, MsgType, ProtocolError, decode_body, decode_header,
    encode_body)
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
    #: handshake rounds before the console hears "does not answer" (silence: tried again for
    #: ever) or a device whose bytes never make a frame is set aside
    silent_attempts: int = 3
    reprobe_s: float = 30.0        # a device set aside is probed again after this long
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
    """No IDENTITY in time. ``foreign``: bytes came, but never one frame with a good CRC."""

    def __init__(self, foreign: bool) -> None:
        super().__init__("no answer")
        self.foreign = foreign


NodeId = tuple[int, ...]


def node_identity(path: str, fd: int | None = None) -> NodeId | None:
    """What tells one device node behind ``path`` from the next one there (None: no node).

    The node's device, inode, device number and creation (change) time — with ``fd``, of the
    node actually opened — and, when ``path`` is a symlink (/dev/faro-buttonbox), the link's
    own inode and creation time. A replug makes a new node (udev, devpts), so this changes
    even when the path and the /dev/pts or ttyACM number come back the same."""
    try:
        link = os.lstat(path)
        node = os.fstat(fd) if fd is not None else os.stat(path)
    except OSError:
        return None
    ident = (node.st_dev, node.st_ino, node.st_rdev, node.st_ctime_ns)
    if stat.S_ISLNK(link.st_mode):
        ident += (link.st_ino, link.st_ctime_ns)
    return ident


@dataclass
class _Aside:
    """A device not used for now: why, which node it was, and when to probe it again."""

    reason: str
    message: str
    node: NodeId | None
    until: float


@dataclass
class _Counters:
    malformed: int = 0
    lost_events: int = 0
    box_reported: int = 0
    replayed: int = 0


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
        self._aside: dict[str, _Aside] = {}     # path → a device set aside, until when
        self._unanswered: dict[str, int] = {}   # path → handshake rounds without an answer
        self._foreign: dict[str, int] = {}      # path → rounds with bytes but no good frame
        self.attempts = 0                       # handshakes begun (for tests and diagnostics)
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
                            c.lost_events, c.box_reported, c.replayed)

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
            return None if self._set_aside(path) else path
        try:
            paths = find_by_usb_id(self.settings.usb_ids,
                                   self._comports() if self._comports else None)
        except Exception:
            log.exception("listing serial ports failed")
            paths = []
        for gone in set(self._aside) | set(self._unanswered) | set(self._foreign):
            if gone not in paths:
                self._forget(gone)
        for path in paths:
            if not self._set_aside(path):
                return path
        if not self._aside:
            self._set_status("searching", _("No button box is plugged in."))
        return None

    def _set_aside(self, path: str) -> bool:
        """Whether ``path`` still holds the device set aside there, and it is not due again."""
        aside = self._aside.get(path)
        if aside is None:
            return False
        if node_identity(path) != aside.node:    # another device (a replug): probe it now
            self._forget(path)
            return False
        return self._clock.monotonic() < aside.until   # else due: probed again

    def _forget(self, path: str) -> None:
        self._aside.pop(path, None)
        self._unanswered.pop(path, None)
        self._foreign.pop(path, None)

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
        node = node_identity(path, port.fd)      # the node opened, whatever the path says later
        served = False
        try:
            port.reset_input_buffer()
            self._decoder.reset()
            self._set_status("connecting", self.message if self._unanswered.get(path) else "")
            self.attempts += 1
            conn.identity = self._handshake(conn)
            self._forget(path)
            served = True
            self._serve(conn)
        except _Rejected as rej:
            self._put_aside(path, node, rej.reason, rej.message)
        except _NoAnswer as none:
            self._no_answer(path, node, none.foreign)
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

    def _put_aside(self, path: str, node: NodeId | None, reason: str, message: str) -> None:
        """Leave the device on ``path`` alone until it is replugged or ``reprobe_s`` passed."""
        again = self._aside.get(path)
        self._aside[path] = _Aside(reason, message, node,
                                   self._clock.monotonic() + self.settings.reprobe_s)
        self._unanswered.pop(path, None)
        self._foreign.pop(path, None)
        self._set_status("rejected", message)
        if again is not None and (again.reason, again.node) == (reason, node):
            return                                # probed again, same answer: said already
        log.warning("button box on %s set aside: %s", path, reason)
        self._emit(ev.ButtonBoxRejected(reason, message, path))

    def _no_answer(self, path: str, node: NodeId | None, foreign: bool) -> None:
        """One handshake round without an IDENTITY: try again (the run loop backs off)."""
        if foreign:
            tries = self._foreign.get(path, 0) + 1
            self._foreign[path] = tries
            if tries >= self.settings.silent_attempts:
                self._put_aside(path, node, "unknown_device", _(
                    "The device on {port} does not speak the Faro button-box protocol; Faro "
                    "tries it again when it is plugged in again or in {seconds:.0f} s.")
                    .format(port=path, seconds=self.settings.reprobe_s))
                return
        else:
            self._foreign.pop(path, None)
        tries = self._unanswered.get(path, 0) + 1
        self._unanswered[path] = tries
        message = _("The button box on {port} does not answer; Faro keeps trying.").format(
            port=path)
        self._set_status("connecting", message)
        if tries == self.settings.silent_attempts:   # once per silent spell
            log.warning("button box on %s: no answer to %d HELLO rounds", path, tries)
            self._emit(StatusReport("buttonbox", Level.WARNING,
                                    _("Button box: {message}").format(message=message)))

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
        got = framed = 0
        while not self._stopping:
            now = self._clock.monotonic()
            if now >= deadline:
                # a box that is busy or frozen says nothing, or frames (heartbeats, events of
                # a session it still believes in): try again. Bytes that never make one good
                # frame are something else on the port.
                raise _NoAnswer(foreign=bool(got) and not framed)
            if now >= resend_at:
                self._write(conn, hello)
                resend_at = deadline + 1
            data = self._read(conn, min(POLL_S, min(deadline, resend_at) - now))
            got += len(data)
            bodies = self._decoder.feed(data)
            framed += len(bodies)
            for i, body in enumerate(bodies):
                head = decode_header(body)
                if head.type != MsgType.IDENTITY:
                    continue
                if head.version != VERSION:
                    raise _Rejected("wrong_version", _(
                        "The button box on {port} speaks protocol version {theirs}; this Faro "
                        "speaks version {ours}. Update the box firmware or Faro; Faro tries it "
                        "again when it is plugged in again or in {seconds:.0f} s.").format(
                            port=conn.path, theirs=head.version, ours=VERSION,
                            seconds=s.reprobe_s))
                try:
                    _head, identity = decode_body(body)
                except ProtocolError:
                    raise _Rejected("unknown_device", _(
                        "The device on {port} sent an identity Faro cannot read; Faro tries it "
                        "again when it is plugged in again or in {seconds:.0f} s.").format(
                            port=conn.path, seconds=s.reprobe_s)) from None
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
            # silence is judged on what arrived, not on when this thread last looked: after a
            # stall of this thread the box's frames may be waiting unread
            if (now - conn.last_rx > s.heartbeat_timeout_s
                    and not select.select([fd], [], [], 0)[0]):
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
        """One frame with a good CRC (owner thread: called from _serve only; _write asserts).

        A frame that is not a valid message (wrong version, unknown type, payload shorter
        than its fields, a value out of range) is counted as malformed and otherwise ignored:
        not acted on, not acknowledged, its sequence number not taken. Bytes after the known
        fields are a newer minor version's trailing fields: ignored."""
        # BUTTON, the message whose latency matters, is decoded inline with the very checks
        # of decode_body and _reliable (version 1, at least 6 payload bytes, a known kind, a
        # button of the identity, the sequence window); anything else takes the general path.
        if len(body) >= 9 and body[1] == _BUTTON and body[0] == VERSION:
            kind = _KINDS.get(body[4])
            buttons = conn.identity.buttons  # type: ignore[union-attr]
            if kind is not None and body[3] < len(buttons):
                seq, last = body[2], conn.rx_seq
                ahead = 1 if last is None else (seq - last) & 0xFF   # (_reliable, written out)
                if ahead:                        # 0: a retransmission, not acted on again
                    if ahead <= SEQ_WINDOW:
                        self._counters.lost_events += ahead - 1
                        conn.rx_seq = seq
                        try:                     # the press first, then the ACK (_press)
                            self._on_button(buttons[body[3]], kind)
                        except Exception:        # must not end the owner thread
                            log.exception("handling button %s (%s) failed", buttons[body[3]],
                                          kind.name.lower())
                    else:                        # older: a replay, never a second press
                        self._counters.replayed += 1
                conn.last_rx = self._clock.monotonic()
                self._write(conn, Ack(seq))      # a repeat is acknowledged again
                return
        try:
            head, msg = decode_body(body)
        except ProtocolError:
            self._counters.malformed += 1
            return
        buttons = conn.identity.buttons  # type: ignore[union-attr]
        if isinstance(msg, Button) and msg.button >= len(buttons):
            self._counters.malformed += 1        # no such button on this box
            return
        conn.last_rx = self._clock.monotonic()
        if isinstance(msg, (Button, Error)):
            if self._reliable(conn, head.seq):
                if isinstance(msg, Button):
                    self._press(buttons[msg.button], msg.kind)
                else:
                    self._box_error(msg)
            self._write(conn, Ack(head.seq))  # a repeat or a replay is acknowledged again
        elif isinstance(msg, Ack):
            inflight = conn.led_inflight
            if inflight is not None and msg.seq == inflight[0]:
                conn.led_inflight = None
                if inflight[2] != self.confirmed_leds:
                    self.confirmed_leds = inflight[2]
                    self._emit(ev.LedStateChanged(self._led_views(conn, inflight[2])))
        elif isinstance(msg, Identity):
            # the answer to a HELLO sent again during the handshake: the box (re)started its
            # session here, so its numbering may start again too
            conn.rx_seq = None

    def _reliable(self, conn: _Connection, seq: int) -> bool:
        """Whether a reliable frame numbered ``seq`` is new (act on it) — not a repeat of the
        last one accepted, nor older than it (a replay: counted). The first reliable frame of
        a connection is new whatever its number; a jump counts the numbers skipped as lost."""
        last = conn.rx_seq
        ahead = 1 if last is None else (seq - last) & 0xFF
        if not ahead:
            return False
        if ahead > SEQ_WINDOW:
            self._counters.replayed += 1
            return False
        self._counters.lost_events += ahead - 1
        conn.rx_seq = seq
        return True

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
