"""Widgets of the case store: unlock screen, autosaving notes editor, note search.

Each widget takes the :class:`storage.service.StoreService` (``session.service("store")``)
and the window's one :class:`console.bridge.EventBridge`, never globals. Store events can
arrive on the writer thread; the bridge delivers them on the GUI thread.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from console.bridge import EventBridge
from core.errors import FaroError
from core.i18n import N_, _
from storage.events import (
    FAILED,
    SAVED,
    SAVING,
    AutosaveState,
    StoreError,
    StoreLocked,
    StoreUnlocked,
)

#: marked with N_ (defined at import time), translated with _() where shown
SAVED_TEXT = N_("Saved")
SAVING_TEXT = N_("Saving…")


class UnlockScreen(QWidget):
    """Asks for the passphrase; derivation runs off the GUI thread."""

    unlocked = Signal()
    _finished = Signal(object)  # None or the error text

    def __init__(self, store: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setObjectName("unlockScreen")
        self.title = QLabel(_("Your case notes are locked."))
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText(_("Passphrase"))
        self.button = QPushButton(_("Unlock"))
        self.message = QLabel("")
        self.message.setObjectName("unlockMessage")
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for w in (self.title, self.passphrase, self.button, self.message):
            layout.addWidget(w)
        layout.addStretch(1)
        self.button.clicked.connect(self.submit)
        self.passphrase.returnPressed.connect(self.submit)
        self._finished.connect(self._done)
        if not store.is_initialised():
            self.message.setText(
                _("There is no case store on this laptop yet. Ask IT to set it up (faro db init).")
            )

    def submit(self) -> None:
        secret = bytearray(self.passphrase.text().encode("utf-8"))
        self.passphrase.clear()
        if not secret:
            return
        self.button.setEnabled(False)
        self.passphrase.setEnabled(False)
        self.message.setText(_("Unlocking…"))

        def work() -> None:
            error = None
            try:
                self.store.unlock(secret)
            except FaroError as exc:
                error = exc.user_text()
            except Exception:  # logged by the thread hook; the counselor sees a plain line
                error = _("The case store could not be opened. Call IT.")
            finally:
                for i in range(len(secret)):
                    secret[i] = 0
            self._finished.emit(error)

        threading.Thread(target=work, name="faro-unlock", daemon=True).start()

    def _done(self, error: str | None) -> None:
        self.button.setEnabled(True)
        self.passphrase.setEnabled(True)
        if error:
            self.message.setText(error)
            self.passphrase.setFocus()
        else:
            self.message.setText("")
            self.unlocked.emit()


class NotesEditor(QWidget):
    """The note of the current contact, autosaved on every keystroke, with a save indicator."""

    def __init__(self, store: Any, bridge: EventBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.contact_id: str | None = None
        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText(_("Notes of this contact"))
        self.status = QLabel("")
        self.status.setObjectName("autosaveStatus")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.editor)
        layout.addWidget(self.status)
        self.editor.textChanged.connect(self._typed)
        self.bridge = bridge  # keep it alive as long as the widget
        bridge.on((StoreLocked, StoreUnlocked, AutosaveState, StoreError), self._on_event)
        self._loading = False
        self._sync_enabled()

    def set_contact(self, contact_id: str | None) -> None:
        """Show another contact's note (the previous one is saved as a version)."""
        if self.contact_id and not self.store.is_locked and contact_id != self.contact_id:
            try:
                self.store.save_note(self.contact_id)
            except FaroError as exc:
                self.status.setText(_("Not saved: {reason}").format(reason=exc.user_text()))
        self.contact_id = contact_id
        self._load()

    def _load(self) -> None:
        self._loading = True
        try:
            note = None
            if self.contact_id and not self.store.is_locked:
                note = self.store.notes(self.contact_id)
            self.editor.setPlainText(note.text if note else "")
            self.editor.moveCursor(self.editor.textCursor().MoveOperation.End)
            self.status.setText(_(SAVED_TEXT) if note else "")
        finally:
            self._loading = False
        self._sync_enabled()

    def _sync_enabled(self) -> None:
        self.editor.setEnabled(bool(self.contact_id) and not self.store.is_locked)

    def _typed(self) -> None:
        if self._loading or not self.contact_id:
            return
        try:
            self.store.draft(self.contact_id, self.editor.toPlainText())
            self.status.setText(_(SAVING_TEXT))
        except FaroError as exc:
            self.status.setText(_("Not saved: {reason}").format(reason=exc.user_text()))

    def _on_event(self, event: Any) -> None:
        if isinstance(event, StoreLocked):
            self._loading = True
            self.editor.setPlainText("")  # no note text on screen while locked
            self._loading = False
            self.status.setText(_("Locked"))
            self._sync_enabled()
        elif isinstance(event, StoreUnlocked):
            self._load()
        elif isinstance(event, AutosaveState) and event.contact_id == self.contact_id:
            if event.state == SAVED:
                self.status.setText(_(SAVED_TEXT))
            elif event.state == SAVING:
                self.status.setText(_(SAVING_TEXT))
            elif event.state == FAILED:
                self.status.setText(_("Not saved: {reason}").format(reason=event.detail))
        elif isinstance(event, StoreError) and event.operation == "open":
            self.status.setText(event.detail)  # saved changes lost at open (a damaged WAL)


class NoteSearch(QWidget):
    """Search box over every note; hits show a snippet with the matches in bold."""

    contact_chosen = Signal(str)

    def __init__(self, store: Any, bridge: EventBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.query = QLineEdit()
        self.query.setPlaceholderText(_("Search notes"))
        self.results = QListWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.query)
        layout.addWidget(self.results)
        self.query.textChanged.connect(self.run)
        self.results.itemActivated.connect(self._chosen)
        self.results.itemClicked.connect(self._chosen)
        self.bridge = bridge  # keep it alive as long as the widget
        bridge.on(StoreLocked, self._on_event)

    def _on_event(self, event: Any) -> None:
        if isinstance(event, StoreLocked):
            self.clear()

    def clear(self) -> None:
        self.results.clear()
        self.query.clear()

    def run(self, text: str | None = None) -> None:
        self.results.clear()
        for hit in self.store.search(self.query.text() if text is None else text):
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, hit.contact_id)
            label = QLabel(hit.html())
            label.setTextFormat(Qt.TextFormat.RichText)
            self.results.addItem(item)
            item.setSizeHint(label.sizeHint())
            self.results.setItemWidget(item, label)

    def snippets(self) -> list[str]:
        """The rich text of each result, in order (for tests and accessibility)."""
        widgets = (
            self.results.itemWidget(self.results.item(i)) for i in range(self.results.count())
        )
        return [w.text() for w in widgets if isinstance(w, QLabel)]  # each result is a label

    def _chosen(self, item: QListWidgetItem) -> None:
        self.contact_chosen.emit(item.data(Qt.ItemDataRole.UserRole))


class StorePanel(QStackedWidget):
    """The notes area of the main window: unlock screen while locked, else editor + search."""

    def __init__(self, store: Any, bridge: EventBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.unlock_screen = UnlockScreen(store)
        self.editor = NotesEditor(store, bridge)
        self.search = NoteSearch(store, bridge)
        content = QWidget()
        row = QHBoxLayout(content)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.editor, 3)  # the notes are the largest thing on the screen
        row.addWidget(self.search, 1)
        self.search.setMaximumWidth(320)
        self.addWidget(self.unlock_screen)
        self.addWidget(content)
        self.search.contact_chosen.connect(self.editor.set_contact)
        self.bridge = bridge  # keep it alive as long as the widget
        bridge.on((StoreLocked, StoreUnlocked), self._on_event)
        self._show()

    def _on_event(self, event: Any) -> None:
        if isinstance(event, (StoreLocked, StoreUnlocked)):
            self._show()

    def _show(self) -> None:
        self.setCurrentIndex(0 if self.store.is_locked else 1)
        if self.store.is_locked:
            self.unlock_screen.passphrase.setFocus()

    def show_contact(self, contact_id: str | None) -> None:
        self.editor.set_contact(contact_id)
