"""The one thread that owns a button box, and how other threads reach it.

Everything that touches a box's port — discovery, the handshake, the session, the LED output —
runs on the thread its :class:`~devices.buttonbox.driver.ButtonBoxDriver` starts
("faro-buttonbox"). The objects that do it are made on that thread and remember it as their
``owner``; :func:`owner_thread_only` asserts it on each method that touches the port, so a call
from anywhere else fails loudly in tests instead of racing. Other threads only store a value
and wake the owner through a :class:`Wakeup` pipe.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar


class Owned(Protocol):
    owner: threading.Thread | None


F = TypeVar("F", bound=Callable[..., Any])


def owner_thread_only(method: F) -> F:
    """Assert that ``method`` runs on ``self.owner``, the thread that owns the box."""

    @functools.wraps(method)
    def checked(self: Owned, *args: Any, **kw: Any) -> Any:
        assert threading.current_thread() is self.owner, (
            f"{type(self).__name__}.{method.__name__} must run on the button box's owner thread"
        )
        return method(self, *args, **kw)

    return checked  # type: ignore[return-value]  # same signature: functools.wraps keeps it


class Wakeup:
    """A pipe other threads write a byte to, to wake the owner thread from its ``select``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.fd, self._write_fd = os.pipe()
        os.set_blocking(self.fd, False)
        os.set_blocking(self._write_fd, False)
        self._open = True

    def wake(self) -> None:
        """Any thread: the owner's next ``select`` returns at once."""
        with self._lock:
            if self._open:
                try:
                    os.write(self._write_fd, b"x")
                except BlockingIOError:
                    pass  # full: it is awake anyway

    def drain(self) -> None:
        """Owner thread: forget the wake-ups received."""
        try:
            while os.read(self.fd, 4096):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        with self._lock:
            if self._open:
                self._open = False
                os.close(self.fd)
                os.close(self._write_fd)
