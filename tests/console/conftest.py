"""Fixtures of the console's tests."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from console.qt_language import apply_language
from core import i18n


@pytest.fixture(autouse=True)
def _builtin_disposition_words():
    """A window sets the organisation's words for dispositions (console.texts.use_form):
    each test starts and ends with Faro's own."""
    from console import texts

    texts.use_form(None)
    yield
    texts.use_form(None)


@pytest.fixture(params=["es_MX", "en"])
def language(request):
    """The console in each language (Qt's own texts too), put back after."""
    before = i18n.current_language()
    i18n.set_language(request.param)
    apply_language(QApplication.instance())
    yield request.param
    i18n.set_language(before)
    apply_language(QApplication.instance())


@pytest.fixture
def demo(qtbot, paths, fake_clock):
    """The demo's counselor window at 1024x600 on a real store, started: (session, window)."""
    from tests.console.test_lock_and_messages import _window

    session, window = _window(qtbot, paths, fake_clock)
    yield session, window
    session.stop()
