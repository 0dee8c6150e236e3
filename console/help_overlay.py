"""F1: every shortcut of the console on one screen, in the console's language."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from core.i18n import _


def key_action_text(name: str) -> str:
    """What a key of ``devices.keyboard_map`` does, as the help lists it."""
    return {
        "answer": _("Answer the ringing call"),
        "hang_up": _("Hang up"),
        "hold_toggle": _("Put on hold / resume"),
        "mute_toggle": _("Mute / unmute your microphone"),
        "escalate": _("Ask a supervisor for support (consultation)"),
        "escalate_urgent": _("URGENT: imminent risk, alert the supervisors now"),
        "finish_wrap_up": _("Finish the wrap-up (after choosing a disposition)"),
        "break_toggle": _("Start / end a break"),
    }.get(name, name)


def shortcut_rows(
    keymap: Mapping[str, str],
    notes_key: str,
    lock_key: str,
    settings_key: str = "",
    forms: Sequence[tuple[str, str]] = (),
) -> list[tuple[str, str]]:
    """(key, what it does) for the call actions in the order of a call, then the others."""
    order = ["answer", "hold_toggle", "mute_toggle", "hang_up", "escalate", "escalate_urgent",
             "finish_wrap_up", "break_toggle"]  # fmt: skip
    rows = sorted(keymap.items(), key=lambda kv: order.index(kv[1]) if kv[1] in order else 99)
    out = [(key, key_action_text(name)) for key, name in rows]
    out += [
        (notes_key, _("Put the cursor in the notes")),
        *forms,  # (key, what it opens): the contact's forms beside the notes
        (lock_key, _("Lock the console now (your passphrase opens it again)")),
        (settings_key, _("Settings: language, colours, text size, ring")),
        ("F1", _("This help")),
    ]
    return [(k, t) for k, t in out if k]


class HelpOverlay(QDialog):
    """A plain list of keys; Esc, F1 or Close returns to where the counselor was."""

    def __init__(self, rows: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("helpOverlay")
        self.setWindowTitle(_("Keyboard shortcuts"))
        self.setAccessibleName(_("Keyboard shortcuts"))
        table = "".join(
            f"<tr><td style='padding:4px 16px 4px 0'><b>{escape(k)}</b></td>"
            f"<td style='padding:4px 0'>{escape(t)}</td></tr>"
            for k, t in rows
        )
        intro = escape(
            _("The keys work while you type in the notes. The buttons show their key too.")
        )
        page = f"<p>{intro}</p><table>{table}</table>"  # markup around translated texts
        self.text = QLabel(page)
        self.text.setObjectName("helpText")
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.rows = rows

    def keyPressEvent(self, event) -> None:  # noqa: ANN001
        if event.key() == Qt.Key.Key_F1:
            self.reject()
            return
        super().keyPressEvent(event)
