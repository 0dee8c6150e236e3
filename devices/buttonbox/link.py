"""An open serial port to a box: frames out, bytes in, and how a connection ends.

A :class:`Link` is opened, used and closed by the owner thread only (``owner``); a failed write
or an unplug becomes :class:`Closed`, never a dead thread.
"""

from __future__ import annotations

import os
import select
import threading

import serial

from core.i18n import _
from devices.buttonbox.codec import encode_frame
from devices.buttonbox.owner import Wakeup, owner_thread_only
from devices.buttonbox.protocol import Message, encode_body

READ_SIZE = 65536
POLL_S = 0.1  # the owner thread looks at the clock at least this often


class Closed(Exception):
    """The connection ended; ``reason`` is a code, ``message`` is for people."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(reason)
        self.reason, self.message = reason, message


def unplugged() -> Closed:
    return Closed("unplugged", _("The button box was unplugged."))


class Link:
    """The port of one connection, with the host's sequence counter for reliable messages."""

    def __init__(self, port: serial.Serial, path: str, wakeup: Wakeup) -> None:
        self.owner: threading.Thread | None = threading.current_thread()
        self.port, self.path, self.wakeup = port, path, wakeup
        self.fd: int = port.fd
        self.tx_seq = 0  # the host's last reliable number (0: none sent yet)

    @classmethod
    def open(cls, path: str, baudrate: int, wakeup: Wakeup) -> Link:
        """Open ``path`` exclusively; OSError, SerialException or ValueError if it cannot be."""
        port = serial.Serial(path, baudrate, timeout=0, write_timeout=0.5, exclusive=True)
        return cls(port, path, wakeup)

    def next_seq(self) -> int:
        """Take the next number for a reliable message."""
        self.tx_seq = (self.tx_seq + 1) & 0xFF
        return self.tx_seq

    @owner_thread_only
    def write(self, msg: Message, seq: int | None = None) -> None:
        """Send ``msg`` numbered ``seq`` (default: the last reliable number); Closed on failure."""
        data = encode_frame(encode_body(msg, self.tx_seq if seq is None else seq))
        try:
            try:
                sent = os.write(self.fd, data)  # the usual case: all of it, at once
            except BlockingIOError:
                sent = 0
            if sent < len(data):
                self.port.write(data[sent:])  # waits up to write_timeout
        except (OSError, serial.SerialException) as exc:
            raise Closed("write_failed", _("The button box stopped taking data.")) from exc

    @owner_thread_only
    def read(self, timeout: float) -> bytes:
        """Bytes that arrived within ``timeout`` (b"" if none, or woken); Closed on an unplug."""
        wake = self.wakeup.fd
        ready = select.select([self.fd, wake], [], [], max(0.0, timeout))[0]
        if wake in ready:
            self.wakeup.drain()
        if self.fd not in ready:
            return b""
        try:
            data = os.read(self.fd, READ_SIZE)
        except OSError as exc:
            raise unplugged() from exc
        if not data:
            raise unplugged()
        return data

    def waiting(self) -> bool:
        """Whether bytes are waiting unread (checked without blocking)."""
        return bool(select.select([self.fd], [], [], 0)[0])

    @owner_thread_only
    def flush(self) -> None:
        self.port.flush()

    def close(self) -> None:
        self.port.close()
