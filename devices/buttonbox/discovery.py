"""Which port to try next: the configured path or the ports with a listed USB id, minus the
devices set aside; and what a handshake that failed means for the device on that port.

A device that does not answer a HELLO is tried again (after ``silent_attempts`` rounds the
console is told it does not answer). A device whose bytes never make a frame with a good CRC,
``silent_attempts`` rounds running, or that answers with another version or an unreadable
identity, is *set aside*: no byte is written to it until its device node changes (a replug,
seen through :func:`node_identity` at every poll, even within one), its path goes, or
``reprobe_s`` has passed. Lives on the owner thread (:class:`PortFinder` is made there).
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.clock import Clock
from core.events import Event
from core.i18n import _
from core.status import Level, StatusReport
from devices import events as ev
from devices.buttonbox.owner import owner_thread_only
from devices.buttonbox.settings import DriverSettings
from devices.ports import ComPort, find_by_usb_id

log = logging.getLogger(__name__)

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
    ident: NodeId = (node.st_dev, node.st_ino, node.st_rdev, node.st_ctime_ns)
    if stat.S_ISLNK(link.st_mode):
        ident += (link.st_ino, link.st_ctime_ns)
    return ident


@dataclass
class SetAside:
    """A device not used for now: why, which node it was, and when to probe it again."""

    reason: str
    message: str
    node: NodeId | None
    until: float


class PortFinder:
    """Picks the port to probe and keeps, per path, what the last handshakes there said."""

    def __init__(
        self,
        settings: DriverSettings,
        clock: Clock,
        comports: Callable[[], Sequence[ComPort]] | None,
        set_status: Callable[[str, str], None],
        emit: Callable[[Event], None],
    ) -> None:
        self.owner: threading.Thread | None = threading.current_thread()
        self.settings, self._clock, self._comports = settings, clock, comports
        self._set_status, self._emit = set_status, emit
        self._aside: dict[str, SetAside] = {}  # path → a device set aside, until when
        self._unanswered: dict[str, int] = {}  # path → handshake rounds without an answer
        self._foreign: dict[str, int] = {}  # path → rounds with bytes but no good frame

    @owner_thread_only
    def pick(self) -> str | None:
        """The port to probe now, or None (nothing plugged in, or only devices set aside)."""
        if self.settings.port:
            path = self.settings.port
            if not os.path.exists(path):
                self.forget(path)
                self._set_status("searching", _("No button box at {port}.").format(port=path))
                return None
            return None if self._still_aside(path) else path
        try:
            paths = find_by_usb_id(
                self.settings.usb_ids, self._comports() if self._comports else None
            )
        except Exception:
            log.exception("listing serial ports failed")
            paths = []
        for gone in set(self._aside) | set(self._unanswered) | set(self._foreign):
            if gone not in paths:
                self.forget(gone)
        for path in paths:
            if not self._still_aside(path):
                return path
        if not self._aside:
            self._set_status("searching", _("No button box is plugged in."))
        return None

    def unanswered(self, path: str) -> int:
        """Handshake rounds in a row that ``path`` did not answer."""
        return self._unanswered.get(path, 0)

    def forget(self, path: str) -> None:
        """Nothing is held against ``path`` any more (it answered, or it went)."""
        self._aside.pop(path, None)
        self._unanswered.pop(path, None)
        self._foreign.pop(path, None)

    def put_aside(self, path: str, node: NodeId | None, reason: str, message: str) -> None:
        """Leave the device on ``path`` alone until it is replugged or ``reprobe_s`` passed."""
        again = self._aside.get(path)
        self._aside[path] = SetAside(
            reason, message, node, self._clock.monotonic() + self.settings.reprobe_s
        )
        self._unanswered.pop(path, None)
        self._foreign.pop(path, None)
        self._set_status("rejected", message)
        if again is not None and (again.reason, again.node) == (reason, node):
            return  # probed again, same answer: said already
        log.warning("button box on %s set aside: %s", path, reason)
        self._emit(ev.ButtonBoxRejected(reason, message, path))

    def no_answer(self, path: str, node: NodeId | None, foreign: bool) -> None:
        """One handshake round without an IDENTITY: try again (the run loop backs off)."""
        if foreign:
            tries = self._foreign.get(path, 0) + 1
            self._foreign[path] = tries
            if tries >= self.settings.silent_attempts:
                self.put_aside(
                    path,
                    node,
                    "unknown_device",
                    _(
                        "The device on {port} does not speak the Faro button-box protocol; Faro "
                        "tries it again when it is plugged in again or in {seconds:.0f} s."
                    ).format(port=path, seconds=self.settings.reprobe_s),
                )
                return
        else:
            self._foreign.pop(path, None)
        tries = self._unanswered.get(path, 0) + 1
        self._unanswered[path] = tries
        message = _("The button box on {port} does not answer; Faro keeps trying.").format(
            port=path
        )
        self._set_status("connecting", message)
        if tries == self.settings.silent_attempts:  # once per silent spell
            log.warning("button box on %s: no answer to %d HELLO rounds", path, tries)
            self._emit(
                StatusReport(
                    "buttonbox", Level.WARNING, _("Button box: {message}").format(message=message)
                )
            )

    def _still_aside(self, path: str) -> bool:
        """Whether ``path`` still holds the device set aside there, and it is not due again."""
        aside = self._aside.get(path)
        if aside is None:
            return False
        if node_identity(path) != aside.node:  # another device (a replug): probe it now
            self.forget(path)
            return False
        return self._clock.monotonic() < aside.until  # else due: probed again
