"""The imminent-risk rescue panel: a keyboard-first checklist on a real encrypted store and
the injected clock; the dispatch-confirmation reminder; opening itself on an imminent risk
assessment; fitting the counselor window's contact area at 1024x600 in both languages."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QWidget,
)

from app.session import Session
from calls.model import Call
from console.bridge import EventBridge
from console.rescue_panel import SECTIONS, RescuePanel, with_mnemonic
from core.config import Config
from core.privacy import Personal
from storage.records import RESCUE_LOCATION, RESCUE_OVERDUE, RESCUE_STEPS, RiskAssessment
from tests.console.test_counselor_flow import PASSPHRASE, settle
from tests.support.storage_helpers import ring
from tests.support.toolkit import Recorder

NUMBER = "+52 55 5555 0101"
LOCATION = "Calle Lerma 112, depto 4, frente a la farmacia"
IMMINENT = RiskAssessment(
    desire=frozenset({"hopelessness"}),
    capability=frozenset({"lethal_means"}),
    intent=frozenset({"plan_with_known_method"}),
)


def _store_session(paths, fake_clock) -> Session:
    """A started session with only a real store (FakeClock), a 15-minute confirmation."""
    cfg = Config(
        {
            "calls.backend": "companion",
            "storage.unlock_target_ms": 1,
            "security.lock_idle_minutes": 0,
            "clinical.dispatch_confirm_min": 15.0,
        }
    )
    session = Session(cfg, paths=paths, clock=fake_clock, services=("storage.service",))
    session.service("store").init(PASSPHRASE)
    session.start()
    return session


@pytest.fixture
def rig(qtbot, paths, fake_clock):
    """A panel on a session with a real store (FakeClock), showing call "c1"."""
    session = _store_session(paths, fake_clock)
    panel = RescuePanel(session, EventBridge(session.bus))
    qtbot.addWidget(panel)
    panel.resize(520, 560)
    panel.show()
    call = Call("c1", "phone", Personal(NUMBER), fake_clock.now(), fake_clock.monotonic())
    panel.show_contact("c1", call)
    yield session, panel
    panel.close()
    session.stop()


def _codes(session, contact="c1"):
    return [s.step for s in session.service("store").rescue_steps(contact)]


def test_each_press_is_recorded_with_its_time_from_the_injected_clock(qtbot, rig, fake_clock):
    session, panel = rig
    rec = Recorder(session.bus)
    panel.focus_first()
    assert panel.buttons["engaged"].hasFocus()
    qtbot.keyClick(panel.buttons["engaged"], Qt.Key.Key_Space)  # keyboard first
    fake_clock.advance(60)
    qtbot.keyClick(panel.buttons["engaged"], Qt.Key.Key_Tab)
    focused = QApplication.focusWidget()
    assert focused is panel.buttons["least_invasive"]
    qtbot.keyClick(focused, Qt.Key.Key_Space)
    steps = session.service("store").rescue_steps("c1")
    assert [s.step for s in steps] == ["engaged", "least_invasive"]
    assert steps[1].time - steps[0].time == dt.timedelta(seconds=60)
    assert steps[0].time == fake_clock.now() - dt.timedelta(seconds=60)
    assert panel.times["engaged"].text().startswith("✓ ")
    assert panel.history.count() == 2
    assert "Least invasive intervention tried" in panel.history.item(1).text()
    assert [e.step for e in rec.of(type(rec.events[0]))] == ["engaged", "least_invasive"]


def test_location_is_recorded_and_copied_with_the_number_and_never_logged(qtbot, rig, caplog):
    session, panel = rig
    caplog.set_level(logging.DEBUG)
    assert NUMBER in panel.number.text()  # the caller id at hand
    panel.buttons[RESCUE_LOCATION].click()  # nothing typed yet: says so, records nothing
    assert _codes(session) == [] and panel.status.property("role") == "warning"
    qtbot.keyClicks(panel.location, LOCATION)
    panel.buttons[RESCUE_LOCATION].click()
    stored = session.service("store").rescue_steps("c1")
    assert [(s.step, s.detail) for s in stored] == [(RESCUE_LOCATION, LOCATION)]
    text = panel.copy_for_services()
    assert QApplication.clipboard().text() == text
    assert NUMBER in text and LOCATION in text
    assert "Lerma" not in caplog.text and "5555" not in caplog.text
    assert all("Lerma" not in panel.history.item(i).text() for i in range(panel.history.count()))
    # the contact leaves the panel: so does what it put on the clipboard
    panel.show_contact(None, None)
    assert QApplication.clipboard().text() == ""
    assert panel.location.toPlainText() == ""


def test_dispatch_starts_a_timer_whose_reminder_stays_until_acted_on(qtbot, rig, fake_clock):
    session, panel = rig
    opened: list[bool] = []
    panel.wants_attention.connect(lambda: opened.append(True))
    panel.buttons["services_called"].click()
    panel.buttons["dispatched"].click()
    panel.tick()
    assert "15:00 left" in panel.timer_line.text()
    fake_clock.advance(14 * 60)
    panel.tick()
    assert "01:00 left" in panel.timer_line.text() and not panel.prompt.isVisible()
    fake_clock.advance(60)
    panel.tick()
    assert panel.prompt.isVisible() and panel.recall.isVisible()
    assert "15 min" in panel.prompt.text() and panel.prompt.property("role") == "danger"
    assert _codes(session)[-1] == RESCUE_OVERDUE and opened == [True]
    for _ in range(3):  # it stays, and it is recorded (and asks for attention) once
        fake_clock.advance(120)
        panel.tick()
    assert panel.prompt.isVisible() and _codes(session).count(RESCUE_OVERDUE) == 1
    assert opened == [True]
    panel.focus_first()
    assert panel.recall.hasFocus()  # the key brings the counselor to the reminder
    qtbot.keyClick(panel.recall, Qt.Key.Key_Space)  # called them back: the wait starts afresh
    assert not panel.prompt.isVisible() and "15:00 left" in panel.timer_line.text()
    fake_clock.advance(5 * 60)
    panel.buttons["arrival_confirmed"].click()  # confirming stops it
    fake_clock.advance(60 * 60)
    panel.tick()
    assert not panel.prompt.isVisible() and _codes(session).count(RESCUE_OVERDUE) == 1
    assert "starts when" in panel.timer_line.text()


def test_a_waiting_rescue_stays_after_the_call_until_another_contact(rig, fake_clock):
    session, panel = rig
    panel.buttons["dispatched"].click()
    panel.show_contact(None, None)  # the caller hung up; the wait goes on
    assert panel.contact_id == "c1" and panel.wait_state()[0] is not None
    fake_clock.advance(16 * 60)
    panel.tick()
    assert panel.prompt.isVisible() and _codes(session)[-1] == RESCUE_OVERDUE
    call = Call("c2", "phone", Personal("+52 55 1111 2222"), fake_clock.now(), 0.0)
    panel.show_contact("c2", call)  # another contact: a fresh checklist (the store keeps c1's)
    assert panel.history.count() == 0 and not panel.prompt.isVisible()


def test_a_locked_store_still_shows_the_reminder(rig, fake_clock):
    session, panel = rig
    panel.buttons["dispatched"].click()
    session.service("store").lock()
    fake_clock.advance(16 * 60)
    panel.tick()
    assert panel.prompt.isVisible()  # shown though it could not be saved
    assert panel.status.property("role") == "warning"
    session.service("store").unlock(PASSPHRASE)
    panel.tick()  # saved at the next tick
    assert _codes(session)[-1] == RESCUE_OVERDUE and panel.prompt.isVisible()


def test_a_console_restarted_mid_rescue_brings_it_back_and_the_timer_goes_on(
    qtbot, paths, fake_clock
):
    """The console closes (or crashes) after the dispatch: the next panel on the store finds
    the rescue still waiting, with its steps, location and number, and prompts once the
    confirmation time recorded before the restart runs out."""
    session = _store_session(paths, fake_clock)
    store = session.service("store")
    try:
        ring(store, "old", "+52 55 9999 0000", fake_clock.now() - dt.timedelta(hours=20))
        store.add_rescue_step("old", "dispatched", fake_clock.now() - dt.timedelta(hours=20))
        ring(store, "done", "+52 55 8888 0000")
        store.add_rescue_step("done", "dispatched")
        store.add_rescue_step("done", "arrival_confirmed")
        ring(store, "c1", NUMBER)
        store.add_rescue_step("c1", RESCUE_LOCATION, detail=LOCATION)
        store.add_rescue_step("c1", "dispatched")
        assert store.waiting_rescues(fake_clock.now() - dt.timedelta(hours=12)) == ["c1"]
        fake_clock.advance(5 * 60)  # the console is restarted five minutes later
        panel = RescuePanel(session, EventBridge(session.bus))
        qtbot.addWidget(panel)
        panel.resize(520, 560)
        panel.show()
        opened: list[bool] = []
        panel.wants_attention.connect(lambda: opened.append(True))
        qtbot.waitUntil(lambda: panel.contact_id == "c1", timeout=3000)  # once shown
        assert opened == [True]  # it asks to be brought up
        assert not panel.restore()  # a second call changes nothing
        assert panel.history.count() == 2
        assert panel.location.toPlainText() == LOCATION
        assert "restart" in panel.status.text()
        assert NUMBER in panel.number.text() and NUMBER in panel.copy_for_services()
        panel.tick()
        assert "10:00 left" in panel.timer_line.text() and not panel.prompt.isVisible()
        panel.show_contact(None, None)  # the window's first call state keeps it
        assert panel.contact_id == "c1"
        fake_clock.advance(10 * 60)
        panel.tick()
        assert panel.prompt.isVisible() and _codes(session)[-1] == RESCUE_OVERDUE
        assert opened == [True, True]  # the reminder asks for attention again
        panel.close()
    finally:
        session.stop()


def test_a_locked_console_brings_the_rescue_back_at_unlock(qtbot, paths, fake_clock):
    session = _store_session(paths, fake_clock)
    store = session.service("store")
    try:
        ring(store, "c1", NUMBER)
        store.add_rescue_step("c1", "dispatched")
        store.lock()
        panel = RescuePanel(session, EventBridge(session.bus))
        qtbot.addWidget(panel)
        assert panel.contact_id is None  # nothing can be read while locked
        store.unlock(PASSPHRASE)
        qtbot.waitUntil(lambda: panel.contact_id == "c1", timeout=3000)
        panel.close()
    finally:
        session.stop()


def test_an_imminent_assessment_for_this_contact_opens_the_panel(qtbot, rig):
    session, panel = rig
    store = session.service("store")
    called: list[bool] = []
    panel._on_attention = lambda: called.append(True)
    with qtbot.assertNotEmitted(panel.wants_attention, wait=100):
        store.add_risk_assessment("c1", RiskAssessment(desire=frozenset({"hopelessness"})))
    with qtbot.assertNotEmitted(panel.wants_attention, wait=100):
        store.add_risk_assessment("other", IMMINENT)  # another contact's
    with qtbot.waitSignal(panel.wants_attention, timeout=2000):
        store.add_risk_assessment("c1", IMMINENT)
    assert called == [True]


def test_every_control_has_an_accessible_name_and_its_own_mnemonic(rig):
    _session, panel = rig
    controls = panel.findChildren(QAbstractButton) + panel.findChildren(QPlainTextEdit)
    controls += panel.findChildren(QListWidget)
    assert len(controls) >= len(RESCUE_STEPS) - 1
    for w in controls + [w for w in panel.findChildren(QLabel) if w.text()]:
        assert w.accessibleName() or w.objectName() == "", w.objectName()
    keys = [b.text().split("&")[1][0].lower() for b in panel.findChildren(QAbstractButton)]
    assert len(keys) == len(set(keys))
    assert with_mnemonic("Q&A", {"q"}) == "Q&&&A"
    # every step has a button, but the two the panel records itself (reminder, called again)
    shown = {c for _k, codes in SECTIONS for c in codes} | {RESCUE_LOCATION}
    assert set(RESCUE_STEPS) - shown == {RESCUE_OVERDUE, "services_recalled"}


def _no_horizontal_scroll(panel: RescuePanel) -> None:
    bar = panel.scroll_area.horizontalScrollBar()
    assert not bar.isVisible() and bar.maximum() == 0
    viewport = panel.scroll_area.viewport().width()
    body = panel.scroll_area.widget()
    assert body is not None
    for w in body.findChildren(QWidget):
        if w.isVisible():
            right = w.mapTo(body, w.rect().topRight()).x()
            assert right <= viewport + 1, w.objectName()


def test_fits_the_contact_area_at_1024x600(qtbot, paths, fake_clock, language, artifacts_dir):
    from tests.console.test_lock_and_messages import _window

    session, window = _window(
        qtbot, paths, fake_clock, **{"security.lock_idle_minutes": 0, "ui.language": language}
    )
    try:
        panel = window.rescue_panel  # the window's own tab (F4), raised on attention
        settle(qtbot, window, window_state("available"))
        fake_clock.advance(3.0)
        settle(qtbot, window, window_state("ringing"))
        qtbot.keyClick(window.notes, Qt.Key.Key_F5)
        settle(qtbot, window, window_state("on_call"))
        call_id = session.calls.call.id
        session.service("store").add_risk_assessment(call_id, IMMINENT)
        qtbot.waitUntil(lambda: window.contact_tabs.currentWidget() is panel, timeout=3000)
        panel.buttons["engaged"].click()
        panel.buttons["consent_refused"].click()
        qtbot.keyClicks(panel.location, LOCATION)
        panel.buttons[RESCUE_LOCATION].click()
        panel.buttons["services_called"].click()
        fake_clock.advance(60)
        panel.buttons["dispatched"].click()
        panel.tick()
        qtbot.wait(50)
        _no_horizontal_scroll(panel)
        assert window.grab().save(str(artifacts_dir / f"rescue-window-{language}.png"))
        fake_clock.advance(15 * 60)
        panel.tick()
        qtbot.wait(50)
        _no_horizontal_scroll(panel)
        assert panel.prompt.isVisible()
        panel.scroll_area.verticalScrollBar().setValue(0)
        assert window.grab().save(str(artifacts_dir / f"rescue-overdue-{language}.png"))
        assert panel.grab().save(str(artifacts_dir / f"rescue-panel-{language}.png"))
    finally:
        session.stop()


def window_state(name: str):
    from calls.model import CallState

    return CallState(name)
