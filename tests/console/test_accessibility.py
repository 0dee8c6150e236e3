"""Every control a screen reader meets has a name, and the whole call flow works from the
keyboard alone (no mouse), including choosing the disposition."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSlider,
    QComboBox,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QProgressBar,
    QTableWidget,
)

from calls.model import CallState
from tests.console.test_counselor_flow import settle
from tests.console.test_lock_and_messages import NOTE

CONTROLS = (
    QAbstractButton,
    QLineEdit,
    QComboBox,
    QPlainTextEdit,
    QListWidget,
    QTableWidget,
    QAbstractSlider,
    QProgressBar,
)


def _unnamed(root) -> list[str]:
    out = []
    for kind in CONTROLS:
        for w in root.findChildren(kind):
            if w.accessibleName().strip():
                continue
            if isinstance(w, QAbstractButton) and w.text().strip():
                continue  # a button's text is its name
            if w.parent() is not None and type(w.parent()).__name__ == "QComboBox":
                continue  # a combo box's own internal parts
            if type(w).__name__ in ("QScrollBar",) or w.objectName().startswith("qt_"):
                continue  # Qt's own parts (scroll bars, spin arrows)
            out.append(f"{type(w).__name__} {w.objectName() or '(no object name)'}")
    return out


def test_every_control_of_the_counselor_window_has_a_name(qtbot, demo):
    session, window = demo
    assert not _unnamed(window), _unnamed(window)


def test_every_control_of_the_settings_has_a_name(qtbot, demo):
    session, window = demo
    window.show_settings()
    qtbot.waitUntil(window.settings.isVisible, timeout=2000)
    assert not _unnamed(window.settings), _unnamed(window.settings)


def test_a_whole_call_by_keyboard_alone(qtbot, demo, fake_clock):
    session, window = demo
    settle(qtbot, window, CallState.AVAILABLE)
    fake_clock.advance(3.0)
    settle(qtbot, window, CallState.RINGING)
    qtbot.keyClick(window.notes, Qt.Key.Key_F5)
    settle(qtbot, window, CallState.ON_CALL)
    qtbot.waitUntil(window.notes.hasFocus, timeout=2000)  # answering puts the cursor there
    qtbot.keyClicks(window.notes, NOTE)
    qtbot.keyClick(window.notes, Qt.Key.Key_F8)
    settle(qtbot, window, CallState.WRAP_UP)
    qtbot.keyClick(window.notes, Qt.Key.Key_F9)  # no disposition: the list gets the keyboard
    qtbot.waitUntil(window.disposition.hasFocus, timeout=2000)
    qtbot.keyClick(window.disposition, Qt.Key.Key_Down)  # the first disposition
    assert window.disposition.currentData() is not None
    qtbot.keyClick(window.disposition, Qt.Key.Key_F9)
    settle(qtbot, window, CallState.AVAILABLE)
    call = session.calls.history[-1]
    assert call.disposition == window.disposition.itemData(1)
