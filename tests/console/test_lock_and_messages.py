"""The full-window lock, messages that clear when they stop being true, and declining.

The real demo window (FakeClock, a real encrypted store): locking during a call leaves no
caller number, note text, whisper or call list anywhere on screen, the call keys still
work, and unlocking puts the counselor back where they were.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QListWidget, QPlainTextEdit

from app.session import Session
from calls.model import Action, CallState
from console.commands.demo import demo_overrides
from console.main_window import MESSAGE_S, MainWindow
from core.config import Config
from tests.console.test_counselor_flow import PASSPHRASE, settle, shot

NUMBER = "+52 55 5555 0101"
NOTE = "Vive con su hermana; acordamos llamar el martes."


def _window(qtbot, paths, fake_clock, **extra):
    """The demo's window on a real store, in the language in use (the ``language`` fixture's:
    the session would otherwise set ``ui.language``'s default)."""
    from core.i18n import current_language

    overrides = dict(
        demo_overrides("demo"),
        **{"storage.unlock_target_ms": 1, "ui.language": current_language()},
    )
    overrides.update(extra)
    session = Session(Config(overrides), paths=paths, clock=fake_clock)
    session.service("store").init(PASSPHRASE)
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.resize(1024, 600)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    session.start()
    return session, window


def visible_texts(window) -> list[str]:
    """Every text a person can see in the window now."""
    out: list[str] = [window.windowTitle()]
    for w in window.findChildren(QLabel):
        if w.isVisibleTo(window) and w.isVisible():
            out.append(w.text())
    for w in window.findChildren(QAbstractButton):
        if w.isVisible():
            out.append(w.text())
    for w in window.findChildren(QLineEdit):
        if w.isVisible():
            out.append(w.text())
    for w in window.findChildren(QPlainTextEdit):
        if w.isVisible():
            out.append(w.toPlainText())
    for w in window.findChildren(QListWidget):
        if w.isVisible():
            out.extend(w.item(i).text() for i in range(w.count()))
    return out


def _on_call_with_a_note(qtbot, window, fake_clock):
    settle(qtbot, window, CallState.AVAILABLE)
    fake_clock.advance(3.0)
    settle(qtbot, window, CallState.RINGING)
    qtbot.keyClick(window.notes, Qt.Key.Key_F5)
    settle(qtbot, window, CallState.ON_CALL)
    qtbot.keyClicks(window.notes, NOTE)


def test_lock_hides_everything_personal_and_the_call_keys_still_work(
    qtbot, demo, fake_clock, artifacts_dir
):
    session, window = demo
    _on_call_with_a_note(qtbot, window, fake_clock)
    assert any(NUMBER in t for t in visible_texts(window))
    qtbot.keyClick(window.notes, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.locked, timeout=3000)
    texts = visible_texts(window)
    joined = "\n".join(texts)
    assert NUMBER not in joined and NOTE not in joined
    assert not window.console_page.isVisible()
    assert window.lock_screen.unlock.passphrase.hasFocus()
    # the call goes on and is said, without the number
    assert "On call" in window.lock_screen.call_line.text()
    assert "F7" in window.lock_screen.call_line.text()  # which keys still act
    fake_clock.advance(5)
    qtbot.waitUntil(lambda: "00:05" in window.lock_screen.call_line.text(), timeout=2000)
    shot(window, artifacts_dir, "locked-on-call")
    # a call key acts while locked: mute, then unmute
    qtbot.keyClick(window.lock_screen.unlock.passphrase, Qt.Key.Key_F7)
    qtbot.waitUntil(lambda: session.calls.muted, timeout=2000)
    qtbot.waitUntil(lambda: "muted" in window.lock_screen.call_line.text(), timeout=2000)
    qtbot.keyClick(window.lock_screen.unlock.passphrase, Qt.Key.Key_F7)
    qtbot.waitUntil(lambda: not session.calls.muted, timeout=2000)
    # a wrong passphrase says so and stays locked
    qtbot.keyClicks(window.lock_screen.unlock.passphrase, "not it")
    qtbot.keyClick(window.lock_screen.unlock.passphrase, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.lock_screen.unlock.message.text() not in ("", "Unlocking…"))
    assert window.locked
    # the right one: back to the console, the note and the cursor where they were
    qtbot.keyClicks(window.lock_screen.unlock.passphrase, PASSPHRASE)
    qtbot.keyClick(window.lock_screen.unlock.passphrase, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.locked, timeout=5000)
    qtbot.waitUntil(lambda: window.notes.toPlainText() == NOTE, timeout=3000)
    assert window.caller_label.text() == NUMBER
    qtbot.waitUntil(window.notes.hasFocus, timeout=2000)


def test_a_call_that_rings_while_locked_can_be_answered_and_shows_no_number(
    qtbot, demo, fake_clock
):
    session, window = demo
    settle(qtbot, window, CallState.AVAILABLE)
    session.service("store").lock("idle")
    qtbot.waitUntil(lambda: window.locked, timeout=3000)
    fake_clock.advance(3.0)
    qtbot.waitUntil(lambda: session.calls.state is CallState.RINGING, timeout=3000)
    qtbot.waitUntil(lambda: "F5 answers" in window.lock_screen.call_line.text(), timeout=2000)
    assert NUMBER not in "\n".join(visible_texts(window))
    qtbot.keyClick(window.lock_screen.unlock.passphrase, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: session.calls.state is CallState.ON_CALL, timeout=2000)
    assert window.locked  # answering does not unlock the notes
    assert window.lock_screen.unlock.passphrase.hasFocus()


def test_the_demo_shows_its_passphrase_on_the_lock_screen(qtbot, demo):
    from console.commands.demo import DEMO_PASSPHRASE

    session, window = demo
    window.lock_screen.show_hint(f"Demo passphrase: {DEMO_PASSPHRASE}")
    session.service("store").lock("user")
    qtbot.waitUntil(lambda: window.locked, timeout=3000)
    assert window.lock_screen.hint.isVisible()
    assert DEMO_PASSPHRASE in window.lock_screen.hint.text()


def test_a_refusal_is_said_by_the_buttons_and_clears_when_no_longer_true(qtbot, demo, fake_clock):
    session, window = demo
    _on_call_with_a_note(qtbot, window, fake_clock)
    qtbot.keyClick(window.notes, Qt.Key.Key_F8)
    settle(qtbot, window, CallState.WRAP_UP)
    qtbot.keyClick(window.notes, Qt.Key.Key_F9)  # no disposition yet: refused
    qtbot.waitUntil(lambda: window.notice.isVisible(), timeout=2000)
    assert "disposition" in window.notice.text() and "disposition" in window.message.text()
    assert window.disposition.hasFocus()  # the missing control, ready for the arrow keys
    window.disposition.setCurrentIndex(window.disposition.findData("support_given"))
    qtbot.keyClick(window.notes, Qt.Key.Key_F9)
    settle(qtbot, window, CallState.AVAILABLE)
    assert not window.notice.isVisible() and window.message.text() == ""


def test_a_one_off_message_goes_after_a_while(qtbot, demo, fake_clock):
    session, window = demo
    settle(qtbot, window, CallState.AVAILABLE)
    qtbot.keyClick(window.notes, Qt.Key.Key_F7)  # nothing to mute: refused
    qtbot.waitUntil(lambda: window.notice.isVisible(), timeout=2000)
    fake_clock.advance(MESSAGE_S + 0.5)
    qtbot.waitUntil(lambda: not window.notice.isVisible(), timeout=2000)
    assert window.message.text() == ""


def test_decline_is_offered_on_the_banner_only_when_the_organisation_allows_it(
    qtbot, paths, fake_clock
):
    session, window = _window(qtbot, paths, fake_clock, **{"calls.allow_decline": True})
    try:
        settle(qtbot, window, CallState.AVAILABLE)
        fake_clock.advance(3.0)
        settle(qtbot, window, CallState.RINGING)
        assert "F8" in window.ring_banner.text() and "declines" in window.ring_banner.text()
        assert "Phone line" in window.ring_banner.text()
        hang_up = window.buttons[Action.HANG_UP]
        assert hang_up.isEnabled() and hang_up.text().startswith("Decline")
        qtbot.keyClick(window.notes, Qt.Key.Key_F8)
        settle(qtbot, window, CallState.AVAILABLE)
        assert session.calls.history[-1].answered_at is None
    finally:
        session.stop()


def test_no_decline_by_default(qtbot, demo, fake_clock):
    session, window = demo
    settle(qtbot, window, CallState.AVAILABLE)
    fake_clock.advance(3.0)
    settle(qtbot, window, CallState.RINGING)
    assert "declines" not in window.ring_banner.text()
    assert not window.buttons[Action.HANG_UP].isEnabled()


def test_the_lock_screen_says_that_chats_wait_for_the_counselor(qtbot, demo, fake_clock):
    _session, window = demo
    screen = window.lock_screen
    screen.tick(window._view, fake_clock.monotonic(), False, 2)
    assert "2 chats are open: unlock to answer the people writing." in screen.call_line.text()
    screen.tick(window._view, fake_clock.monotonic(), False, 0)
    assert "chat" not in screen.call_line.text()
