"""Running the Qt application around a session."""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app.session import Session
from console.options import FONT_SCALE, THEME
from console.qt_language import apply_language
from console.theme import apply_theme
from core.errors import FaroError
from core.i18n import _

log = logging.getLogger(__name__)


def ensure_display() -> None:
    """Fail with a clear message when there is no screen to open a window on."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
        or os.environ.get("QT_QPA_PLATFORM")
    ):
        raise FaroError(
            _("There is no display to open the console on."),
            hint=_(
                "Run it from the desktop session (or set QT_QPA_PLATFORM=offscreen "
                "for a headless check)."
            ),
        )


def application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        from console.qt_runtime import check_qt_binding

        app = QApplication(sys.argv[:1])
        check_qt_binding()
        app.setApplicationName("Faro")
        app.setOrganizationName("Faro")
        app.setApplicationDisplayName("Faro")
    return app  # type: ignore[return-value]  # instance() is typed QCoreApplication; ours is a QApplication


def _install_excepthook(parent: Callable[[], QWidget | None]) -> None:
    def hook(kind, value, tb):
        if isinstance(value, FaroError):
            log.warning("user-facing error: %s", value.message)
            QMessageBox.warning(parent(), "Faro", value.user_text())
            return
        log.error("unhandled error", exc_info=(kind, value, tb))
        QMessageBox.critical(
            parent(),
            "Faro",
            _(
                "Something went wrong inside Faro. Your call continues; "
                "the details are in the log file."
            ),
        )

    sys.excepthook = hook


def run(
    session: Session,
    build_windows: Callable[[Session], list[QWidget]],
    quit_after_ms: int | None = None,
) -> int:
    """Start the session, show its windows, run the event loop, stop the session."""
    app = application()
    apply_language(app)  # the session chose it; Qt's own buttons and QLocale follow
    apply_theme(app, session.config.get(THEME), session.config.get(FONT_SCALE))
    windows: list[QWidget] = []
    _install_excepthook(lambda: windows[0] if windows else None)
    # Let Python see Ctrl+C: Qt's loop would otherwise swallow SIGINT until an event arrives.
    signal.signal(signal.SIGINT, lambda *_a: app.quit())
    signal.signal(signal.SIGTERM, lambda *_a: app.quit())
    pulse = QTimer()
    pulse.start(250)
    pulse.timeout.connect(lambda: None)
    watcher = None
    try:
        windows.extend(build_windows(session))
        store = session.service("store")
        if store is not None:  # the notes lock with the laptop (console/session_lock.py)
            from console.session_lock import SessionLockWatcher

            watcher = SessionLockWatcher(store, session.config)
        session.start()
        for w in windows:
            w.show()
        if quit_after_ms is not None:
            QTimer.singleShot(quit_after_ms, app.quit)
        return app.exec()
    finally:
        for w in windows:
            w.close()
        session.stop()
        del watcher
