"""The case notes lock when the laptop does: the session's lock, sleep, the screen saver.

What the system says, on D-Bus (QtDBus, in Qt's own loop):
- logind (system bus), ``org.freedesktop.login1.Session.Lock``: the session is being locked
  (``loginctl lock-session``, the lid closed with ``HandleLidSwitch=lock``, a desktop's lock
  screen, IT locking the laptop remotely). Any session's Lock counts: locking more often is
  never unsafe.
- logind, ``org.freedesktop.login1.Manager.PrepareForSleep(true)``: the laptop is about to
  suspend or hibernate (the lid closed with the default ``HandleLidSwitch=suspend``).
- the desktop's screen saver (session bus), ``org.freedesktop.ScreenSaver.ActiveChanged(true)``
  and GNOME's ``org.gnome.ScreenSaver.ActiveChanged(true)``.

Which of these lock is the organisation's policy: ``security.lock_on_session_lock`` and
``security.lock_on_sleep`` (core/options.py); the inactivity lock is
``security.lock_idle_minutes`` (the store's own timer). The signals are accepted from any
sender: the most a forged one can do is lock the notes. A bus that is not there (no system
bus in a container, no desktop session under the kiosk's compositor) is logged once and the
other locks still work.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Slot
from PySide6.QtDBus import QDBusConnection

from core.config import Config
from core.options import LOCK_ON_SESSION_LOCK, LOCK_ON_SLEEP

log = logging.getLogger(__name__)

LOGIND_SESSION = "org.freedesktop.login1.Session"
LOGIND_MANAGER = "org.freedesktop.login1.Manager"
LOGIND_PATH = "/org/freedesktop/login1"
SCREEN_SAVERS = ("org.freedesktop.ScreenSaver", "org.gnome.ScreenSaver")


class SessionLockWatcher(QObject):
    """Locks ``store`` when the system says so; ``locks`` counts why (for tests and logs)."""

    def __init__(
        self,
        store: Any,
        config: Config,
        system_bus: QDBusConnection | None = None,
        session_bus: QDBusConnection | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.locks: dict[str, int] = {"session_lock": 0, "sleep": 0, "screen_saver": 0}
        self.listening: list[str] = []
        system = system_bus if system_bus is not None else QDBusConnection.systemBus()
        session = session_bus if session_bus is not None else QDBusConnection.sessionBus()
        if config.get(LOCK_ON_SESSION_LOCK):
            self._watch(system, "", LOGIND_SESSION, "Lock", "on_session_lock()", "logind Lock")
            for iface in SCREEN_SAVERS:
                self._watch(session, "", iface, "ActiveChanged", "on_screen_saver(bool)", iface)
        if config.get(LOCK_ON_SLEEP):
            self._watch(
                system, LOGIND_PATH, LOGIND_MANAGER, "PrepareForSleep", "on_sleep(bool)", "sleep"
            )

    def _watch(
        self, bus: QDBusConnection, path: str, iface: str, name: str, slot: str, what: str
    ) -> None:
        if not bus.isConnected():
            log.info("session lock: no %s bus here; %s is not watched", bus.name(), what)
            return
        if bus.connect("", path, iface, name, self, f"1{slot}"):  # type: ignore[call-overload]
            self.listening.append(what)
        else:
            log.warning("session lock: cannot watch %s (%s)", what, bus.lastError().message())

    def _lock(self, why: str) -> None:
        self.locks[why] += 1
        if self.store is not None and not self.store.is_locked:
            log.info("locking the case notes: %s", why)
            self.store.lock(why)

    @Slot()
    def on_session_lock(self) -> None:
        self._lock("session_lock")

    @Slot(bool)
    def on_sleep(self, going: bool) -> None:
        if going:
            self._lock("sleep")

    @Slot(bool)
    def on_screen_saver(self, active: bool) -> None:
        if active:
            self._lock("screen_saver")
