"""The roster editor and the coverage line it gives the supervisor board (offscreen, no
broker: the agent publishes into its outbox; tests/escalation/test_roster_link.py covers
the link)."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate, QTime

from console.roster_editor import RosterEditor
from escalation import roster_link as rl
from escalation import statuses
from escalation.roster import COUNSELOR, SUPERVISOR, Shift
from tests.console.test_layout_languages import _check_fits
from tests.console.test_supervisor_window import _connected, _presence, _window


def _fill(editor: RosterEditor, person: str, role: str, start_h: int, end_h: int, on_call=False):
    now = editor.agent.clock.now().astimezone()
    editor.person.setCurrentText(person)
    editor.role.setCurrentIndex(0 if role == COUNSELOR else 1)
    editor.day.setDate(QDate(now.year, now.month, now.day))
    editor.start.setTime(QTime(start_h, 0))
    editor.end.setTime(QTime(end_h, 0))
    editor.on_call.setChecked(on_call)
    editor.add_from_form()


def test_a_roster_is_edited_checked_published_and_drives_the_coverage_line(
    qtbot, tmp_path, fake_clock
):
    session, window = _window(qtbot, tmp_path, fake_clock)
    _connected(window)
    fake_clock.advance(window.presence_grace_s + 1)
    window.refresh()
    assert "minimum" in window.coverage.text()  # no roster yet: the fixed minimum
    window.roster_button.click()
    editor = window.roster_editor
    qtbot.addWidget(editor)
    assert not editor.shifts and editor.publish_button.isEnabled()
    _fill(editor, "c-alba", COUNSELOR, 8, 16)
    # no on-call supervisor in those hours: a gap to know about, not a blocker
    assert [p.kind for p in editor.found] == ["no_on_call"]
    assert editor.problems.item(0).text().startswith("⚠ No on-call supervisor")
    _fill(editor, "sup-ana", SUPERVISOR, 8, 16, on_call=True)
    assert not editor.found
    # Alba twice at once: red, and Publish refuses
    _fill(editor, "c-alba", COUNSELOR, 10, 12)
    assert [p.kind for p in editor.found] == ["overlap"]
    assert editor.problems.item(0).text().startswith("Must fix: c-alba")
    assert not editor.publish_button.isEnabled()
    editor.table.selectRow(next(i for i, s in enumerate(editor.shifts) if s.end.hour == 12))
    editor.remove_selected()
    assert not editor.found and editor.publish_button.isEnabled()
    # a night shift: an end before the start is the next morning
    _fill(editor, "c-beto", COUNSELOR, 22, 6)
    night = [s for s in editor.shifts if s.person == "c-beto"][0]
    assert night.end - night.start == dt.timedelta(hours=8)
    # a bad identity is said, never added
    editor.person.setCurrentText("Ana López")
    editor.add_from_form()
    assert "identity" in editor.message.text() and len(editor.shifts) == 3
    editor.publish()
    assert editor.published == 1 and "Version 1 published" in editor.message.text()
    agent = window.agent
    assert agent.roster.current.roster.version == 1
    assert agent.outbox.pending(rl.OUTBOX_KIND)  # waiting for the broker
    # the board now counts against the roster's hour: Alba on a call, Ana connected
    agent.roster.supervisor_presence(
        "sup-ana", rl.m.Presence("sup-ana", statuses.AVAILABLE, fake_clock.now())
    )
    _presence(window, fake_clock, "c-alba", statuses.ON_CALL)
    window.refresh()
    assert window.coverage.text().startswith("⚠ Coverage short: 0 available · 1 on a call or chat")
    assert "on call: sup-ana" in window.coverage.text()
    assert window.coverage.property("role") == "warning" and not window.coverage_alarm
    _presence(window, fake_clock, "c-alba", statuses.OFFLINE)
    window.refresh()
    assert window.coverage.text().startswith("⚠ Nobody can answer now")
    assert window.coverage.property("role") == "danger" and window.coverage_alarm
    qtbot.waitUntil(lambda: "Coverage: nobody can answer now" in window.notifications)
    window.refresh()
    qtbot.wait(50)
    assert window.notifications.count("Coverage: nobody can answer now") == 1  # no fatigue
    editor.close()
    window.close()
    session.stop()


def test_a_roster_published_meanwhile_is_never_overwritten_unseen(qtbot, tmp_path, fake_clock):
    session, window = _window(qtbot, tmp_path, fake_clock)
    agent = window.agent
    editor = RosterEditor(agent)
    qtbot.addWidget(editor)
    _fill(editor, "c-alba", COUNSELOR, 8, 16)
    now = fake_clock.now()
    theirs = rl.Published(
        "their-id",
        rl.Roster(1, (Shift("c-caro", COUNSELOR, now, now + dt.timedelta(hours=4)),)),
        "sup-ben",
        now,
        0,
    )
    agent.roster.load(rl.encode(theirs))  # Ben published while this editor was open
    editor.publish()
    assert agent.roster.current.id == "their-id"
    assert "Another supervisor published version 1" in editor.message.text()
    assert [s.person for s in editor.shifts] == ["c-alba"]  # nothing lost here
    editor.publish()  # deliberately over theirs
    assert agent.roster.current.roster.version == 2
    assert [s.person for s in agent.roster.roster().shifts] == ["c-alba"]
    editor.close()
    window.close()
    session.stop()


def test_the_roster_editor_fits_1024x600(qtbot, tmp_path, fake_clock, language, artifacts_dir):
    session, window = _window(qtbot, tmp_path, fake_clock, **{"ui.language": language})
    editor = RosterEditor(window.agent)
    qtbot.addWidget(editor)
    _fill(editor, "c-alba", COUNSELOR, 8, 16)
    _fill(editor, "c-alba", COUNSELOR, 10, 12)
    _fill(editor, "sup-ana", SUPERVISOR, 6, 18, on_call=True)
    _fill(editor, "c-beto-largo-nombre", COUNSELOR, 22, 6)
    editor.resize(1024, 600)
    editor.show()
    qtbot.waitExposed(editor)
    _check_fits(editor, (1024, 600))
    assert editor.grab().save(str(artifacts_dir / f"roster-{language}-1024x600.png"))
    editor.close()
    window.close()
    session.stop()
