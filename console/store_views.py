"""Widgets of the case store: unlock screen, autosaving notes editor, note search.

Each widget takes the :class:`storage.service.StoreService` (``session.service("store")``)
and the window's one :class:`console.bridge.EventBridge`, never globals. Store events can
arrive on the writer thread; the bridge delivers them on the GUI thread.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from console.bridge import EventBridge
from console.texts import disposition_label
from console.theme import set_role
from core.errors import FaroError
from core.i18n import N_, _, format_datetime
from storage.events import (
    FAILED,
    SAVED,
    SAVING,
    AutosaveState,
    StoreError,
    StoreLocked,
    StoreUnlocked,
)
from storage.keys import MIN_PASSPHRASE

#: marked with N_ (defined at import time), translated with _() where shown
SAVED_TEXT = N_("Saved")
SAVING_TEXT = N_("Saving…")


class UnlockScreen(QWidget):
    """Asks for the passphrase; derivation runs off the GUI thread.

    On a laptop whose store does not exist yet (the counselor's first login after
    provisioning) it asks the counselor to choose one, twice, and creates the store: the
    passphrase is the counselor's alone, never IT's (the organisation's recovery key, when
    provisioned, is the emergency way in)."""

    unlocked = Signal()
    _finished = Signal(object)  # None or the error text

    def __init__(self, store: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setObjectName("unlockScreen")
        self.title = QLabel(_("Your case notes are locked."))
        set_role(self.title, "title")
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText(_("Passphrase"))
        self.passphrase.setAccessibleName(_("Passphrase"))
        self.confirm = QLineEdit()
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm.setObjectName("passphraseAgain")
        self.confirm.setPlaceholderText(_("The same passphrase again"))
        self.confirm.setAccessibleName(_("The same passphrase again"))
        self.button = QPushButton(_("Unlock"))
        self.message = QLabel("")
        self.message.setObjectName("unlockMessage")
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for w in (self.title, self.passphrase, self.confirm, self.button, self.message):
            layout.addWidget(w)
        layout.addStretch(1)
        self.button.clicked.connect(self.submit)
        self.passphrase.returnPressed.connect(self._next)
        self.confirm.returnPressed.connect(self.submit)
        self._finished.connect(self._done)
        self.creating = False
        self.refresh()

    def refresh(self) -> None:
        """Unlock, or choose the passphrase when the store does not exist yet."""
        self.creating = not self.store.is_initialised()
        self.confirm.setVisible(self.creating)
        if self.creating:
            self.title.setText(_("Choose your passphrase"))
            self.passphrase.setPlaceholderText(_("New passphrase"))
            self.passphrase.setAccessibleName(_("New passphrase"))
            self.button.setText(_("Create my case notes"))
            self.button.setAccessibleName(_("Create my case notes"))
            self.message.setText(
                _(
                    "This laptop has no case notes yet. Choose a passphrase of at least {n} "
                    "characters (a few words you will remember); you will type it each time "
                    "Faro unlocks. Nobody else knows it: do not write it down near the laptop."
                ).format(n=MIN_PASSPHRASE)
            )
        else:
            self.title.setText(_("Your case notes are locked."))
            self.passphrase.setPlaceholderText(_("Passphrase"))
            self.passphrase.setAccessibleName(_("Passphrase"))
            self.button.setText(_("Unlock"))
            self.button.setAccessibleName(_("Unlock"))

    def _next(self) -> None:
        if self.creating:
            self.confirm.setFocus()
        else:
            self.submit()

    def submit(self) -> None:
        secret = bytearray(self.passphrase.text().encode("utf-8"))
        again = bytearray(self.confirm.text().encode("utf-8"))
        self.passphrase.clear()
        self.confirm.clear()
        if not secret:
            return
        creating = self.creating
        if creating and secret != again:
            for buf in (secret, again):
                for i in range(len(buf)):
                    buf[i] = 0
            self.message.setText(_("The two passphrases differ. Type them again."))
            self.passphrase.setFocus()
            return
        for i in range(len(again)):
            again[i] = 0
        self.button.setEnabled(False)
        self.passphrase.setEnabled(False)
        self.confirm.setEnabled(False)
        self.message.setText(_("Creating your case notes…") if creating else _("Unlocking…"))

        def work() -> None:
            error = None
            try:
                if creating:
                    self.store.init(secret)
                else:
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
        self.confirm.setEnabled(True)
        self.refresh()
        if error:
            self.message.setText(error)
            self.passphrase.setFocus()
        else:
            self.message.setText("")
            self.unlocked.emit()


def when_text(value: str | None) -> str:
    """A time stored as ISO 8601 (``rung_at``), as the console's language writes it."""
    if value:
        try:
            return format_datetime(dt.datetime.fromisoformat(value))
        except ValueError:
            pass
    return _("date unknown")


def describe_contact(store: Any, contact_id: str) -> tuple[str, str]:
    """(date and time rung, disposition label) of a contact, for labels; never caller data."""
    try:
        row = store.contact(contact_id)
    except FaroError:  # locked meanwhile
        row = None
    row = row or {}
    return when_text(row.get("rung_at")), disposition_label(row.get("disposition"))


class NotesEditor(QWidget):
    """The note of the current contact, autosaved on every keystroke, with a save indicator.

    It can also show an earlier contact's note (opened from the search): read-only, under a
    banner with that contact's date, time and disposition. :meth:`set_contact`, called on
    every call state change, always brings the current contact back."""

    def __init__(self, store: Any, bridge: EventBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        #: the contact whose note is on screen
        self.contact_id: str | None = None
        #: the contact in progress (the only note that can be edited); None between calls
        self.current_id: str | None = None
        self.heading = QLabel("")
        self.heading.setObjectName("notesHeading")
        self.heading.setWordWrap(True)
        self.back = QPushButton(_("Back to the current contact"))
        self.back.setObjectName("btn_notes_back")
        self.back.clicked.connect(self.back_to_current)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("notesEditor")
        self.editor.setPlaceholderText(_("Notes of this contact"))
        self.status = QLabel("")
        self.status.setObjectName("autosaveStatus")
        set_role(self.status, "dim")
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.heading, 1)
        head.addWidget(self.back, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.editor)
        layout.addWidget(self.status)
        self.setTabOrder(self.back, self.editor)
        self.editor.textChanged.connect(self._typed)
        self.bridge = bridge  # keep it alive as long as the widget
        bridge.on((StoreLocked, StoreUnlocked, AutosaveState, StoreError), self._on_event)
        self._loading = False
        self._sync_enabled()

    @property
    def viewing_earlier(self) -> bool:
        """True while another contact's note than the current one is on screen (read-only)."""
        return self.contact_id is not None and self.contact_id != self.current_id

    def set_contact(self, contact_id: str | None) -> None:
        """Make ``contact_id`` the current contact and show its note, editable (the previous
        current contact's note is saved as a version). Closes an earlier contact's note."""
        if self.current_id and not self.store.is_locked and contact_id != self.current_id:
            try:
                self.store.save_note(self.current_id)
            except FaroError as exc:
                self.status.setText(_("Not saved: {reason}").format(reason=exc.user_text()))
        self.current_id = contact_id
        self._show(contact_id)

    def open_earlier(self, contact_id: str) -> None:
        """Show a note opened from the search: read-only unless it is the current contact's."""
        self._show(contact_id)

    def back_to_current(self) -> None:
        """Close the earlier contact's note: the current contact's note (or none) again."""
        self._show(self.current_id)
        if self.current_id:
            self.editor.setFocus()

    def _show(self, contact_id: str | None) -> None:
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
            self.status.setText(_(SAVED_TEXT) if note and not self.viewing_earlier else "")
        finally:
            self._loading = False
        self._sync_enabled()

    def _sync_enabled(self) -> None:
        locked = self.store.is_locked
        earlier = self.viewing_earlier and not locked
        self.editor.setEnabled(bool(self.contact_id) and not locked)
        self.editor.setReadOnly(earlier)
        if earlier:
            assert self.contact_id is not None
            when, disposition = describe_contact(self.store, self.contact_id)
            heading = _("Earlier contact · {when} · {disposition} · read only").format(
                when=when, disposition=disposition
            )
            set_role(self.heading, "warning")
            self.editor.setAccessibleName(_("Case notes of an earlier contact (read only)"))
            self.editor.setAccessibleDescription(heading)
        else:
            heading = _("Current contact") if self.current_id else ""
            set_role(self.heading, "title")
            self.editor.setAccessibleName(_("Case notes of the current contact"))
            self.editor.setAccessibleDescription("")
        self.heading.setText(heading)
        self.heading.setVisible(bool(heading))
        back = _("Back to the current contact") if self.current_id else _("Close this note")
        self.back.setText(back)
        self.back.setAccessibleName(back)
        self.back.setVisible(earlier)

    def _typed(self) -> None:
        if self._loading or not self.contact_id or self.viewing_earlier:
            return  # an earlier contact's note is read-only: nothing of it is ever drafted
        try:
            self.store.draft(self.contact_id, self.editor.toPlainText())
            self.status.setText(_(SAVING_TEXT))
        except FaroError as exc:
            self.status.setText(_("Not saved: {reason}").format(reason=exc.user_text()))

    def _on_event(self, event: Any) -> None:
        if isinstance(event, StoreLocked):
            self.contact_id = self.current_id  # an earlier note is not reopened at unlock
            self._loading = True
            self.editor.setPlainText("")  # no note text on screen while locked
            self._loading = False
            self.status.setText(_("Locked"))
            self._sync_enabled()
        elif isinstance(event, StoreUnlocked):
            self._load()
        elif isinstance(event, AutosaveState) and event.contact_id == self.current_id:
            if self.viewing_earlier:  # the current note is off screen: only a failure shows
                if event.state == FAILED:
                    self.status.setText(_("Not saved: {reason}").format(reason=event.detail))
            elif event.state == SAVED:
                self.status.setText(_(SAVED_TEXT))
            elif event.state == SAVING:
                self.status.setText(_(SAVING_TEXT))
            elif event.state == FAILED:
                self.status.setText(_("Not saved: {reason}").format(reason=event.detail))
        elif isinstance(event, StoreError) and event.operation == "open":
            self.status.setText(event.detail)  # saved changes lost at open (a damaged WAL)


class HitView(QWidget):
    """One search hit: the contact's date, time and disposition over the snippet, wrapped."""

    def __init__(self, meta: str, snippet_html: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.meta = QLabel(meta)
        self.meta.setObjectName("hitMeta")
        self.meta.setWordWrap(True)
        set_role(self.meta, "dim")
        self.snippet = QLabel(snippet_html)
        self.snippet.setObjectName("hitSnippet")
        self.snippet.setTextFormat(Qt.TextFormat.RichText)
        self.snippet.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 3, 4, 3)
        layout.setSpacing(1)
        layout.addWidget(self.meta)
        layout.addWidget(self.snippet)


class HitList(QListWidget):
    """The hits, as tall as their wrapped text and never wider than the list."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setWordWrap(True)
        self.setAlternatingRowColors(True)  # tells one hit from the next
        self.itemSelectionChanged.connect(self.mark_selected)

    def mark_selected(self) -> None:
        """The row widgets say whether they are selected (the style sheet's
        ``[selected="true"]``: their labels in the selection's text colour)."""
        for i in range(self.count()):
            item = self.item(i)
            view = self.itemWidget(item)
            if view is None or view.property("selected") == item.isSelected():
                continue
            view.setProperty("selected", item.isSelected())
            for label in view.findChildren(QLabel):
                label.style().unpolish(label)
                label.style().polish(label)

    def fit_rows(self) -> None:
        width = self.viewport().width()
        for i in range(self.count()):
            item = self.item(i)
            view = self.itemWidget(item)
            if view is not None:
                item.setSizeHint(QSize(width, view.heightForWidth(width)))
        self.mark_selected()  # rows redrawn with their signals blocked

    def resizeEvent(self, event: QResizeEvent) -> None:  # the viewport's size, too
        super().resizeEvent(event)
        self.fit_rows()


class NoteSearch(QWidget):
    """Search box over every note; each hit shows the contact's date, time and disposition
    and a snippet with the matches in bold."""

    contact_chosen = Signal(str)

    def __init__(self, store: Any, bridge: EventBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        #: the contact in progress (its hit says so); set by the panel
        self.current_id: str | None = None
        self.query = QLineEdit()
        self.query.setObjectName("noteSearch")
        self.query.setPlaceholderText(_("Search notes"))
        self.query.setAccessibleName(_("Search notes"))
        self.results = HitList()
        self.results.setObjectName("noteSearchResults")
        self.results.setAccessibleName(_("Notes found"))
        self.empty = QLabel(_("No note matches your search."))
        self.empty.setObjectName("noteSearchEmpty")
        self.empty.setWordWrap(True)
        set_role(self.empty, "dim")
        self.empty.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.query)
        layout.addWidget(self.empty)
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
        self.empty.setVisible(False)

    def run(self, text: str | None = None) -> None:
        self.results.clear()
        query = self.query.text() if text is None else text
        hits = self.store.search(query)
        for hit in hits:
            when = when_text(hit.rung_at)
            if hit.contact_id == self.current_id:
                meta = _("Current contact · {when}").format(when=when)
            else:
                disposition = describe_contact(self.store, hit.contact_id)[1]
                meta = _("{when} · {disposition}").format(when=when, disposition=disposition)
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, hit.contact_id)
            plain = "".join(t for t, _hl in hit.parts())
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{meta}. {plain}")
            self.results.addItem(item)
            self.results.setItemWidget(item, HitView(meta, hit.html()))
        self.results.fit_rows()
        self.empty.setVisible(bool(query.strip()) and not hits and not self.store.is_locked)

    def hit_views(self) -> list[HitView]:
        widgets = (
            self.results.itemWidget(self.results.item(i)) for i in range(self.results.count())
        )
        return [w for w in widgets if isinstance(w, HitView)]

    def snippets(self) -> list[str]:
        """The rich text of each result's snippet, in order (for tests and accessibility)."""
        return [w.snippet.text() for w in self.hit_views()]

    def metas(self) -> list[str]:
        """Each result's date, time and disposition line, in order."""
        return [w.meta.text() for w in self.hit_views()]

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
        # tab order: the banner's button, the note, then the search and its hits
        self.setTabOrder(self.editor.back, self.editor.editor)
        self.setTabOrder(self.editor.editor, self.search.query)
        self.setTabOrder(self.search.query, self.search.results)
        self.search.contact_chosen.connect(self.editor.open_earlier)
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
        """The contact in progress (None between calls), on every call state change: the
        editor returns to it, whatever earlier note was open."""
        self.search.current_id = contact_id
        self.editor.set_contact(contact_id)
