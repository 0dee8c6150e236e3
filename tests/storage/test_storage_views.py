"""The store widgets, offscreen with pytest-qt, on a real store."""

from __future__ import annotations

import pytest

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
