"""The counselor's first login on a provisioned laptop: there is no case store yet, so the
lock screen asks for a new passphrase twice and creates it (never "ask IT")."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.session import Session
from console.commands.demo import demo_overrides
from console.main_window import MainWindow
from core.config import Config
from core.i18n import current_language
from tests.console.test_layout_languages import _check_fits


def _first_login(qtbot, paths, fake_clock):
    overrides = dict(
        demo_overrides("demo"),
        **{"storage.unlock_target_ms": 1, "ui.language": current_language()},
    )
    session = Session(Config(overrides), paths=paths, clock=fake_clock)
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.resize(1024, 600)
    window.show()
    qtbot.waitExposed(window)
    session.start()
    return session, window


def test_the_first_login_creates_the_store_with_the_counselors_passphrase(
    qtbot, paths, fake_clock, artifacts_dir, language
):
    session, window = _first_login(qtbot, paths, fake_clock)
    try:
        store = session.service("store")
        assert not store.is_initialised() and window.locked
        unlock = window.lock_screen.unlock
        assert unlock.creating and unlock.confirm.isVisible()
        window.lock_screen._first_title = window.lock_screen.title.text()
        _check_fits(window, (1024, 600))
        assert window.grab().save(str(artifacts_dir / f"first-login-{language}.png"))
        # too short: the store's own rule, said on the screen; nothing is created
        qtbot.keyClicks(unlock.passphrase, "corto")
        qtbot.keyClick(unlock.passphrase, Qt.Key.Key_Return)
        assert unlock.confirm.hasFocus()  # Enter goes on to the second field
        qtbot.keyClicks(unlock.confirm, "corto")
        qtbot.keyClick(unlock.confirm, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: "8" in unlock.message.text(), timeout=5000)
        assert not store.is_initialised()
        # two different ones: said at once, nothing created
        qtbot.keyClicks(unlock.passphrase, "luz de faro en la noche")
        qtbot.keyClicks(unlock.confirm, "luz de faro en la noch")
        qtbot.keyClick(unlock.confirm, Qt.Key.Key_Return)
        assert unlock.message.text() and not store.is_initialised()
        assert unlock.passphrase.text() == "" and unlock.confirm.text() == ""
        # the same twice: created, unlocked, the console shows
        qtbot.keyClicks(unlock.passphrase, "luz de faro en la noche")
        qtbot.keyClicks(unlock.confirm, "luz de faro en la noche")
        qtbot.keyClick(unlock.confirm, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: not window.locked, timeout=20000)
        assert store.is_initialised() and not store.is_locked
        # locked later, the screen asks for the passphrase, once, as usual
        store.lock("user")
        qtbot.waitUntil(lambda: window.locked, timeout=5000)
        assert not unlock.creating and not unlock.confirm.isVisible()
        assert window.lock_screen.title.text() != window.lock_screen._first_title
        qtbot.keyClicks(unlock.passphrase, "luz de faro en la noche")
        qtbot.keyClick(unlock.passphrase, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: not window.locked, timeout=20000)
    finally:
        session.stop()
