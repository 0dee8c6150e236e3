"""Training mode on the trainee's console, offscreen: a practice call end to end, the banner,
the layout at 1024x600 in both languages, and the refusal of practice data in a view of
real records (docs/training.md)."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtWidgets import QApplication

from app.session import Session
from app.training import DebriefReady
from calls.model import Action, CallState, Command, Source
from console.commands.demo import demo_overrides
from console.main_window import MainWindow
from console.training import PracticeBanner, banner_text
from core.config import Config
from storage.practice import PracticeRecordsRefused, WrongStoreKind
from storage.records import RiskAssessment
from tests.console.test_layout_languages import _check_fits
from tests.support.toolkit import Recorder

PASSPHRASE = "correct horse battery staple 42"
pytestmark = pytest.mark.timeout(120)


def _training_window(qtbot, paths, clock, scenario: str = "attempt-in-progress-en", **extra):
    from core.i18n import current_language

    overrides = dict(
        demo_overrides("demo"),
        **{
            "storage.unlock_target_ms": 1,
            "ui.language": current_language(),
            "calls.training": True,
            "calls.training_scenario": scenario,
        },
    )
    overrides.update(extra)
    session = Session(Config(overrides), paths=paths, clock=clock)
    session.service("store").init(PASSPHRASE)
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.resize(1024, 600)
    window.show()
    qtbot.waitExposed(window)
    session.start()
    return session, window


def _ring_and_answer(qtbot, session, window, clock, after_s: float = 2.0):
    clock.advance(3.0)
    qtbot.waitUntil(lambda: session.calls.state is CallState.RINGING, timeout=5000)
    clock.advance(after_s)
    session.calls.handle(Command(Action.ANSWER, Source.UI))
    qtbot.waitUntil(lambda: window._view.state is CallState.ON_CALL, timeout=5000)


def test_a_practice_call_end_to_end(qtbot, paths, fake_clock, artifacts_dir):
    session, window = _training_window(qtbot, paths, fake_clock)
    events = Recorder(session.bus, DebriefReady)
    try:
        banner = window.menuWidget()
        assert isinstance(banner, PracticeBanner) and banner.isVisible()
        assert banner.text() == banner_text()
        assert window.windowTitle().startswith(banner_text())
        _ring_and_answer(qtbot, session, window, fake_clock)
        call = session.calls.call
        assert call is not None and call.practice  # marked where it is born
        # the caller's words as captions while they are said (8 s to 13 s of the script)
        fake_clock.advance(9.0)
        panel = window.training.panel
        qtbot.waitUntil(lambda: "pills" in panel.caption.text() and panel.caption.isVisible())
        # the trainee assesses imminent risk and escalates from the proposal's button
        store = session.service("store")
        store.add_risk_assessment(
            call.id, RiskAssessment(intent=frozenset({"attempt_in_progress"}))
        )
        fake_clock.advance(10.0)
        qtbot.waitUntil(lambda: window.urgent_button.isEnabled())
        window.urgent_button.click()
        store.add_rescue_step(call.id, "location", detail="Elm Street")
        store.add_rescue_step(call.id, "services_called")
        assert banner.isVisible()
        assert window.grab().save(str(artifacts_dir / "training-on-call.png"))
        fake_clock.advance(30.0)
        session.calls.handle(Command(Action.HANG_UP, Source.UI))
        qtbot.waitUntil(lambda: window._view.state is CallState.WRAP_UP)
        session.calls.handle(Command(Action.FINISH_WRAP_UP, Source.UI, disposition="support_given"))
        _t, ready = events.wait_event(DebriefReady, timeout=10)
        debrief = ready.debrief
        by_code = {c.code: c for c in debrief.checks}
        assert set(by_code) == {
            "answer", "assessment", "risk", "escalate", "escalate_time", "rescue"
        }  # fmt: skip
        assert all(c.met for c in debrief.checks), debrief.checks
        assert debrief.score == (6, 6)
        assert (debrief.answer_s, debrief.escalated, debrief.risk) == (2.0, "urgent", "imminent")
        assert debrief.escalation_s is not None and debrief.escalation_s <= 60
        # the sheet opens by itself, in words, with the model counselor's lines
        qtbot.waitUntil(
            lambda: window.training.sheet is not None and window.training.sheet.isVisible()
        )
        sheet = window.training.sheet
        rows = sheet.rows()
        assert len(rows) == 6 and all(r[3].startswith("✓") for r in rows)
        from PySide6.QtWidgets import QLabel

        assert "6" in sheet.findChild(QLabel, "debriefScore").text()
        assert sheet.grab().save(str(artifacts_dir / "training-debrief.png"))
        # the practice call's record is in the practice store, and nowhere else
        assert store.contact(call.id) is not None
        assert store.data_dir == paths.data_dir / "practice"
        assert not (paths.data_dir / "cases.db").exists()
        # the escalation panel showed it like any escalation, but nothing is in the real mirror
        assert session.service("escalation").counselor.escalations == {}
    finally:
        session.stop()


def test_a_missed_expectation_shows_in_the_debrief(qtbot, paths, fake_clock):
    """The abusive caller: the trainee neither flags the number nor ends the call."""
    session, window = _training_window(qtbot, paths, fake_clock, scenario="abusive-caller-es")
    events = Recorder(session.bus, DebriefReady)
    try:
        _ring_and_answer(qtbot, session, window, fake_clock, after_s=12.0)  # late, too
        fake_clock.advance(20.0)
        session.calls.on_remote_hangup(session.calls.call.id)
        qtbot.waitUntil(lambda: window._view.state is CallState.WRAP_UP)
        session.calls.handle(Command(Action.FINISH_WRAP_UP, Source.UI, disposition="support_given"))
        _t, ready = events.wait_event(DebriefReady, timeout=10)
        met = {c.code: c.met for c in ready.debrief.checks}
        assert met == {"answer": False, "escalate": True, "flag": False, "end": False}
        qtbot.waitUntil(lambda: window.training.sheet is not None)
        assert [r[3].startswith("✗") for r in window.training.sheet.rows()] == [
            True, False, True, True
        ]  # fmt: skip
    finally:
        session.stop()


@pytest.mark.usefixtures("language")
def test_banner_and_practice_panel_fit_1024x600(qtbot, paths, fake_clock, artifacts_dir, language):
    session, window = _training_window(qtbot, paths, fake_clock, scenario="third-party-es")
    try:
        _check_fits(window, (1024, 600))
        _ring_and_answer(qtbot, session, window, fake_clock)
        fake_clock.advance(11.0)  # a long caption
        qtbot.waitUntil(lambda: window.training.panel.caption.isVisible())
        QApplication.processEvents()
        _check_fits(window, (1024, 600))
        assert window.menuWidget().isVisible()
        assert window.grab().save(str(artifacts_dir / f"training-{language}.png"))
        # the lock screen keeps the banner: it sits above every page
        session.service("store").lock("user")
        qtbot.waitUntil(lambda: window.locked)
        assert window.menuWidget().isVisible()
        _check_fits(window, (1024, 600))
    finally:
        session.stop()


def test_practice_data_at_a_real_records_view_is_refused(qtbot, paths, fake_clock):
    """The named fault: practice records reaching a view of real records are refused, with
    a clear error, and the report window says it instead of counting them."""
    from console.shift_report import ShiftReportDialog
    from storage.reports import shift_report, supervisor_report

    session, window = _training_window(qtbot, paths, fake_clock)
    try:
        _ring_and_answer(qtbot, session, window, fake_clock)
        store = session.service("store")
        case_store = store.vault.require()
        now = fake_clock.now()
        with pytest.raises(PracticeRecordsRefused) as refused:
            shift_report(case_store, now - dt.timedelta(hours=12), now)
        assert "practice" in refused.value.message and "real records" in refused.value.message
        with pytest.raises(PracticeRecordsRefused):
            supervisor_report(case_store, now - dt.timedelta(hours=12), now)
        dialog = ShiftReportDialog(session, window)
        qtbot.addWidget(dialog)
        assert "practice" in dialog.figures.text()
        assert not dialog.export_button.isEnabled()
    finally:
        session.stop()


def test_the_two_stores_never_stand_in_for_each_other(tmp_path, fake_clock):
    """A real session refuses a store marked practice; a training session a real one; and a
    practice call is never written as a real record."""
    import shutil

    from core.paths import Paths
    from storage.call_rows import CallRows  # noqa: F401 - the guard under test lives there
    from storage.practice import refuses_call

    training = Paths.under(tmp_path / "t")
    s = Session(
        Config({"storage.unlock_target_ms": 1, "calls.training": True}),
        paths=training,
        clock=fake_clock,
    )
    s.service("store").init(PASSPHRASE)
    s.stop()
    # the practice store copied where a real session looks for its own
    real = Paths.under(tmp_path / "r").ensure()
    for name in ("cases.db", "cases.key"):
        shutil.copy(training.data_dir / "practice" / name, real.data_dir / name)
    r = Session(Config({"storage.unlock_target_ms": 1}), paths=real, clock=fake_clock)
    with pytest.raises(WrongStoreKind) as wrong:
        r.service("store").unlock(PASSPHRASE)
    assert "practice" in wrong.value.message
    assert r.service("store").is_locked
    r.stop()
    # a real store put where a training session keeps its practice one
    real2 = Paths.under(tmp_path / "r2")
    r2 = Session(Config({"storage.unlock_target_ms": 1}), paths=real2, clock=fake_clock)
    r2.service("store").init(PASSPHRASE)
    r2.stop()
    t2 = Paths.under(tmp_path / "t2").ensure()
    (t2.data_dir / "practice").mkdir(mode=0o700)
    for name in ("cases.db", "cases.key"):
        shutil.copy(real2.data_dir / name, t2.data_dir / "practice" / name)
    t = Session(
        Config({"storage.unlock_target_ms": 1, "calls.training": True}), paths=t2, clock=fake_clock
    )
    with pytest.raises(WrongStoreKind):
        t.service("store").unlock(PASSPHRASE)
    t.stop()

    class _Call:
        practice = True

    assert refuses_call(_Call(), training=False)
    assert not refuses_call(_Call(), training=True)
