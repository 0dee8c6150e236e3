"""Qt's own texts (standard buttons, context menus) and QLocale in Faro's language."""

from __future__ import annotations

from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator
from PySide6.QtWidgets import QApplication

from core.i18n import current_language

_installed: list[QTranslator] = []


def apply_language(app: QApplication) -> str:
    """Install Qt's translation for the language :mod:`core.i18n` speaks; that language."""
    language = current_language()
    for old in _installed:
        app.removeTranslator(old)
    _installed.clear()
    QLocale.setDefault(QLocale(language if language != "en" else "en_US"))
    if language != "en":
        where = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        qt = QTranslator(app)
        if qt.load(QLocale(language), "qtbase", "_", where):
            app.installTranslator(qt)
            _installed.append(qt)
    return language
