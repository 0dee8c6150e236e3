"""The session with a connected box, from its IDENTITY to the end of the connection: frames
in, presses out, heartbeats both ways, the LED state sent until acknowledged.

:meth:`BoxSession.serve` runs on the owner thread until the connection ends (it raises
:class:`~devices.buttonbox.link.Closed`: unplugged, heartbeat_timeout, write_failed, stopped).
Every frame goes through the protocol's :func:`~devices.buttonbox.protocol.decode_body`. A
frame that is not a valid message (wrong version, unknown type, payload shorter than its
fields, a value out of range, a button the identity does not have) is counted as malformed and
otherwise ignored: not acted on, not acknowledged, its sequence number not taken, and it is no
sign of life. Bytes after the known fields are a newer minor version's trailing fields:
ignored. Reliable frames (BUTTON, ERROR) are acted on once, in order, by their sequence number
on the 8-bit circle (docs/buttonbox-protocol.md); a press is handed on before its ACK.

The hold (a button kept down for ``hold_ms``) is the host's: :class:`~devices.buttonbox.holds.
HoldTimes` judges it by the box's clock, from the times in BUTTON events and in heartbeats
that leave no event unaccounted for, and the session hands it on as ``HostKind.HOLD``; when
events may have been lost, the buttons down are handed on as ``HostKind.LOST``.
"""

from __future__ import annotations

import logging
import os
import select
from collections.abc import Callable
from typing import NoReturn

from core.clock import Clock
from core.i18n import _
from devices.buttonbox.codec import FrameDecoder
from devices.buttonbox.counters import BadFramesReport, LinkCounters
from devices.buttonbox.holds import HoldTimes, HostKind, Kind
from devices.buttonbox.led_output import LedOutput
from devices.buttonbox.link import POLL_S, READ_SIZE, Closed, Link, unplugged
from devices.buttonbox.protocol import (
    SEQ_WINDOW,
    Ack,
    Button,
    ButtonKind,
    Error,
    ErrorCode,
    Heartbeat,
    Identity,
    ProtocolError,
    decode_body,
    seq_delta,
)
from devices.buttonbox.settings import DriverSettings

log = logging.getLogger(__name__)


class BoxSession:
    """One connected box: its identity, the box's last accepted event number, the link's
    timers. Made and run by the owner thread."""

    def __init__(
        self,
        link: Link,
        identity: Identity,
        decoder: FrameDecoder,
        counters: LinkCounters,
        leds: LedOutput,
        report: BadFramesReport,
        settings: DriverSettings,
        clock: Clock,
        on_button: Callable[[str, Kind], None],
        stopping: Callable[[], bool],
    ) -> None:
        self.link, self.identity, self.leds = link, identity, leds
        self._decoder, self._counters, self._report = decoder, counters, report
        self._settings, self._clock = settings, clock
        self._on_button, self._stopping = on_button, stopping
        self.rx_seq: int | None = None  # the box's last reliable number accepted
        self.holds = HoldTimes(settings.hold_ms)
        now = clock.monotonic()
        self.last_rx = now  # when the last valid frame came
        self.looked = now  # when this thread last listened to the port
        self.next_heartbeat = now

    def serve(self, backlog: list[bytes]) -> NoReturn:
        """Handle ``backlog`` (frames read with the IDENTITY), then serve until the end."""
        s, link, counters = self._settings, self.link, self._counters
        for body in backlog:
            self.frame(body)
        fd, wake = link.fd, link.wakeup.fd
        fds, feed = [fd, wake], self._decoder.feed
        while True:
            if self._stopping():
                self.leds.goodbye()
                raise Closed("stopped", _("Faro stopped."))
            now = self._clock.monotonic()
            # silence is judged on what arrived, not on when this thread last looked: after a
            # stall of this thread (away longer than it ever waits) the box's frames may be
            # waiting unread, or still in the kernel's tty buffer on their way to the reader,
            # so the box gets one heartbeat period of listening to be heard
            if now - self.looked > 2 * POLL_S:
                self.last_rx = max(self.last_rx, now - s.heartbeat_timeout_s + s.heartbeat_s)
            if now - self.last_rx > s.heartbeat_timeout_s and not link.waiting():
                raise Closed(
                    "heartbeat_timeout",
                    _(
                        "The button box stopped answering (no heartbeat for {seconds:.1f} s)."
                    ).format(seconds=s.heartbeat_timeout_s),
                )
            if now >= self.next_heartbeat:
                link.write(Heartbeat(int(now * 1000) & 0xFFFFFFFF))
                self.next_heartbeat = now + s.heartbeat_s
            self.leds.send_due(now)
            self._report.publish()
            due = min(self.next_heartbeat, self.last_rx + s.heartbeat_timeout_s + 0.001)
            if self.leds.inflight is not None:
                due = min(due, self.leds.retry_at)
            # the latency path: wake → read → frames → press, with no helper call per wake-up
            ready = select.select(fds, [], [], min(POLL_S, max(0.001, due - now)))[0]
            self.looked = self._clock.monotonic()
            if fd in ready:
                try:
                    data = os.read(fd, READ_SIZE)
                except OSError as exc:
                    raise unplugged() from exc
                if not data:
                    raise unplugged()
                for body in feed(data):
                    self.frame(body)
                buffered = self._decoder.buffered
                if buffered > counters.max_buffered:
                    counters.max_buffered = buffered
            if wake in ready:
                link.wakeup.drain()

    def frame(self, body: bytes) -> None:
        """One frame with a good CRC (the link's writes assert the owner thread)."""
        try:
            head, msg = decode_body(body)
        except ProtocolError:
            self._counters.malformed += 1
            return
        buttons = self.identity.buttons
        if isinstance(msg, Button) and msg.button >= len(buttons):
            self._counters.malformed += 1  # no such button on this box
            return
        self.last_rx = self._clock.monotonic()
        if isinstance(msg, (Button, Error)):
            if self._reliable(head.seq):
                if isinstance(msg, Button):
                    self._button(buttons[msg.button], msg)
                else:
                    self._counters.box_error(msg)
                    if msg.code == ErrorCode.EVENT_LOST:
                        self._lost()
            self.link.write(Ack(head.seq))  # a repeat or a replay is acknowledged again
        elif isinstance(msg, Heartbeat):
            # the box's clock, and its last event number: equal to the last accepted, no
            # event (no release) was waiting when it said this time
            if head.seq == self.rx_seq and self.holds.timing:
                for name in self.holds.seen(msg.uptime_ms):
                    self._press(name, HostKind.HOLD)
        elif isinstance(msg, Ack):
            self.leds.acknowledged(msg.seq)
        elif isinstance(msg, Identity):
            # the answer to a HELLO sent again during the handshake: the box (re)started its
            # session here, so its numbering may start again too, and it dropped its queue
            self.rx_seq = None
            self._lost()

    def _button(self, name: str, msg: Button) -> None:
        """A new BUTTON event, in order: the box's event, with the hold the host adds."""
        holds, kind = self.holds, msg.kind
        if kind is ButtonKind.UP and holds.up(name, msg.t_ms):
            self._press(name, HostKind.HOLD)  # reached while the release was on its way
        if holds.timing:  # events come in order: the others were still down at this time
            for other in holds.seen(msg.t_ms):
                self._press(other, HostKind.HOLD)
        if kind is ButtonKind.DOWN:
            holds.down(name, msg.t_ms)
        self._press(name, kind)

    def _lost(self) -> None:
        """Events may have been lost: what the buttons down did is not known."""
        for name in self.holds.forget():
            self._press(name, HostKind.LOST)

    def _reliable(self, seq: int) -> bool:
        """Whether a reliable frame numbered ``seq`` is new (act on it) — not a repeat of the
        last one accepted, nor older than it (a replay: counted). The first reliable frame of
        a connection is new whatever its number; a jump counts the numbers skipped as lost."""
        last = self.rx_seq
        ahead = 1 if last is None else seq_delta(seq, last)
        if not ahead:
            return False
        if ahead > SEQ_WINDOW:
            self._counters.replayed += 1
            return False
        self._counters.lost_events += ahead - 1
        self.rx_seq = seq
        if ahead > 1:
            self._lost()
        return True

    def _press(self, button: str, kind: Kind) -> None:
        try:
            self._on_button(button, kind)
        except Exception:  # a failing handler must not end the owner thread
            log.exception("handling button %s (%s) failed", button, kind.name.lower())
