"""A pseudo-terminal pair that behaves like a USB serial device.

``PtyPair.device_path`` is what the driver opens (as it would open /dev/ttyACM0);
``master_fd`` is the far end, where a test or the simulator plays the device. Closing the
master makes the driver's reads fail as an unplugged device does.
"""

from __future__ import annotations

import os
import pty
import select
import termios
import tty


class PtyPair:
    def __init__(self) -> None:
        self.master_fd, slave_fd = pty.openpty()
        tty.setraw(self.master_fd)
        tty.setraw(slave_fd)
        attrs = termios.tcgetattr(slave_fd)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(slave_fd, termios.TCSANOW, attrs)
        self.device_path = os.ttyname(slave_fd)
        self._slave_fd = slave_fd  # held open so the pty exists until close()

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self.master_fd, view)
            view = view[n:]

    def read(self, n: int = 4096, timeout: float = 1.0) -> bytes:
        r, _, _ = select.select([self.master_fd], [], [], timeout)
        return os.read(self.master_fd, n) if r else b""

    def close(self) -> None:
        for fd in (self.master_fd, self._slave_fd):
            try:
                os.close(fd)
            except OSError:
                pass
