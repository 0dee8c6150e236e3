"""Follow-ups in the console: the wrap-up's scheduler and the queue, on a real SQLCipher
store with a FakeClock. Due and overdue in words, the most overdue first, attempts recorded
from the keyboard and rescheduled, the reminder when one becomes due (also one that fell due
while the laptop was off), the number to call back only in the selected follow-up's detail
and nothing on screen while the store is locked; both fit the 340 px columns."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from calls.model import Call, CallState
from console.bridge import EventBridge
from console.follow_ups import (
    OUTCOME_LABELS,
    TICK_MS,
    FollowUpQueue,
    FollowUpScheduler,
    OutcomeDialog,
)
from console.theme import apply_theme
from core.config import Config
from core.privacy import Personal
from storage.errors import StoreWriteFailed
from storage.records import FOLLOW_UP_OUTCOMES
from storage.service import StoreService
from tests.console.test_accessibility import _unnamed
from tests.console.test_counselor_flow import settle
from tests.console.test_layout_languages import _check_fits
from tests.console.test_layout_languages import _window as _window_in
from tests.support.storage_helpers import FAST, PASS

NUMBER = "+52 55 5555 0177"
H = dt.timedelta(hours=1)


@pytest.fixture
def make_store(paths, fake_clock, bus):
    made: list[StoreService] = []

    def make(**options) -> StoreService:
        svc = StoreService(Config(dict(FAST, **options)), fake_clock, bus, paths.data_dir)
        made.append(svc)
        if svc.is_initialised():
            svc.unlock(PASS)
        else:
            svc.init(PASS)
        return svc

    yield make
    for svc in made:
        svc.stop()


@pytest.fixture
def store(make_store):
    return make_store()


@pytest.fixture
def bridge(bus, qtbot):
    return EventBridge(bus)


def _call(store, fake_clock, contact_id: str, number: str = NUMBER) -> None:
    call = Call(contact_id, "phone", Personal(number), fake_clock.now(), fake_clock.monotonic())
    cs = store.vault.store
    cs.writer.call(lambda db: cs.record_call_in(db, call, {}))


def _queue(qtbot, store, fake_clock, bridge) -> FollowUpQueue:
    queue = FollowUpQueue(store, fake_clock, bridge)
    qtbot.addWidget(queue)
    queue.resize(320, 460)
    queue.show()
    qtbot.waitExposed(queue)
    return queue


def _rows(queue: FollowUpQueue) -> list[str]:
    return [
        str(queue.list.item(i).data(Qt.ItemDataRole.AccessibleTextRole))
        for i in range(queue.list.count())
    ]


def _texts(root: QWidget) -> str:
    return "\n".join(w.text() for w in root.findChildren(QLabel)) + "\n".join(_rows_of(root))


def _rows_of(root: QWidget) -> list[str]:
    return _rows(root) if isinstance(root, FollowUpQueue) else []


# -- the scheduler ---------------------------------------------------------------------------
def test_the_scheduler_suggests_defaults_and_follows_the_counselor(
    qtbot, store, fake_clock, config
):
    s = FollowUpScheduler(store, config, fake_clock)
    qtbot.addWidget(s)
    s.show()
    assert not s.enabled.isChecked() and not s.details.isVisible()
    assert s.hours.value() == 24 and s.attempts.value() == 3  # the clinical.* defaults
    assert s.due_at() == fake_clock.now() + 24 * H
    s.set_suggested(True)  # a high-risk assessment
    assert s.enabled.isChecked() and s.details.isVisible()
    assert s.enabled.accessibleName() == "Follow up with this caller (suggested)"
    assert s.hint.isVisible() and s.hint.text() == "Suggested"
    assert s.attempts.text() == "3" and s.hours.text() == "in 24 h"
    qtbot.mouseClick(s.enabled, Qt.MouseButton.LeftButton)  # the counselor says no
    assert not s.enabled.isChecked()
    s.set_suggested(True)  # a second suggestion does not overrule the counselor
    assert not s.enabled.isChecked()
    s.reset()
    s.set_suggested(False)
    assert not s.enabled.isChecked() and not s.hint.isVisible()
    assert s.enabled.accessibleName() == "Follow up with this caller"
    # hours from now, or a date: either field follows the other
    s.enabled.setChecked(True)
    s.hours.setValue(36)
    assert s.due_at() == fake_clock.now() + 36 * H
    shown = dt.datetime.fromtimestamp(s.when.dateTime().toSecsSinceEpoch(), dt.UTC)
    assert shown == fake_clock.now() + 36 * H
    fake_clock.advance(600)  # hours stay relative to when it is scheduled
    assert s.due_at() == fake_clock.now() + 36 * H
    chosen = fake_clock.now() + 47 * H
    s.when.setDateTime(QDateTime.fromSecsSinceEpoch(int(chosen.timestamp())))
    assert s.due_at() == chosen and s.hours.value() == 47


def test_schedule_writes_the_follow_up_and_starts_the_next_contact_afresh(
    qtbot, store, fake_clock, config
):
    s = FollowUpScheduler(store, config, fake_clock)
    qtbot.addWidget(s)
    assert s.schedule("c0") is None  # not ticked: nothing written
    assert store.follow_ups() == []
    s.show_contact("c1")
    s.set_suggested(True)
    s.attempts.setValue(5)
    with qtbot.waitSignal(s.scheduled) as sig:
        fid = s.schedule("c1")
    assert sig.args == [fid]
    f = store.follow_ups(follow_up_id=fid)[0]
    assert (f.contact_id, f.max_attempts, f.attempts, f.done) == ("c1", 5, 0, False)
    assert f.due == fake_clock.now() + 24 * H
    assert not s.enabled.isChecked() and s.attempts.value() == 3  # reset for the next one


def test_a_follow_up_asked_for_while_locked_is_written_at_unlock(
    qtbot, store, fake_clock, config, bridge
):
    s = FollowUpScheduler(store, config, fake_clock, bridge)
    qtbot.addWidget(s)
    store.lock()
    s.enabled.setChecked(True)
    assert s.schedule("c1") is None and s.pending == 1
    with qtbot.waitSignal(s.scheduled, timeout=3000):
        store.unlock(PASS)
    assert s.pending == 0
    [f] = store.follow_ups()
    assert f.contact_id == "c1" and f.due == fake_clock.now() + 24 * H


def test_a_failed_write_is_said(qtbot, store, fake_clock, config, monkeypatch):
    s = FollowUpScheduler(store, config, fake_clock)
    qtbot.addWidget(s)
    s.enabled.setChecked(True)

    def disk_full(*_args):
        raise StoreWriteFailed("The disk is full.")

    monkeypatch.setattr(store, "add_follow_up", disk_full)
    with qtbot.waitSignal(s.failed) as sig:
        assert s.schedule("c1") is None
    assert "could not be saved" in sig.args[0] and "disk is full" in sig.args[0]


@pytest.mark.parametrize("checked", [False, True])
def test_the_scheduler_fits_the_wrap_up_box(
    qtbot, store, fake_clock, config, language, theme_name, checked
):
    s = FollowUpScheduler(store, config, fake_clock)
    qtbot.addWidget(s)
    s.show()
    s.set_suggested(checked)
    QApplication.processEvents()
    assert s.minimumSizeHint().width() <= 320, s.minimumSizeHint()
    assert s.minimumSizeHint().height() <= (80 if checked else 30), s.minimumSizeHint()
    assert not _unnamed(s), _unnamed(s)


# -- the queue -------------------------------------------------------------------------------
def test_the_queue_puts_the_overdue_first_and_says_it_in_words(qtbot, store, fake_clock, bridge):
    now = fake_clock.now()
    later = store.add_follow_up("c1", now + 50 * H, max_attempts=3)
    soon = store.add_follow_up("c2", now + 5 * H + dt.timedelta(minutes=1), max_attempts=4)
    overdue = store.add_follow_up("c3", now - 3 * H, max_attempts=3)
    queue = _queue(qtbot, store, fake_clock, bridge)
    rows = _rows(queue)
    assert [queue.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(3)] == [
        overdue,
        soon,
        later,
    ]
    assert rows[0].startswith("Overdue by 3 hours.") and "0 of 3 attempts made" in rows[0]
    assert rows[1].startswith("Due in 5 hours.") and "0 of 4 attempts made" in rows[1]
    assert rows[2].startswith("Due in 2 days.")
    assert queue.summary.text() == "1 follow-up is due."
    assert queue.summary.property("role") == "warning"  # colour says it too, never alone
    first = queue.list.itemWidget(queue.list.item(0))
    assert first.status.property("role") == "warning"
    assert queue.list.currentRow() == 0 and queue.record_button.isEnabled()


def test_none_waiting(qtbot, store, fake_clock, bridge):
    queue = _queue(qtbot, store, fake_clock, bridge)
    assert queue.summary.text() == "No follow-ups waiting."
    assert not queue.record_button.isEnabled() and queue.list.count() == 0


def test_one_due_while_the_laptop_was_off_is_overdue_at_start(
    qtbot, make_store, fake_clock, bridge
):
    first = make_store()
    fid = first.add_follow_up("c1", fake_clock.now() + 24 * H, max_attempts=3)
    first.stop()  # the laptop is off for 30 hours
    fake_clock.advance(30 * 3600)
    store = StoreService(Config(FAST), fake_clock, first.bus, first.data_dir)
    try:
        queue = FollowUpQueue(store, fake_clock, bridge)  # at start the store is locked
        qtbot.addWidget(queue)
        assert queue.list.count() == 0
        with qtbot.waitSignal(queue.due, timeout=3000) as sig:
            store.unlock(PASS)
        assert sig.args == [1]
        assert queue.items[0].id == fid
        assert _rows(queue)[0].startswith("Overdue by 6 hours.")
    finally:
        store.stop()


def test_a_reminder_when_one_becomes_due_by_the_injected_clock(qtbot, store, fake_clock, bridge):
    store.add_follow_up("c1", fake_clock.now() + 90 * dt.timedelta(minutes=1), max_attempts=3)
    queue = _queue(qtbot, store, fake_clock, bridge)
    assert queue.timer.isActive() and queue.timer.interval() == TICK_MS == 60_000
    said: list[int] = []
    queue.due.connect(said.append)
    fake_clock.advance(3600)
    queue.tick()
    assert said == [] and _rows(queue)[0].startswith("Due in 30 minutes.")
    fake_clock.advance(30 * 60)
    queue.tick()
    assert said == [1] and _rows(queue)[0].startswith("Due now.")
    store.add_follow_up("c2", fake_clock.now() - H, max_attempts=3)
    queue.reload()  # as the scheduler's `scheduled` signal does
    assert said == [1, 2]
    fake_clock.advance(120)
    queue.tick()  # nothing new is due: no second reminder
    assert said == [1, 2]
    assert _rows(queue)[1].startswith("Overdue by 2 minutes.")


def test_an_attempt_is_recorded_from_the_keyboard_and_rescheduled(qtbot, store, fake_clock, bridge):
    fid = store.add_follow_up("c1", fake_clock.now() - H, max_attempts=2)
    queue = _queue(qtbot, store, fake_clock, bridge)
    queue.list.setFocus()
    qtbot.waitUntil(queue.list.hasFocus, timeout=2000)
    qtbot.keyClick(queue.list, Qt.Key.Key_Return)  # Enter records an attempt
    qtbot.waitUntil(lambda: queue.dialog is not None and queue.dialog.isVisible(), timeout=2000)
    dialog = queue.dialog
    assert isinstance(dialog, OutcomeDialog)
    assert [dialog.outcomes.item(i).text() for i in range(dialog.outcomes.count())] == list(
        OUTCOME_LABELS.values()
    )
    assert not _unnamed(dialog), _unnamed(dialog)
    qtbot.keyClick(dialog.outcomes, Qt.Key.Key_Down)  # no answer
    qtbot.keyClick(dialog.outcomes, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: queue.dialog is None, timeout=2000)
    f = store.follow_ups(follow_up_id=fid)[0]
    assert (f.attempts, f.outcome, f.done) == (1, "no_answer", False)
    assert f.due == fake_clock.now() + 4 * H  # clinical.follow_up_retry_h
    row = _rows(queue)[0]
    assert row.startswith("Due in 4 hours.") and "1 of 2 attempts made" in row
    assert "Last attempt: No answer" in row
    assert queue.notice.text().startswith("Attempt recorded. The next one is due")
    assert queue.notice.property("role") == "ok"
    assert "Last attempt: No answer" in queue.detail.text()
    # the notice goes at a tick after a while
    fake_clock.advance(40)
    queue.tick()
    assert not queue.notice.isVisible()
    # Escape cancels: nothing recorded
    queue.list.setFocus()
    qtbot.keyClick(queue.list, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: queue.dialog is not None and queue.dialog.isVisible(), timeout=2000)
    qtbot.keyClick(queue.dialog.outcomes, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: queue.dialog is None, timeout=2000)
    assert store.follow_ups(follow_up_id=fid)[0].attempts == 1
    # the last attempt, unreached, closes it and says so
    assert queue.record(fid, "voicemail").done
    assert queue.list.count() == 0 and "closed without reaching" in queue.notice.text()
    assert queue.notice.property("role") == "warning"


@pytest.mark.parametrize("outcome", ["reached", "declined", "wrong_number"])
def test_outcomes_that_close_a_follow_up(qtbot, store, fake_clock, bridge, outcome):
    fid = store.add_follow_up("c1", fake_clock.now(), max_attempts=3)
    queue = _queue(qtbot, store, fake_clock, bridge)
    assert queue.record(fid, outcome).done
    assert queue.list.count() == 0
    assert queue.notice.text() == f"Follow-up closed: {OUTCOME_LABELS[outcome]}."


def test_the_number_is_only_in_the_selected_detail_and_gone_while_locked(
    qtbot, store, fake_clock, bridge, caplog, artifacts_dir
):
    caplog.set_level(logging.DEBUG)
    _call(store, fake_clock, "c1")
    _call(store, fake_clock, "c2", "+52 33 4444 0100")
    store.add_follow_up("c1", fake_clock.now() - H, max_attempts=3)
    store.add_follow_up("c2", fake_clock.now() + H, max_attempts=3)
    queue = _queue(qtbot, store, fake_clock, bridge)
    assert not any(NUMBER in r or "4444" in r for r in _rows(queue))  # never in the rows
    assert f"Call back: {NUMBER}" in queue.detail.text()
    assert "Call of " in queue.detail.text()
    qtbot.keyClick(queue.list, Qt.Key.Key_Down)  # the arrows move the selection
    assert "Call back: +52 33 4444 0100" in queue.detail.text()
    assert NUMBER not in queue.detail.text()
    assert queue.grab().save(str(artifacts_dir / "queue-with-number.png"))
    store.lock()
    qtbot.waitUntil(lambda: queue.list.count() == 0, timeout=3000)
    assert NUMBER not in _texts(queue) and "4444" not in _texts(queue)
    assert queue.items == [] and not queue.record_button.isEnabled()
    store.unlock(PASS)
    qtbot.waitUntil(lambda: queue.list.count() == 2, timeout=3000)
    assert NUMBER in queue.detail.text()
    assert NUMBER not in caplog.text and "4444" not in caplog.text


def test_a_locked_store_closes_the_outcome_dialog(qtbot, store, fake_clock, bridge):
    fid = store.add_follow_up("c1", fake_clock.now(), max_attempts=3)
    queue = _queue(qtbot, store, fake_clock, bridge)
    queue.record_attempt()
    assert queue.dialog is not None
    store.lock()
    qtbot.waitUntil(lambda: queue.dialog is None, timeout=3000)
    store.unlock(PASS)
    assert store.follow_ups(follow_up_id=fid)[0].attempts == 0


def test_every_outcome_has_a_label():
    assert tuple(OUTCOME_LABELS) == FOLLOW_UP_OUTCOMES


# -- in the window, at 1024x600, both languages ----------------------------------------------
@pytest.fixture(params=["light", "night"])
def theme_name(request):
    app = QApplication.instance()
    apply_theme(app, request.param)
    yield request.param
    apply_theme(app, "light")


def test_both_fit_the_window_in_each_language(
    qtbot, language, theme_name, paths, fake_clock, artifacts_dir
):
    session, window = _window_in(qtbot, paths, fake_clock, language)  # ui.language chosen
    window.resize(1024, 600)
    window.show()
    qtbot.waitExposed(window)
    session.start()
    try:
        store = session.service("store")
        store.add_follow_up("c-earlier", fake_clock.now() - 26 * H, max_attempts=3)
        store.add_follow_up("c-other", fake_clock.now() + 20 * H, max_attempts=5)
        queue = window.follow_up_queue  # as the window places them
        queue.reload()
        scheduler = window.follow_up_scheduler
        assert not _unnamed(window), _unnamed(window)
        settle(qtbot, window, CallState.AVAILABLE)
        qtbot.wait(100)  # the side column's layout settles before the screenshot
        _check_fits(window, (1024, 600))
        assert window.grab().save(
            str(artifacts_dir / f"window-available-{language}-{theme_name}.png")
        )
        fake_clock.advance(3.0)
        settle(qtbot, window, CallState.RINGING)
        qtbot.keyClick(window.notes, Qt.Key.Key_F5)
        settle(qtbot, window, CallState.ON_CALL)
        qtbot.keyClick(window.notes, Qt.Key.Key_F8)
        settle(qtbot, window, CallState.WRAP_UP)
        scheduler.set_suggested(True)
        QApplication.processEvents()
        _check_fits(window, (1024, 600))
        assert window.grab().save(
            str(artifacts_dir / f"window-wrap-up-{language}-{theme_name}.png")
        )
        assert queue.grab().save(str(artifacts_dir / f"queue-{language}-{theme_name}.png"))
        assert scheduler.grab().save(str(artifacts_dir / f"scheduler-{language}-{theme_name}.png"))
        queue.record_attempt()
        qtbot.waitUntil(lambda: queue.dialog is not None and queue.dialog.isVisible())
        assert not _unnamed(queue.dialog)
        assert queue.dialog.grab().save(str(artifacts_dir / f"outcome-{language}-{theme_name}.png"))
        queue.dialog.reject()
    finally:
        session.stop()
