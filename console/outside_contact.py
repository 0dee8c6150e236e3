"""Log a contact that happened outside Faro: another phone, in person, another channel.

:class:`OutsideContactDialog` asks when it began, how it happened, how many minutes it
lasted, how it ended (a disposition of ``calls.dispositions``) and a note, and writes it
with ``store.log_outside_contact``: a contact row of channel ``outside:<kind>`` whose note
is its first version, so it is found by the search and listed in the history like any
contact. ``OutsideContactDialog.open_for(window)`` opens it over the console window.
Keyboard: Tab through the fields (Tab leaves the note), Ctrl+Enter saves, Escape closes.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from PySide6.QtCore import QDateTime, QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from calls.options import disposition_codes
from console.texts import disposition_label
from console.theme import set_role
from core.errors import FaroError
from core.i18n import N_, _, current_language

log = logging.getLogger(__name__)

#: how the contact happened (storage.store.CaseStore.OUTSIDE_KINDS), in the list's order
KIND_LABELS: dict[str, str] = {
    "phone": N_("Another phone"),
    "in_person": N_("In person"),
    "other": N_("Another channel"),
}
#: the length proposed for a new entry, in minutes
DEFAULT_MINUTES = 15
MAX_MINUTES = 24 * 60


def outside_channel_label(channel: str | None) -> str | None:
    """Words for an ``outside:<kind>`` channel ("Outside the system: in person"), else None."""
    if not channel or not channel.startswith("outside:"):
        return None
    kind = channel.split(":", 1)[1]
    label = KIND_LABELS.get(kind)
    return _("Outside the system: {how}").format(how=_(label) if label else kind)


class OutsideContactDialog(QDialog):
    """The "log a contact made outside the system" dialog."""

    #: a contact was written: its id
    logged = Signal(str)

    def __init__(self, session: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("outsideContactDialog")
        self.setWindowTitle(_("Log a contact outside the system"))
        self.session = session
        self.store = session.service("store")
        self.contact_id: str | None = None
        layout = QVBoxLayout(self)
        intro = QLabel(
            _("A contact that happened on another phone, in person or on another channel.")
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        layout.addLayout(form)

        self.when = QDateTimeEdit()
        self.when.setCalendarPopup(True)
        self.when.setDisplayFormat(
            "dd/MM/yyyy HH:mm" if current_language() == "es_MX" else "MM/dd/yyyy h:mm AP"
        )
        self.when.setAccessibleName(_("When it began"))
        now = QDateTime.fromSecsSinceEpoch(int(session.clock.now().timestamp()))
        self.when.setMaximumDateTime(now)
        self.when.setDateTime(now)
        form.addRow(_("&When it began"), self.when)

        self.kind = QComboBox()
        self.kind.setAccessibleName(_("How it happened"))
        for code, label in KIND_LABELS.items():
            self.kind.addItem(_(label), code)
        form.addRow(_("&How"), self.kind)

        self.minutes = QSpinBox()
        self.minutes.setRange(0, MAX_MINUTES)
        self.minutes.setValue(DEFAULT_MINUTES)
        self.minutes.setSuffix(" " + _("min"))
        self.minutes.setAccessibleName(_("Length in minutes"))
        form.addRow(_("&Length"), self.minutes)

        self.disposition = QComboBox()
        self.disposition.setAccessibleName(_("How the contact ended"))
        self.disposition.addItem(_("Choose…"), None)
        for code in disposition_codes(session.config, session.form):
            self.disposition.addItem(disposition_label(code), code)
        form.addRow(_("&Disposition"), self.disposition)

        self.note = QPlainTextEdit()
        self.note.setTabChangesFocus(True)
        self.note.setAccessibleName(_("Note of the contact"))
        self.note.setPlaceholderText(_("What happened, what was agreed."))
        self.note.setMinimumHeight(90)
        form.addRow(_("&Note"), self.note)

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName(_("Status"))
        layout.addWidget(self.status)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        save = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        save.setAccessibleName(_("Save the contact"))
        save.setToolTip(_("Save (Ctrl+Enter)"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setAccessibleName(
            _("Close without saving")
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.note.installEventFilter(self)  # Ctrl+Enter saves from the note too
        self.when.setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802  # Qt's name
        if watched is self.note and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if self._is_save_key(event):
                self.save()
                return True
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802  # Qt's name
        if self._is_save_key(event):
            self.save()
            return
        super().keyPressEvent(event)

    @staticmethod
    def _is_save_key(event: QKeyEvent) -> bool:
        return event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and bool(
            event.modifiers() & Qt.KeyboardModifier.ControlModifier
        )

    @classmethod
    def open_for(cls, window: QWidget) -> OutsideContactDialog:
        """Open the dialog over ``window`` (a MainWindow: its ``session``), window-modal;
        returned so the caller can connect :attr:`logged`."""
        dialog = cls(window.session, window)  # type: ignore[attr-defined]
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.open()
        dialog.when.setFocus()
        return dialog

    def _began(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.when.dateTime().toSecsSinceEpoch(), dt.UTC)

    def save(self) -> None:
        """Write the contact; on a refusal say why and keep everything typed."""
        code = self.disposition.currentData()
        if not code:
            self._refuse(_("Choose how the contact ended."))
            self.disposition.setFocus()
            return
        try:
            self.contact_id = self.store.log_outside_contact(
                self._began(),
                self.kind.currentData(),
                self.minutes.value(),
                code,
                self.note.toPlainText(),
            )
        except FaroError as exc:
            self._refuse(str(exc))
            return
        except Exception:  # logged with its traceback, never with the note
            log.exception("logging an outside contact failed")
            self._refuse(_("Could not save to the case store."))
            return
        self.logged.emit(self.contact_id)
        self.accept()

    def _refuse(self, message: str) -> None:
        self.status.setText(message)
        set_role(self.status, "danger")
