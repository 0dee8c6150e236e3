"""Settings the counselor chooses in the console: language, colours, text size and the ring.

Saved to ``preferences.toml`` next to faro.toml (core/preferences.py), never into faro.toml.
Colours, text size and the ring change at once; the language is used from the next start
(every window's words would otherwise be half in one language and half in the other). Keys
work as everywhere in Qt: Tab between the fields, the arrows in a list, Enter to save, Esc to
leave without changing anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from audio.options import RING_SOUND, RING_VOLUME
from console import theme
from console.options import FONT_SCALE, THEME
from core import preferences
from core.config import Config
from core.i18n import N_, _
from core.options import LANGUAGE

LANGUAGES = (("system", N_("As the laptop (system)")), ("es_MX", "Español (México)"),
             ("en", "English"))  # fmt: skip
THEMES = (("light", N_("Light")), ("night", N_("Night (dark)")))
SCALES = (0.9, 1.0, 1.15, 1.3, 1.5, 1.75)
SOUNDS = (
    ("chime", N_("Chime")),
    ("classic", N_("Classic telephone")),
    ("soft", N_("Soft")),
    ("none", N_("No sound")),
)


def _combo(name: str, items: tuple[tuple[Any, str], ...], current: Any) -> QComboBox:
    box = QComboBox()
    box.setAccessibleName(name)
    for value, text in items:
        box.addItem(_(text), value)  # a language's own name has no translation: itself
    index = box.findData(current)
    box.setCurrentIndex(max(0, index))
    return box


class SettingsDialog(QDialog):
    def __init__(
        self,
        config: Config,
        preferences_path: Any,
        ringer: Any = None,
        on_applied: Callable[[], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle(_("Settings"))
        self.setAccessibleName(_("Settings"))
        self.config = config
        self.path = preferences_path
        self.ringer = ringer
        self._on_applied = on_applied
        self._language_at_start = config.get(LANGUAGE)

        self.language = _combo(_("Language"), LANGUAGES, config.get(LANGUAGE))
        self.theme = _combo(_("Colours"), THEMES, config.get(THEME))
        scale_items = tuple((s, f"{round(s * 100)} %") for s in SCALES)
        self.scale = _combo(_("Text size"), scale_items, config.get(FONT_SCALE))
        if self.scale.findData(config.get(FONT_SCALE)) < 0:  # a value set by hand
            value = config.get(FONT_SCALE)
            self.scale.addItem(f"{round(value * 100)} %", value)
            self.scale.setCurrentIndex(self.scale.count() - 1)
        self.sound = _combo(_("Ring sound"), SOUNDS, config.get(RING_SOUND))
        self.try_button = QPushButton(_("Try it"))
        self.try_button.setObjectName("tryRing")
        self.try_button.setAccessibleName(_("Play the ring sound once"))
        self.try_button.clicked.connect(self.try_ring)
        self.try_button.setEnabled(ringer is not None)
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setObjectName("ringVolume")
        self.volume.setAccessibleName(_("Ring volume"))
        self.volume.setRange(5, 100)
        self.volume.setSingleStep(5)
        self.volume.setPageStep(10)
        self.volume.setValue(round(config.get(RING_VOLUME) * 100))

        ring_row = QHBoxLayout()
        ring_row.addWidget(self.sound, 1)
        ring_row.addWidget(self.try_button)
        form = QFormLayout()
        form.addRow(_("Language"), self.language)
        form.addRow(_("Colours"), self.theme)
        form.addRow(_("Text size"), self.scale)
        form.addRow(_("Ring sound"), ring_row)
        form.addRow(_("Ring volume"), self.volume)
        self.note = QLabel()
        self.note.setObjectName("settingsNote")
        self.note.setWordWrap(True)
        theme.set_role(self.note, "dim")
        self.note.setText(_("The language changes the next time Faro starts."))
        self.note.setVisible(False)
        self.language.currentIndexChanged.connect(self._language_changed)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(buttons)
        self.setTabOrder(self.language, self.theme)
        self.setTabOrder(self.theme, self.scale)
        self.setTabOrder(self.scale, self.sound)
        self.setTabOrder(self.sound, self.try_button)
        self.setTabOrder(self.try_button, self.volume)
        self._lock_organisation_choices()
        self.language.setFocus()

    def _widgets(self) -> dict[str, QWidget]:
        return {
            "ui.language": self.language,
            "ui.theme": self.theme,
            "ui.font_scale": self.scale,
            "audio.ring_sound": self.sound,
            "audio.ring_volume": self.volume,
        }

    def _lock_organisation_choices(self) -> None:
        """What the organisation locked is shown, greyed, with who set it."""
        for key, widget in self._widgets().items():
            by = self.config.locked_by(key)
            if by:
                widget.setEnabled(False)
                text = _("Set by {organisation}.").format(organisation=by)
                widget.setToolTip(text)
                widget.setAccessibleDescription(text)

    def _language_changed(self) -> None:
        self.note.setVisible(self.language.currentData() != self._language_at_start)

    def chosen(self) -> dict[str, Any]:
        """The counselor's choices, without what the organisation locked."""
        values = {
            "ui.language": self.language.currentData(),
            "ui.theme": self.theme.currentData(),
            "ui.font_scale": float(self.scale.currentData()),
            "audio.ring_sound": self.sound.currentData(),
            "audio.ring_volume": self.volume.value() / 100,
        }
        return {k: v for k, v in values.items() if not self.config.locked_by(k)}

    def try_ring(self) -> None:
        if self.ringer is not None:
            self.ringer.volume = self.volume.value() / 100
            self.ringer.preview(self.sound.currentData())

    def accept(self) -> None:
        """Save, apply what applies now, and close. Saving failing (a full disk) says so and
        keeps the dialog open: nothing chosen is silently lost."""
        values = self.chosen()
        try:
            preferences.save(self.path, values)
        except OSError as exc:
            self.note.setText(
                _("The settings could not be saved: {reason}.").format(reason=exc.strerror or exc)
            )
            self.note.setVisible(True)
            return
        for key, value in values.items():
            self.config.set(key, value)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply_theme(app, self.config.get(THEME), self.config.get(FONT_SCALE))
        if self.ringer is not None:
            self.ringer.sound = self.config.get(RING_SOUND)
            self.ringer.volume = self.config.get(RING_VOLUME)
        if self._on_applied is not None:
            self._on_applied()
        super().accept()
