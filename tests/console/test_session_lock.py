"""The case notes lock when the laptop's session locks, when it is about to sleep (the lid)
and when the screen saver starts: real D-Bus signals on a private dbus-daemon, sent by
dbus-send as logind and the desktop send them."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from PySide6.QtDBus import QDBusConnection

from console.session_lock import SessionLockWatcher
from core.config import Config

pytestmark = pytest.mark.skipif(
    shutil.which("dbus-daemon") is None or shutil.which("dbus-send") is None,
    reason="dbus-daemon / dbus-send missing (apt-get install dbus-daemon dbus-bin)",
)


@pytest.fixture
def bus():
    """A private bus standing in for the system bus and for the session bus."""
    folder = Path(tempfile.mkdtemp(prefix="faro-dbus-"))
    address = f"unix:path={folder}/bus"
    daemon = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--nopidfile", f"--address={address}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import time

        deadline = time.monotonic() + 10
        while not (folder / "bus").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        name = f"faro-test-{daemon.pid}"
        conn = QDBusConnection.connectToBus(address, name)
        assert conn.isConnected(), conn.lastError().message()
        yield address, conn
        QDBusConnection.disconnectFromBus(name)
    finally:
        daemon.terminate()
        daemon.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


class Store:
    def __init__(self) -> None:
        self.is_locked = False
        self.reasons: list[str] = []

    def lock(self, reason: str) -> None:
        self.is_locked = True
        self.reasons.append(reason)


def _send(address: str, path: str, member: str, *args: str) -> None:
    subprocess.run(
        ["dbus-send", f"--bus={address}", "--type=signal", path, member, *args],
        check=True,
        timeout=10,
    )


@pytest.mark.parametrize(
    ("path", "member", "args", "why"),
    [
        (
            "/org/freedesktop/login1/session/_32",
            "org.freedesktop.login1.Session.Lock",
            (),
            "session_lock",
        ),
        (
            "/org/freedesktop/login1",
            "org.freedesktop.login1.Manager.PrepareForSleep",
            ("boolean:true",),
            "sleep",
        ),
        (
            "/org/freedesktop/ScreenSaver",
            "org.freedesktop.ScreenSaver.ActiveChanged",
            ("boolean:true",),
            "screen_saver",
        ),
        (
            "/org/gnome/ScreenSaver",
            "org.gnome.ScreenSaver.ActiveChanged",
            ("boolean:true",),
            "screen_saver",
        ),
    ],
)
def test_the_system_locking_locks_the_notes(qtbot, bus, path, member, args, why):
    address, conn = bus
    store = Store()
    watcher = SessionLockWatcher(store, Config({}), system_bus=conn, session_bus=conn)
    assert len(watcher.listening) == 4
    _send(address, path, member, *args)
    qtbot.waitUntil(lambda: store.is_locked, timeout=5000)
    assert store.reasons == [why]


def test_waking_up_and_the_saver_ending_do_not_lock_and_the_policy_is_the_organisations(qtbot, bus):
    address, conn = bus
    store = Store()
    watcher = SessionLockWatcher(store, Config({}), system_bus=conn, session_bus=conn)
    _send(
        address,
        "/org/freedesktop/login1",
        "org.freedesktop.login1.Manager.PrepareForSleep",
        "boolean:false",
    )
    _send(
        address,
        "/org/freedesktop/ScreenSaver",
        "org.freedesktop.ScreenSaver.ActiveChanged",
        "boolean:false",
    )
    qtbot.wait(300)
    assert not store.is_locked and watcher.locks == {
        "session_lock": 0,
        "sleep": 0,
        "screen_saver": 0,
    }
    # turned off by policy: nothing is watched, nothing locks
    off = Config({"security.lock_on_session_lock": False, "security.lock_on_sleep": False})
    other = Store()
    quiet = SessionLockWatcher(other, off, system_bus=conn, session_bus=conn)
    assert quiet.listening == []
    _send(address, "/org/freedesktop/login1/session/_2", "org.freedesktop.login1.Session.Lock")
    qtbot.waitUntil(lambda: store.is_locked, timeout=5000)  # the first watcher still does
    assert not other.is_locked


def test_no_bus_is_not_an_error(qtbot):
    store = Store()
    missing = QDBusConnection.connectToBus("unix:path=/nonexistent/faro-bus", "faro-no-bus")
    watcher = SessionLockWatcher(store, Config({}), system_bus=missing, session_bus=missing)
    assert watcher.listening == [] and not store.is_locked
    QDBusConnection.disconnectFromBus("faro-no-bus")
