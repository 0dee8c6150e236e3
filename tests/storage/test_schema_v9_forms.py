"""Schema v9: the store keeps every forms version it has seen, records say theirs, and a
store from schema 8 reads its records with the built-in form as version 1."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from core.forms import BUILTIN_VERSION, Form, FormError, builtin_form, load_form
from storage import database, schema
from storage.keys import new_data_key
from storage.records import RiskAssessment, SafetyPlan

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "forms.example.toml"


def test_a_v8_store_reads_its_records_with_the_builtin_form_as_version_1(tmp_path):
    key = new_data_key()
    db = database.connect(tmp_path / "v8.db", key, create=True, migrate=False)
    schema.migrate(db, 8, key=key)
    db.execute(
        "INSERT INTO contacts(id, channel, rung_at, disposition, updated_at) "
        "VALUES ('c8','phone','2026-01-08','referred','x')"
    )
    db.execute(
        "INSERT INTO contacts(id, channel, rung_at, updated_at) "
        "VALUES ('c9','phone','2026-01-09','x')"
    )
    db.execute(
        "INSERT INTO risk_assessments(contact_id, assessed_at, counselor_id, desire, capability, "
        "intent, buffers, imminent, level, rule) VALUES ('c8','2026-01-08','k',"
        "'[\"no_such_item\"]','[\"no_sleep\"]','[]','[]',0,'moderate','lifeline-1')"
    )
    db.execute(
        "INSERT INTO safety_plans(contact_id, plan, updated_at) VALUES ('c8', ?, '2026-01-08')",
        (json.dumps({"warning_signs": ["x"]}),),
    )
    assert schema.migrate(db, key=key) == 8
    assert db.execute("SELECT form_version FROM risk_assessments").fetchall() == [(1,)]
    assert db.execute("SELECT form_version FROM safety_plans").fetchall() == [(1,)]
    assert dict(db.execute("SELECT id, form_version FROM contacts").fetchall()) == {
        "c8": 1,
        "c9": None,  # a contact without a disposition has no form words
    }
    [(version, text)] = db.execute("SELECT version, form FROM form_versions").fetchall()
    assert version == BUILTIN_VERSION and Form.from_json(text) == builtin_form()
    db.close()


def test_records_are_saved_under_the_form_in_use_and_keep_old_items(store):
    store.add_risk_assessment("c1", RiskAssessment(capability=frozenset({"no_sleep"})))
    assert store.risk_assessments("c1")[0].form_version is None  # no form given yet
    example = load_form(EXAMPLE)
    assert store.use_form(example) is None
    store.add_risk_assessment("c1", RiskAssessment(intent=frozenset({"weapon_in_hand"})))
    store.set_safety_plan(
        "c1", SafetyPlan.from_texts({"faith_community": "Mi parroquia"}, extra=["faith_community"])
    )
    old, new = store.risk_assessments("c1")
    assert old.capability == {"no_sleep"} and new.intent == {"weapon_in_hand"}
    assert new.form_version == 2
    plan = store.safety_plan("c1")
    assert plan.lines("faith_community") == ("Mi parroquia",) and plan.form_version == 2
    book = store.form_book(example)
    assert set(book.versions) == {1, 2}
    assert book.label("item", "no_sleep", 1) == "Not sleeping (no longer in the form)"
    assert store.use_form(example) is None  # the same again: nothing new


def test_a_changed_form_under_the_same_version_is_refused_and_nothing_is_lost(store):
    example = load_form(EXAMPLE)
    store.use_form(example)
    changed = dataclasses.replace(example, name="otra")
    with pytest.raises(FormError, match="new version number"):
        store.use_form(changed)
    assert store.form is example  # records go on under version 2
    older = dataclasses.replace(builtin_form(), version=1)
    assert store.use_form(older) is None  # version 1 is the built-in: the same content
    lower = dataclasses.replace(example, version=1)
    with pytest.raises(FormError):  # version 1 is kept with the built-in content
        store.use_form(lower)


def test_a_lower_new_version_is_kept_with_a_warning(store):
    example = load_form(EXAMPLE)
    store.use_form(dataclasses.replace(example, version=5))
    warning = store.use_form(example)  # version 2 < 5, never seen: kept, with a warning
    assert warning and "older than version 5" in warning
    assert set(store.form_book(example).versions) == {1, 2, 5}
