"""The store widgets, offscreen with pytest-qt, on a real store."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from PySide6.QtCore import Qt

from console.bridge import EventBridge
from tests.support.storage_helpers import PASS


@pytest.fixture
def locked(make_service):
    svc = make_service()
    svc.init(PASS)
    svc.draft("c1", "Llamó angustiada, plan de seguridad con su hermana")
    svc.flush()
    svc.lock()
    return svc


def test_unlock_screen_wrong_then_right(qtbot, locked):
    from console.store_views import StorePanel

    panel = StorePanel(locked, EventBridge(locked.bus))
    qtbot.addWidget(panel)
    screen = panel.unlock_screen
    assert panel.currentWidget() is screen
    screen.passphrase.setText("wrong passphrase")
    screen.submit()
    assert screen.passphrase.text() == ""
    qtbot.waitUntil(lambda: "not right" in screen.message.text(), timeout=10000)
    assert locked.is_locked and panel.currentIndex() == 0
    with qtbot.waitSignal(screen.unlocked, timeout=10000):
        screen.passphrase.setText(PASS)
        screen.submit()
    qtbot.waitUntil(lambda: panel.currentIndex() == 1, timeout=5000)
    assert not locked.is_locked


def test_editor_autosaves_and_shows_the_state(qtbot, locked):
    from console.store_views import NotesEditor

    locked.unlock(PASS)
    editor = NotesEditor(locked, EventBridge(locked.bus))
    qtbot.addWidget(editor)
    editor.set_contact("c1")
    assert editor.editor.toPlainText().startswith("Llamó")
    assert editor.status.text() == "Saved"
    qtbot.keyClicks(editor.editor, " y duerme mal")
    assert editor.status.text() in ("Saving…", "Saved")
    qtbot.waitUntil(lambda: editor.status.text() == "Saved", timeout=5000)
    assert locked.notes("c1").text.endswith("y duerme mal")
    editor.set_contact("c2")  # switching saves a version of the previous note
    assert locked.note_history("c1")[-1].text.endswith("y duerme mal")
    editor.set_contact("c1")
    assert editor.editor.toPlainText()
    locked.lock()
    qtbot.waitUntil(lambda: editor.status.text() == "Locked", timeout=5000)
    assert editor.editor.toPlainText() == ""  # no note text on screen while locked
    assert not editor.editor.isEnabled()


def test_editor_shows_not_saved_with_the_reason(qtbot, locked):
    from console.store_views import NotesEditor
    from storage.events import FAILED, AutosaveState

    locked.unlock(PASS)
    editor = NotesEditor(locked, EventBridge(locked.bus))
    qtbot.addWidget(editor)
    editor.set_contact("c1")
    locked.bus.publish(AutosaveState("c1", FAILED, "the disk is full"))
    qtbot.waitUntil(lambda: editor.status.text() == "Not saved: the disk is full", timeout=5000)


def test_search_highlights_and_opens_the_note(qtbot, locked):
    from console.store_views import StorePanel

    locked.unlock(PASS)
    panel = StorePanel(locked, EventBridge(locked.bus))
    qtbot.addWidget(panel)
    panel.search.query.setText("herman")
    assert panel.search.snippets() and "<b>hermana</b>" in panel.search.snippets()[0]
    item = panel.search.results.item(0)
    panel.search.results.itemClicked.emit(item)
    assert panel.editor.contact_id == "c1"
    locked.lock()
    qtbot.waitUntil(lambda: panel.search.results.count() == 0, timeout=5000)
    panel.search.run("hermana")
    assert panel.search.results.count() == 0  # nothing searchable while locked


def test_editor_shows_saved_changes_lost_at_open(qtbot, locked):
    """A damaged WAL found at unlock (StoreError "open", after StoreUnlocked) stays on screen."""
    from console.store_views import NotesEditor
    from storage.events import StoreError, StoreUnlocked

    locked.unlock(PASS)
    editor = NotesEditor(locked, EventBridge(locked.bus))
    qtbot.addWidget(editor)
    editor.set_contact("c1")
    locked.bus.publish(StoreUnlocked())
    locked.bus.publish(StoreError("open", "The last 3 saved change(s) could not be read back"))
    qtbot.waitUntil(lambda: editor.status.text().startswith("The last 3 saved"), timeout=5000)


# -- earlier contacts: labelled, read-only, and never in the way of the current one ----------
RUNG = dt.datetime(2026, 12, 2, 21, 40, tzinfo=dt.UTC)
LONG_NOTE = (
    "Llamó angustiada después del trabajo; habló de su hermana, que vive cerca y puede "
    "acompañarla esta noche; acordamos un plan de seguridad y volver a llamar mañana"
)


@pytest.fixture
def earlier(store):
    """An unlocked store holding one finished call, referred, with a long note."""
    from calls.events import IncomingCall, WrapUpFinished
    from calls.model import Call
    from core.privacy import Personal

    call = Call("call-1", "phone", Personal("555 0101"), RUNG, 1.0)
    store.bus.publish(IncomingCall(call))
    done = dataclasses.replace(call, disposition="referred")
    store.bus.publish(WrapUpFinished(done, "referred"))
    store.draft("call-1", LONG_NOTE)
    store.flush()
    return store


def _styled(widget):
    """The application's theme on this widget alone (the suite's QApplication is shared)."""
    from console import theme

    widget.setPalette(theme.qpalette(theme.LIGHT))
    widget.setStyleSheet(theme.style_sheet(theme.LIGHT))


def test_a_search_hit_shows_date_and_disposition_and_wraps(qtbot, earlier, artifacts_dir):
    from console.store_views import StorePanel
    from core.i18n import format_datetime

    panel = StorePanel(earlier, EventBridge(earlier.bus))
    qtbot.addWidget(panel)
    _styled(panel)
    panel.resize(760, 420)
    panel.show()
    panel.search.query.setText("herman")
    assert panel.search.metas() == [f"{format_datetime(RUNG)} · Referred to a service"]
    assert "<b>hermana</b>" in panel.search.snippets()[0]
    results = panel.search.results
    item = results.item(0)
    assert item.data(Qt.ItemDataRole.AccessibleTextRole).startswith(format_datetime(RUNG))
    qtbot.waitUntil(lambda: results.viewport().width() > 0)
    [view] = panel.search.hit_views()
    qtbot.waitUntil(lambda: view.width() <= results.viewport().width())
    assert results.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    assert not results.horizontalScrollBar().isVisible()
    assert view.snippet.wordWrap()
    line = view.snippet.fontMetrics().lineSpacing()
    assert view.snippet.height() >= 2 * line  # the snippet wraps instead of running off
    assert item.sizeHint().height() >= view.heightForWidth(results.viewport().width())
    panel.grab().save(str(artifacts_dir / "search-hit.png"))
    panel.search.query.setText("nadaquecoincida")
    assert results.count() == 0 and panel.search.empty.isVisible()


def test_an_earlier_note_opened_during_a_ring_is_labelled_and_read_only(
    qtbot, earlier, artifacts_dir
):
    from console.store_views import StorePanel
    from core.i18n import format_datetime

    panel = StorePanel(earlier, EventBridge(earlier.bus))
    qtbot.addWidget(panel)
    _styled(panel)
    panel.resize(760, 420)
    panel.show()
    panel.show_contact("call-2")  # a new call rings
    editor = panel.editor
    assert editor.heading.text() == "Current contact" and not editor.editor.isReadOnly()
    panel.search.query.setText("hermana")
    panel.search.results.itemClicked.emit(panel.search.results.item(0))
    assert editor.contact_id == "call-1" and editor.current_id == "call-2"
    assert editor.viewing_earlier
    assert editor.heading.text() == (
        f"Earlier contact · {format_datetime(RUNG)} · Referred to a service · read only"
    )
    assert editor.heading.property("role") == "warning"
    assert editor.editor.isReadOnly() and editor.editor.isEnabled()
    assert editor.editor.accessibleName() == "Case notes of an earlier contact (read only)"
    assert editor.back.isVisible() and editor.back.text() == "Back to the current contact"
    panel.grab().save(str(artifacts_dir / "earlier-note-during-ring.png"))
    qtbot.keyClicks(editor.editor, " escrito en la nota equivocada")
    assert editor.editor.toPlainText() == LONG_NOTE  # read-only: nothing typed lands
    earlier.flush()
    assert earlier.notes("call-1").text == LONG_NOTE
    assert earlier.notes("call-2") is None
    # the call is answered: the editor is back on the current contact, editable
    panel.show_contact("call-2")
    assert editor.contact_id == "call-2" and not editor.viewing_earlier
    assert not editor.editor.isReadOnly() and editor.editor.toPlainText() == ""
    assert editor.heading.text() == "Current contact" and not editor.back.isVisible()
    assert editor.editor.accessibleName() == "Case notes of the current contact"
    qtbot.keyClicks(editor.editor, "Llama por primera vez")
    qtbot.waitUntil(lambda: editor.status.text() == "Saved", timeout=5000)
    assert earlier.notes("call-2").text == "Llama por primera vez"
    assert earlier.notes("call-1").text == LONG_NOTE


def test_back_returns_to_the_current_contact_and_its_own_hit_stays_editable(qtbot, earlier):
    from console.store_views import StorePanel

    panel = StorePanel(earlier, EventBridge(earlier.bus))
    qtbot.addWidget(panel)
    editor = panel.editor
    panel.show_contact("call-2")
    qtbot.keyClicks(editor.editor, "Su hermana esta con ella")
    qtbot.waitUntil(lambda: editor.status.text() == "Saved", timeout=5000)
    panel.search.query.setText("hermana")
    assert len(panel.search.metas()) == 2
    assert any(m.startswith("Current contact · ") for m in panel.search.metas())
    rows = {
        panel.search.results.item(i).data(Qt.ItemDataRole.UserRole): panel.search.results.item(i)
        for i in range(panel.search.results.count())
    }
    panel.search.results.itemActivated.emit(rows["call-1"])
    assert editor.viewing_earlier and editor.status.text() == ""
    editor.back.click()
    assert editor.contact_id == "call-2" and not editor.editor.isReadOnly()
    assert editor.editor.toPlainText() == "Su hermana esta con ella"
    panel.search.results.itemActivated.emit(rows["call-2"])  # the current contact's own note
    assert not editor.viewing_earlier and not editor.editor.isReadOnly()
    # between calls every note opened from the search is read-only, and can be closed
    panel.show_contact(None)
    panel.search.results.itemActivated.emit(rows["call-1"])
    assert editor.editor.isReadOnly() and editor.back.text() == "Close this note"
    assert editor.heading.property("role") == "warning"
    editor.back.click()
    assert editor.contact_id is None and editor.editor.toPlainText() == ""
    assert not editor.heading.isVisible()


def test_locking_closes_an_earlier_note(qtbot, earlier):
    from console.store_views import StorePanel

    panel = StorePanel(earlier, EventBridge(earlier.bus))
    qtbot.addWidget(panel)
    panel.show_contact("call-2")
    panel.editor.open_earlier("call-1")
    earlier.lock()
    qtbot.waitUntil(lambda: panel.editor.status.text() == "Locked", timeout=5000)
    assert panel.editor.contact_id == "call-2" and panel.editor.editor.toPlainText() == ""
    earlier.unlock(PASS)
    qtbot.waitUntil(lambda: panel.currentIndex() == 1, timeout=5000)
    assert panel.editor.contact_id == "call-2" and not panel.editor.editor.isReadOnly()


def test_every_notes_control_has_an_accessible_name(qtbot, store):
    from console.store_views import StorePanel

    panel = StorePanel(store, EventBridge(store.bus))
    qtbot.addWidget(panel)
    for w in (
        panel.editor.editor,
        panel.editor.back,
        panel.search.query,
        panel.search.results,
        panel.unlock_screen.passphrase,
    ):
        assert w.accessibleName(), w.objectName()
