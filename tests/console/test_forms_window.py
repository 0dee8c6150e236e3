"""An organisation's forms file in the real window (FakeClock, a real encrypted store): the
dispositions, the risk form's items, the safety plan's sections and the follow-up rule come
from it; an old record's dropped item still shows; the default form fits 1024x600."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.i18n import set_language
from storage.records import RiskAssessment, SafetyPlan, follow_up_rule
from tests.console.test_layout_languages import _check_fits
from tests.console.test_lock_and_messages import _window

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "forms.example.toml"


@pytest.fixture(autouse=True)
def english():
    yield
    set_language("en")


def test_an_organisation_file_changes_every_form_in_the_window(qtbot, paths, fake_clock):
    session, window = _window(qtbot, paths, fake_clock, **{"clinical.forms_file": str(EXAMPLE)})
    try:
        codes = [window.disposition.itemData(i) for i in range(1, window.disposition.count())]
        assert codes == ["support_given", "referred_legal", "emergency_dispatched"]
        assert window.disposition.itemText(2) == "Referred to legal advice"
        assert set(window.risk_form.boxes) == {
            "suicidal_ideation",
            "hopelessness",
            "lethal_means",
            "attempt_in_progress",
            "weapon_in_hand",
            "immediate_supports",
        }
        assert window.risk_form.boxes["hopelessness"].text() == "Desesperanza"  # es fallback
        assert list(window.safety_plan.fields) == [
            "warning_signs",
            "people_to_ask_for_help",
            "faith_community",
        ]
        assert window.safety_plan.titles["faith_community"].text() == "3. Faith community"
        rule = follow_up_rule(session.config, session.form, "imminent")
        assert (rule.after_h, rule.attempts, rule.retry_h) == (12, 4, 2)
        assert follow_up_rule(session.config, session.form).after_h == 36
        scheduler = window.follow_up_scheduler  # the wrap-up's defaults follow the rule
        assert (scheduler.hours.value(), scheduler.attempts.value()) == (36, 4)
        window._on_risk_saved("c1", 1, "imminent")  # an imminent assessment was saved
        assert scheduler.hours.value() == 12 and scheduler.enabled.isChecked()
        scheduler.hours.setValue(30)  # the counselor's own choice is kept
        window._on_risk_saved("c1", 2, "high")
        assert scheduler.hours.value() == 30
        # the organisation's words name a disposition everywhere (history, reports)
        from console.texts import disposition_label

        assert disposition_label("referred_legal") == "Referred to legal advice"
        store = session.service("store")
        assert store.form is session.form  # given at unlock by the wiring
        assert (
            window.risk_form.rule.grade(RiskAssessment(intent=frozenset({"weapon_in_hand"}))).level
            == "imminent"
        )
    finally:
        session.stop()


def test_an_old_record_with_a_dropped_item_still_shows(qtbot, paths, fake_clock):
    session, window = _window(qtbot, paths, fake_clock, **{"clinical.forms_file": str(EXAMPLE)})
    try:
        store = session.service("store")
        cs = store._require()
        cs.form_version = 1  # saved under the built-in form, before the organisation's
        store.add_risk_assessment("old", RiskAssessment(capability=frozenset({"no_sleep"})))
        store.set_safety_plan("old", SafetyPlan(safe_environment=("Guardar las pastillas",)))
        cs.form_version = 2
        form = window.risk_form
        form._contact = "old"
        from console.risk_form import _Draft

        form._drafts["old"] = _Draft()
        form._ensure_loaded()
        box = form.boxes["no_sleep"]
        assert box.text() == "Not sleeping (no longer in the form)" and box.isChecked()
        assert form._assessment().capability == {"no_sleep"}  # kept when saved again
        editor = window.safety_plan
        editor.contact_id = "old"
        editor._load()
        field = editor.fields["safe_environment"]
        assert field.toPlainText() == "Guardar las pastillas"
        assert "(no longer in the form)" in editor.titles["safe_environment"].text()
        assert editor.plan().lines("safe_environment") == ("Guardar las pastillas",)
    finally:
        session.stop()


@pytest.mark.parametrize("language", ["es_MX", "en"])
def test_the_window_fits_1024x600_with_the_default_form(qtbot, paths, fake_clock, language):
    session, window = _window(qtbot, paths, fake_clock, **{"ui.language": language})
    try:
        assert session.form.version == 1
        _check_fits(window, (1024, 600))
    finally:
        session.stop()
