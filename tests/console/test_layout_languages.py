"""The counselor's window in both languages fits a 1024x600 laptop and grows on a big screen.

Screenshots of the ringing state in es-MX and English at 1024x600 and 1920x1080 go to
test-artifacts/ for people to look at.
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QLabel, QPushButton, QWidget

from app.session import Session
from calls.model import CallState
from console.commands.demo import demo_overrides
from console.main_window import MainWindow
from console.qt_language import apply_language
from console.texts import state_label
from core import i18n
from core.config import Config

PASSPHRASE = "una frase larga de prueba"


@pytest.fixture(params=["es_MX", "en"])
def language(request):
    before = i18n.current_language()
    i18n.set_language(request.param)
    apply_language(QApplication.instance())
    yield request.param
    i18n.set_language(before)
    apply_language(QApplication.instance())


def _window(qtbot, paths, fake_clock, language):
    overrides = dict(demo_overrides("demo"), **{"storage.unlock_target_ms": 1})
    overrides["ui.language"] = language
    session = Session(Config(overrides), paths=paths, clock=fake_clock)
    session.service("store").init(PASSPHRASE)
    window = MainWindow(session)
    qtbot.addWidget(window)
    return session, window


@pytest.mark.parametrize("size", [(1024, 600), (1920, 1080)])
def test_the_window_fits_and_the_notes_get_the_room(
    qtbot, paths, fake_clock, language, size, artifacts_dir
):
    session, window = _window(qtbot, paths, fake_clock, language)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    session.start()
    try:
        fake_clock.advance(3.0)
        qtbot.waitUntil(
            lambda: window.state_label.text() == state_label(CallState.RINGING), timeout=3000
        )
        QApplication.processEvents()
        hint = window.minimumSizeHint()
        assert hint.width() <= 1024 and hint.height() <= 600, hint
        assert (window.width(), window.height()) == size
        # nothing needs a horizontal scroll bar
        for area in window.findChildren(QAbstractScrollArea):
            if area.isVisible():
                assert not area.horizontalScrollBar().isVisible(), area.objectName()
        # every visible widget lies inside the window
        for w in window.findChildren(QWidget):
            if w.isVisible() and w.window() is window and w.width() > 0:
                right = w.mapTo(window, w.rect().topRight()).x()
                assert right <= window.width() + 1, (w.objectName(), type(w).__name__, right)
        # no text is cut off: labels that do not wrap, and buttons, are wide enough
        for w in window.findChildren(QLabel) + window.findChildren(QPushButton):
            if not w.isVisible() or not w.text() or (isinstance(w, QLabel) and w.wordWrap()):
                continue
            widest = max(w.fontMetrics().horizontalAdvance(t) for t in w.text().split("\n"))
            assert widest <= w.width(), (w.objectName() or w.text(), widest, w.width())
        notes = window.notes
        if size[0] >= 1900:  # on a big screen the notes are the widest thing
            assert notes.width() >= window.buttons[next(iter(window.buttons))].width() * 2
        assert window.grab().save(
            str(artifacts_dir / f"ringing-{language}-{size[0]}x{size[1]}.png")
        )
    finally:
        session.stop()


def test_windows_open_no_larger_than_their_screen(qtbot):
    from console.screen import fit_to_screen

    w = QWidget()
    qtbot.addWidget(w)
    free = w.screen().availableGeometry()
    fit_to_screen(w, 5000, 5000)
    assert (w.width(), w.height()) == (free.width(), free.height())
    fit_to_screen(w, 300, 200)
    assert (w.width(), w.height()) == (300, 200)
