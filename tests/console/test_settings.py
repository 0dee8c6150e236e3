"""Settings in the console: chosen by keyboard, saved next to faro.toml (never into it),
applied at once (colours, text size, ring) or at the next start (language)."""

from __future__ import annotations

import stat

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from console import theme
from core import preferences
from core.config import Config
from tests.console.test_layout_languages import _check_fits
from tests.console.test_lock_and_messages import _window


@pytest.fixture
def demo(qtbot, paths, fake_clock):
    session, window = _window(qtbot, paths, fake_clock)
    yield session, window, paths
    session.stop()
    theme.apply_theme(QApplication.instance(), "light", 1.0)


def _open(qtbot, window):
    qtbot.keyClick(window.notes, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: getattr(window, "settings", None) is not None, timeout=2000)
    qtbot.waitUntil(window.settings.isVisible, timeout=2000)
    return window.settings


def test_colours_and_text_size_apply_at_once_and_are_kept(qtbot, demo, artifacts_dir):
    session, window, paths = demo
    dialog = _open(qtbot, window)
    qtbot.waitUntil(dialog.language.hasFocus, timeout=2000)  # keyboard first
    dialog.theme.setCurrentIndex(dialog.theme.findData("night"))
    dialog.scale.setCurrentIndex(dialog.scale.findData(1.3))
    assert dialog.grab().save(str(artifacts_dir / "settings.png"))
    base = QApplication.instance().font().pointSizeF()
    qtbot.keyClick(dialog, Qt.Key.Key_Return)  # Save
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=2000)
    app = QApplication.instance()
    assert app.palette().color(QPalette.ColorRole.Window).name() == theme.NIGHT.window
    assert app.font().pointSizeF() == pytest.approx(base * 1.3)
    bg, _fg = theme.state_colours(session.calls.state)
    assert bg in window.status_area.availability.styleSheet()  # restyled in the night colours
    qtbot.wait(100)  # the layouts follow the new text size
    _check_fits(window, (1024, 600))
    assert window.grab().save(str(artifacts_dir / "night-after-settings.png"))
    path = preferences.preferences_file(paths.config_file)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not paths.config_file.exists()  # faro.toml is IT's file: never written
    loaded = Config.load(paths.config_file)
    assert loaded.get("ui.theme") == "night" and loaded.get("ui.font_scale") == 1.3
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)  # keys back


def test_the_language_is_said_to_change_at_the_next_start(qtbot, demo):
    session, window, paths = demo
    dialog = _open(qtbot, window)
    assert not dialog.note.isVisible()
    dialog.language.setCurrentIndex(dialog.language.findData("es_MX"))
    assert dialog.note.isVisible() and "next time" in dialog.note.text()
    dialog.accept()
    assert Config.load(paths.config_file).get("ui.language") == "es_MX"


def test_cancel_changes_nothing(qtbot, demo):
    session, window, paths = demo
    dialog = _open(qtbot, window)
    dialog.theme.setCurrentIndex(dialog.theme.findData("night"))
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=2000)
    assert not preferences.preferences_file(paths.config_file).exists()
    assert theme.current().name == "light"


def test_a_save_that_fails_says_so_and_keeps_the_choice_on_screen(qtbot, demo, tmp_path):
    session, window, paths = demo
    dialog = _open(qtbot, window)
    dialog.path = tmp_path / "no such folder" / "preferences.toml"
    dialog.theme.setCurrentIndex(dialog.theme.findData("night"))
    dialog.accept()
    assert dialog.isVisible()
    assert "could not be saved" in dialog.note.text()
    assert dialog.theme.currentData() == "night"


def test_settings_do_not_open_while_locked(qtbot, demo):
    session, window, paths = demo
    session.service("store").lock("user")
    qtbot.waitUntil(lambda: window.locked, timeout=3000)
    window.show_settings()
    assert getattr(window, "settings", None) is None


def test_a_damaged_preferences_file_never_stops_faro(tmp_path):
    cfg = tmp_path / "faro.toml"
    path = preferences.preferences_file(cfg)
    path.write_text('"ui.theme" = "purple"\n"ui.font_scale" = 1.5\n"calls.allow_decline" = true\n')
    loaded = Config.load(cfg)
    assert loaded.get("ui.theme") == "light"  # the bad value skipped
    assert loaded.get("ui.font_scale") == 1.5  # the good one kept
    assert loaded.get("calls.allow_decline") is False  # not a console preference
    path.write_bytes(b"\xff\xfe not toml")
    assert Config.load(cfg).get("ui.font_scale") == 1.0
    with pytest.raises(ValueError):
        preferences.save(path, {"calls.allow_decline": True})


def test_a_bad_preference_is_told_once_however_often_the_configuration_loads(tmp_path, caplog):
    cfg = tmp_path / "faro.toml"
    path = preferences.preferences_file(cfg)
    path.write_text('"ui.theme" = "purple"\n')
    with caplog.at_level("WARNING", logger="core.preferences"):
        Config.load(cfg)
        Config.load(cfg)  # the console loads it again once the language is known
    told = [r for r in caplog.records if "ui.theme" in r.getMessage()]
    assert len(told) == 1


def test_what_the_organisation_locked_is_greyed_and_never_saved(qtbot, tmp_path):
    from console.settings_dialog import SettingsDialog

    config = Config({"ui.language": "es_MX"}, locked={"ui.language": "Línea de la Vida"})
    path = tmp_path / "preferences.toml"
    dialog = SettingsDialog(config, path)
    qtbot.addWidget(dialog)
    assert not dialog.language.isEnabled()
    assert "Línea de la Vida" in dialog.language.toolTip()
    assert dialog.theme.isEnabled()
    assert "ui.language" not in dialog.chosen()
    dialog.theme.setCurrentIndex(dialog.theme.findData("night"))
    dialog.accept()
    saved = preferences.load(path)
    assert saved.get("ui.theme") == "night" and "ui.language" not in saved
    assert config.get("ui.language") == "es_MX"
    theme.apply_theme(QApplication.instance(), "light", 1.0)
