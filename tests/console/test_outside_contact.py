"""Logging a contact made outside the system, from the real demo window (real store)."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import QAbstractButton, QComboBox, QPlainTextEdit, QSpinBox

from console.outside_contact import OutsideContactDialog, outside_channel_label
from tests.console.test_lock_and_messages import _window

NOTE = "Vino a la oficina con su mamá; quedamos en llamarle el jueves."


def test_log_a_contact_in_person_by_keyboard(qtbot, paths, fake_clock, artifacts_dir):
    session, window = _window(qtbot, paths, fake_clock)
    try:
        store = session.service("store")
        dialog = OutsideContactDialog.open_for(window)
        qtbot.waitExposed(dialog)
        logged = []
        dialog.logged.connect(logged.append)
        began = fake_clock.now() - dt.timedelta(hours=1)
        dialog.when.setDateTime(QDateTime.fromSecsSinceEpoch(int(began.timestamp())))
        dialog.kind.setCurrentIndex(dialog.kind.findData("in_person"))
        dialog.minutes.setValue(40)
        # saving without a disposition is refused in words, nothing lost
        dialog.note.setPlainText(NOTE)
        qtbot.keyClick(dialog.note, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        assert dialog.isVisible() and "Choose" in dialog.status.text()
        assert dialog.focusWidget() is dialog.disposition
        dialog.disposition.setCurrentIndex(dialog.disposition.findData("referred"))
        window.grab().save(str(artifacts_dir / "outside-contact.png"))
        qtbot.keyClick(dialog.note, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: bool(logged), timeout=3000)
        row = store.contact(logged[0])
        assert row["channel"] == "outside:in_person" and row["disposition"] == "referred"
        assert dt.datetime.fromisoformat(row["rung_at"]) == began.replace(microsecond=0)
        assert [h.contact_id for h in store.search("oficina")] == logged
        assert store.note_history(logged[0])[0].text == NOTE
        assert outside_channel_label(row["channel"]) == "Outside the system: In person"
    finally:
        session.stop()


def test_a_future_time_cannot_be_chosen_and_every_control_is_named(qtbot, paths, fake_clock):
    session, window = _window(qtbot, paths, fake_clock)
    try:
        dialog = OutsideContactDialog.open_for(window)
        qtbot.waitExposed(dialog)
        later = fake_clock.now() + dt.timedelta(days=1)
        dialog.when.setDateTime(QDateTime.fromSecsSinceEpoch(int(later.timestamp())))
        assert dialog._began() <= fake_clock.now()
        for kind in (QAbstractButton, QComboBox, QSpinBox, QPlainTextEdit):
            for w in dialog.findChildren(kind):
                if w.isVisible():
                    assert w.accessibleName(), w
        assert dialog.note.tabChangesFocus()
        qtbot.keyClick(dialog.note, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=2000)
        assert session.service("store").contacts() == []
    finally:
        session.stop()


def test_locked_store_refuses_and_keeps_the_note(qtbot, paths, fake_clock):
    session, window = _window(qtbot, paths, fake_clock)
    try:
        dialog = OutsideContactDialog(session, window)
        dialog.disposition.setCurrentIndex(dialog.disposition.findData("support_given"))
        dialog.note.setPlainText(NOTE)
        session.service("store").lock("user")
        dialog.save()
        assert "locked" in dialog.status.text()
        assert dialog.note.toPlainText() == NOTE
        assert dialog.status.property("role") == "danger"
    finally:
        session.stop()


def test_channel_words():
    assert outside_channel_label("phone") is None
    assert outside_channel_label("outside:phone") == "Outside the system: Another phone"
