"""The counselor's window in both languages and both themes fits a 1024x600 laptop and grows
on a big screen, in every state of a call.

Screenshots of every state (available, ringing, on call, muted, wrap-up, locked) in es-MX and
English, light and night, at 1024x600 and 1920x1080 go to test-artifacts/ for people to look
at; in each, nothing is clipped and nothing needs a horizontal scroll bar.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QLabel, QPushButton, QWidget

from app.session import Session
from calls.model import CallState
from console.buttonbox_panel import ButtonBoxPanel
from console.commands.demo import demo_overrides
from console.main_window import MainWindow
from console.texts import state_label
from console.theme import apply_theme
from core.config import Config
from devices.buttonbox.simulator import ButtonBoxSimulator

PASSPHRASE = "una frase larga de prueba"


@pytest.fixture(params=["light", "night"])
def theme_name(request):
    app = QApplication.instance()
    apply_theme(app, request.param)
    yield request.param
    apply_theme(app, "light")


@pytest.fixture
def box(paths):
    sim = ButtonBoxSimulator(paths.state_dir / "faro-buttonbox").start()
    yield sim
    sim.stop()


def _window(qtbot, paths, fake_clock, language, box=None):
    """The counselor's window as `faro demo` builds it (with the simulated box's panel)."""
    overrides = dict(demo_overrides("demo"), **{"storage.unlock_target_ms": 1})
    overrides["ui.language"] = language
    if box is not None:
        overrides["devices.buttonbox.port"] = box.path
    session = Session(Config(overrides), paths=paths, clock=fake_clock)
    session.service("store").init(PASSPHRASE)
    window = MainWindow(session)
    if box is not None:
        window.add_side_panel(ButtonBoxPanel(box, window.bridge))
    qtbot.addWidget(window)
    return session, window


def _scrolls(w: QWidget, window: QWidget) -> bool:
    p = w.parentWidget()
    while p is not None and p is not window:
        if isinstance(p, QAbstractScrollArea):
            return True
        p = p.parentWidget()
    return False


def _check_fits(window, size) -> None:
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
            bottom = w.mapTo(window, w.rect().bottomLeft()).y()
            assert right <= window.width() + 1, (w.objectName(), type(w).__name__, right)
            if not _scrolls(w, window):  # a scroll area's content may be taller: it scrolls
                assert bottom <= window.height() + 1, (w.objectName(), type(w).__name__, bottom)
    # no wrapped text is cut off: each wrapping label is as tall as its lines
    for w in window.findChildren(QLabel):
        if w.isVisible() and w.text() and w.wordWrap() and not _scrolls(w, window):
            need = w.heightForWidth(w.width())
            assert need <= w.height() + 2, (w.objectName() or w.text()[:40], need, w.height())
    # no text is cut off: labels that do not wrap, and buttons, are wide enough
    for w in window.findChildren(QLabel) + window.findChildren(QPushButton):
        if not w.isVisible() or not w.text() or (isinstance(w, QLabel) and w.wordWrap()):
            continue
        widest = max(w.fontMetrics().horizontalAdvance(t) for t in w.text().split("\n"))
        assert widest <= w.width(), (w.objectName() or w.text(), widest, w.width())


@pytest.mark.parametrize("size", [(1024, 600), (1920, 1080)])
def test_every_state_fits_and_the_notes_get_the_room(
    qtbot, paths, fake_clock, language, theme_name, size, artifacts_dir, box
):
    session, window = _window(qtbot, paths, fake_clock, language, box)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    session.start()
    tag = f"{language}-{theme_name}-{size[0]}x{size[1]}"

    def state(s: CallState) -> None:
        qtbot.waitUntil(lambda: window.state_label.text() == state_label(s), timeout=3000)

    def snap(name: str) -> None:
        _check_fits(window, size)
        assert window.grab().save(str(artifacts_dir / f"{name}-{tag}.png"))

    try:
        state(CallState.AVAILABLE)
        snap("1-available")
        fake_clock.advance(3.0)
        state(CallState.RINGING)
        snap("2-ringing")
        qtbot.keyClick(window.notes, Qt.Key.Key_F5)
        state(CallState.ON_CALL)
        qtbot.keyClicks(window.notes, "Llama desde casa; esta a salvo por ahora. " * 3)
        fake_clock.advance(42)
        snap("3-on-call")
        notes = window.notes
        if size[0] >= 1900:  # on a big screen the notes are the widest thing
            assert notes.width() >= window.buttons[next(iter(window.buttons))].width() * 2
        qtbot.keyClick(window.notes, Qt.Key.Key_F7)
        qtbot.waitUntil(window.muted_banner.isVisible, timeout=2000)
        snap("4-muted")
        qtbot.keyClick(window.notes, Qt.Key.Key_F7)
        qtbot.keyClick(window.notes, Qt.Key.Key_F8)
        state(CallState.WRAP_UP)
        qtbot.keyClick(window.notes, Qt.Key.Key_F9)  # refused: no disposition, said by the buttons
        qtbot.waitUntil(window.notice.isVisible, timeout=2000)
        snap("5-wrap-up")
        session.service("store").lock("user")
        qtbot.waitUntil(lambda: window.locked, timeout=3000)
        snap("6-locked")
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
