"""``HidrawNode``: one open hidraw node, one report per read, one report per write.

A real node (/dev/hidrawN) is a character device, opened ``O_RDWR | O_NONBLOCK``. The
simulator has no kernel uhid to make one, so its node is a Unix ``SOCK_SEQPACKET`` socket
at the node's path: it keeps message boundaries as hidraw does (one read, one report) and
carries the LED reports back. Only :meth:`HidrawNode.open` tells the two apart; every read
and write is ``os.read`` / ``os.write`` on the descriptor, the same for both.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
from collections.abc import Iterator

READ_SIZE = 4096  # HID_MAX_BUFFER_SIZE: no report is longer
SUN_PATH_MAX = 100  # sockaddr_un.sun_path holds 108 bytes: longer paths go through a dir fd


@contextlib.contextmanager
def short_path(path: str) -> Iterator[str]:
    """``path`` usable as a Unix socket address (a long one through /proc/self/fd)."""
    if len(path) < SUN_PATH_MAX:
        yield path
        return
    fd = os.open(os.path.dirname(path) or ".", os.O_PATH | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{os.path.basename(path)}"
    finally:
        os.close(fd)


class HidrawNode:
    def __init__(self, fd: int, path: str, sock: socket.socket | None = None) -> None:
        self.fd, self.path, self._sock = fd, path, sock

    @classmethod
    def open(cls, path: str) -> HidrawNode:
        """OSError as the kernel says it: ENOENT (gone), EACCES (no udev rule), ..."""
        st = os.stat(path)
        if stat.S_ISSOCK(st.st_mode):  # the simulator's node
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            try:
                with short_path(path) as address:
                    sock.connect(address)
            except OSError:
                sock.close()
                raise
            sock.setblocking(False)
            return cls(sock.fileno(), path, sock)
        return cls(os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC), path)

    def read(self) -> bytes | None:
        """One report; None if none is waiting; OSError(ENODEV) when the device is gone."""
        try:
            data = os.read(self.fd, READ_SIZE)
        except BlockingIOError:
            return None
        if not data:  # the fake's end closed (a real hidraw node gives ENODEV/EIO)
            raise OSError(errno.ENODEV, "the device went away")
        return data

    def write(self, report: bytes) -> None:
        os.write(self.fd, report)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        else:
            with contextlib.suppress(OSError):
                os.close(self.fd)
        self.fd = -1
