"""The risk assessment form (console/risk_form.py) in the real demo window (FakeClock, a real
encrypted store): an imminent-risk assessment made and saved by keyboard alone proposes the
urgent escalation; every save is a version with its level; the F-keys keep working from the
form; a lock hides the form and leaves its unsaved draft untouched; a save while locked is
refused and loses nothing; the form fits a 1024x600 laptop in both languages."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QCheckBox,
    QLabel,
    QPlainTextEdit,
    QWidget,
)

from calls.model import CallState
from console.risk_form import RiskForm, risk_item_label
from console.theme import apply_theme
from core.i18n import _, format_time
from storage.events import RiskAssessmentSaved
from storage.records import RISK_FACTORS
from storage.risk import IMMINENT, LOW, level_label
from tests.console.test_counselor_flow import PASSPHRASE, settle, shot
from tests.console.test_layout_languages import _check_fits
from tests.support.toolkit import Recorder

ALT, CTRL = Qt.KeyboardModifier.AltModifier, Qt.KeyboardModifier.ControlModifier
NONE = Qt.KeyboardModifier.NoModifier
#: from the form's key to a saved imminent-risk assessment (desire + capability + intent, no
#: buffers): F2, ideation, Alt+2, three Tabs to lethal means, Alt+3, a Tab to the plan, Ctrl+S
IMMINENT_KEYS = [
    (Qt.Key.Key_F2, NONE),
    (Qt.Key.Key_Space, NONE),  # suicidal ideation
    (Qt.Key.Key_2, ALT),
    (Qt.Key.Key_Tab, NONE),
    (Qt.Key.Key_Tab, NONE),
    (Qt.Key.Key_Tab, NONE),
    (Qt.Key.Key_Space, NONE),  # lethal means
    (Qt.Key.Key_3, ALT),
    (Qt.Key.Key_Tab, NONE),
    (Qt.Key.Key_Space, NONE),  # plan with a known method
    (Qt.Key.Key_S, CTRL),
]


def _with_form(session, window) -> RiskForm:
    """The window's own form (the main window places it as a tab, F2)."""
    form = window.risk_form
    assert isinstance(form, RiskForm)
    return form


def _on_call(qtbot, window, fake_clock) -> None:
    settle(qtbot, window, CallState.AVAILABLE)
    fake_clock.advance(3.0)
    settle(qtbot, window, CallState.RINGING)
    qtbot.keyClick(window.notes, Qt.Key.Key_F5)
    settle(qtbot, window, CallState.ON_CALL)


def _press(qtbot, window, keys) -> None:
    for key, mods in keys:
        qtbot.keyClick(window.focusWidget() or window, key, mods)


def _shot(window, artifacts_dir, name: str) -> None:
    QApplication.processEvents()  # the layout after the last key, as the counselor sees it
    shot(window, artifacts_dir, name)


def _ticked(form: RiskForm) -> set[str]:
    return {code for code, box in form.boxes.items() if box.isChecked()}


def test_an_imminent_assessment_by_keyboard_alone_is_saved_and_proposes_escalation(
    qtbot, demo, fake_clock, artifacts_dir
):
    from escalation import events as esc

    session, window = demo
    form = _with_form(session, window)
    seen = Recorder(session.bus, RiskAssessmentSaved, esc.EscalationProposed)
    _on_call(qtbot, window, fake_clock)
    call_id = session.calls.call.id
    assert form.incomplete(call_id) is False  # the call is not over: nothing to flag yet
    opened = []
    form.imminent_saved.connect(opened.append)

    _press(qtbot, window, IMMINENT_KEYS[:1])
    assert form.isVisible() and form.boxes["suicidal_ideation"].hasFocus()
    _press(qtbot, window, IMMINENT_KEYS[1:-1])
    assert _ticked(form) == {"suicidal_ideation", "lethal_means", "plan_with_known_method"}
    assert form.level_label.text() == _("Risk: {level}").format(level=level_label(IMMINENT))
    assert form.why_label.text() == "desire + intent + capability with 0 buffers (fewer than 2)"
    assert form.level_label.property("role") == "danger"
    assert form.incomplete(call_id) is True  # touched, not saved
    _shot(window, artifacts_dir, "risk-1-imminent-unsaved")

    _press(qtbot, window, IMMINENT_KEYS[-1:])
    [row] = session.service("store").risk_assessments(call_id)
    assert (row.level, row.imminent) == (IMMINENT, True)
    assert row.rule == form.rule.id
    assert form.status.text() == f"Saved {format_time(fake_clock.now())} · version 1"
    assert opened == [call_id]
    assert form.incomplete(call_id) is False
    [saved] = seen.of(RiskAssessmentSaved)
    assert (saved.contact_id, saved.imminent) == (call_id, True)
    [proposed] = seen.of(esc.EscalationProposed)
    assert (proposed.call_id, proposed.level, proposed.reason) == (
        call_id,
        "urgent",
        "imminent_risk",
    )
    _shot(window, artifacts_dir, "risk-2-imminent-saved")


def test_each_save_is_a_new_version_and_the_f_keys_work_from_the_form(qtbot, demo, fake_clock):
    session, window = demo
    form = _with_form(session, window)
    _on_call(qtbot, window, fake_clock)
    call_id = session.calls.call.id
    _press(qtbot, window, [(Qt.Key.Key_F2, NONE), (Qt.Key.Key_Space, NONE)])
    _press(qtbot, window, [(Qt.Key.Key_S, CTRL)])
    fake_clock.advance(120)
    _press(qtbot, window, [(Qt.Key.Key_4, ALT), (Qt.Key.Key_Space, NONE)])
    assert form.status.text() == "Changed since version 1: not saved yet"
    _press(qtbot, window, [(Qt.Key.Key_5, ALT)])
    assert form.comment.hasFocus()
    qtbot.keyClicks(form.comment, "Su hermana llega en una hora.")
    _press(qtbot, window, [(Qt.Key.Key_S, CTRL)])
    rows = session.service("store").risk_assessments(call_id)
    assert [(sorted(r.desire), sorted(r.buffers), r.level) for r in rows] == [
        (["suicidal_ideation"], [], LOW),
        (["suicidal_ideation"], ["immediate_supports"], LOW),
    ]
    assert rows[1].comment == "Su hermana llega en una hora."
    assert form.status.text() == f"Saved {format_time(fake_clock.now())} · version 2"
    audit = session.service("store").vault.store._read(
        "SELECT detail FROM audit WHERE action='risk.assess'"
    )
    assert [json.loads(d)["level"] for (d,) in audit] == [LOW, LOW]

    # the counselor's window keys act from a box of the form
    form.boxes["hopelessness"].setFocus()
    qtbot.keyClick(form.boxes["hopelessness"], Qt.Key.Key_F7)
    qtbot.waitUntil(window.muted_banner.isVisible, timeout=2000)
    qtbot.keyClick(form.boxes["hopelessness"], Qt.Key.Key_F7)
    qtbot.keyClick(form.boxes["hopelessness"], Qt.Key.Key_Space)  # touched after version 2
    qtbot.keyClick(form.boxes["hopelessness"], Qt.Key.Key_F8)
    settle(qtbot, window, CallState.WRAP_UP)
    assert form.boxes["hopelessness"].isChecked()  # the hang-up leaves the draft alone
    assert form.incomplete(call_id) is True
    form.save()  # in wrap-up, still the same contact
    assert form.incomplete(call_id) is False


def test_a_call_over_without_an_assessment_is_incomplete(qtbot, demo, fake_clock):
    session, window = demo
    form = _with_form(session, window)
    _on_call(qtbot, window, fake_clock)
    call_id = session.calls.call.id
    qtbot.keyClick(window.notes, Qt.Key.Key_F8)
    settle(qtbot, window, CallState.WRAP_UP)
    assert form.incomplete(call_id) is True
    assert form.incomplete("never-seen") is True
    store = session.service("store")
    assert store.flush()  # the audit rows of views are written after the read
    reads = store.vault.store._read(
        "SELECT count(*) FROM audit WHERE action='risk.view' AND subject=?", (call_id,)
    )
    assert reads == [(0,)]  # a contact followed from its ring is not read back
    # ("never-seen", asked of the store above, is: one view row of its own)


def test_a_lock_hides_the_form_and_keeps_its_draft_untouched(qtbot, demo, fake_clock):
    session, window = demo
    store = session.service("store")
    form = _with_form(session, window)
    _on_call(qtbot, window, fake_clock)
    call_id = session.calls.call.id
    _press(qtbot, window, [(Qt.Key.Key_F2, NONE), (Qt.Key.Key_Space, NONE)])
    _press(qtbot, window, [(Qt.Key.Key_3, ALT), (Qt.Key.Key_Tab, NONE), (Qt.Key.Key_Space, NONE)])
    _press(qtbot, window, [(Qt.Key.Key_5, ALT)])
    qtbot.keyClicks(form.comment, "Tiene pastillas guardadas.")
    before = (_ticked(form), form.comment.toPlainText(), form.level_label.text())
    assert before[0] == {"suicidal_ideation", "plan_with_known_method"}

    store.lock("user")
    qtbot.waitUntil(lambda: window.locked, timeout=3000)
    assert not form.isVisible()
    assert form.save() is False  # refused, said, nothing lost
    assert form.status.text() == (
        "The case store is locked: unlock it, then save again. Nothing you marked is lost."
    )
    assert form.status.property("role") == "danger"
    assert (_ticked(form), form.comment.toPlainText(), form.level_label.text()) == before

    field = window.lock_screen.unlock.passphrase
    qtbot.keyClicks(field, PASSPHRASE)
    qtbot.keyClick(field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.locked, timeout=5000)
    assert (_ticked(form), form.comment.toPlainText(), form.level_label.text()) == before
    assert form.incomplete(call_id) is True
    assert form.save() is True
    [row] = store.risk_assessments(call_id)
    assert row.comment == "Tiene pastillas guardadas."
    assert sorted(row.desire) == ["suicidal_ideation"]


def test_every_control_is_named_and_every_item_is_in_words(qtbot, demo):
    session, window = demo
    form = _with_form(session, window)
    assert len(form.boxes) == sum(len(v) for v in RISK_FACTORS.values())
    for code, box in form.boxes.items():
        assert box.text() == risk_item_label(code) and "_" not in box.text()
    for w in form.findChildren(QWidget):
        if isinstance(w, (QAbstractButton, QPlainTextEdit)) or w.objectName() in (
            "riskLevel",
            "riskWhy",
            "riskStatus",
        ):
            assert w.accessibleName(), w.objectName()


@pytest.fixture(params=["light", "night"])
def theme_name(request):
    app = QApplication.instance()
    apply_theme(app, request.param)
    yield request.param
    apply_theme(app, "light")


def test_the_form_fits_a_1024x600_laptop(
    qtbot, paths, fake_clock, language, theme_name, artifacts_dir
):
    from tests.console.test_layout_languages import _window

    session, window = _window(qtbot, paths, fake_clock, language)
    form = _with_form(session, window)
    window.resize(1024, 600)
    window.show()
    qtbot.waitExposed(window)
    session.start()
    try:
        _on_call(qtbot, window, fake_clock)
        qtbot.keyClick(window.notes, Qt.Key.Key_F2)
        qtbot.waitUntil(form.isVisible)
        for code in ("suicidal_ideation", "lethal_means", "plan_with_known_method"):
            form.boxes[code].setChecked(True)
        _check_fits(window, (1024, 600))
        assert form.level_label.property("role") == "danger"
        shot(window, artifacts_dir, f"risk-form-{language}-{theme_name}-1024x600")
        for box in form.findChildren(QCheckBox):  # no item's words are cut off
            assert box.sizeHint().width() <= box.width(), box.text()
        for label in (form.level_label, form.why_label, form.status):
            assert isinstance(label, QLabel) and label.width() <= form.width()
        form.focus_area("buffers")
        _check_fits(window, (1024, 600))
        shot(window, artifacts_dir, f"risk-form-buffers-{language}-{theme_name}-1024x600")
    finally:
        session.stop()
