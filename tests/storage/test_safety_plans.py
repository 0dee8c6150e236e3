"""Safety plans: versions, the caller's salted key, an earlier contact's plan, export audit."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from storage import caller_key as ck
from storage.records import RecordError, SafetyPlan
from tests.support.storage_helpers import PASS, audit_rows, raw_connect, ring

NUMBER = "+52 55 5555 0101"
PLAN = SafetyPlan(
    warning_signs=("No duermo", "Dejo de contestar a mi hermana"),
    reasons_for_living=("Mi perro Canelo",),
)


@pytest.mark.parametrize(
    "number",
    [
        "+52 55 5555 0101",
        "5555550101",
        "(55) 5555-0101",
        "55.5555.0101",
        "+52 1 55 5555 0101",
        "0052 55 5555 0101",
        "525555550101",
        "5215555550101",
        "01 55 5555 0101",
        "044 55 5555 0101",
        "tel:+525555550101",
        "sip:5555550101@pbx.example.org;user=phone",
    ],
)
def test_number_formats_normalise_to_one(number):
    assert ck.normalise(number) == "+525555550101"


def test_numbers_that_must_never_link():
    for number in (None, "", "anonymous", "Unknown", "911", "089", "sip:anonymous@x", "12345"):
        assert ck.normalise(number) is None, number
    assert ck.normalise("+1 212 555 0101") == "+12125550101"  # another country: kept whole
    assert ck.normalise("+52 55 5555 0101") != ck.normalise("+52 55 5555 0102")
    assert ck.caller_key(b"k" * 32, "911") is None


def test_versions_count_saves_that_change_something(store, data_dir):
    assert store.safety_plan("c1") is None
    assert store.set_safety_plan("c1", PLAN) == 1
    assert store.set_safety_plan("c1", PLAN) == 1  # the same words: not written again
    changed = SafetyPlan.from_json({**PLAN.to_json(), "coping_strategies": ["Salir a caminar"]})
    assert store.set_safety_plan("c1", changed) == 2
    got = store.safety_plan("c1")
    assert got == changed and got.version == 2 and got.updated_at and got.based_on == ""
    assert "No duermo" not in repr(got)
    edits = audit_rows(data_dir, "safety_plan.edit")
    assert edits == [("c1", {"version": 1, "sections": 2}), ("c1", {"version": 2, "sections": 3})]


def test_a_plan_saved_before_versions_reads_as_version_one(store, data_dir):
    store.set_safety_plan("c1", PLAN)
    store.lock()
    db = raw_connect(data_dir)
    db.execute("UPDATE safety_plans SET plan=?", (json.dumps(PLAN.to_json()),))
    db.commit()
    db.close()
    store.unlock(PASS)
    assert store.safety_plan("c1").version == 1
    assert store.set_safety_plan("c1", SafetyPlan()) == 2


def test_texts_round_trip_one_line_per_item():
    plan = SafetyPlan.from_texts({"warning_signs": "No duermo  \n\n  \nMe aíslo", "x": "y"})
    assert plan.warning_signs == ("No duermo", "Me aíslo")
    assert SafetyPlan.from_texts(plan.texts()) == plan
    assert plan.filled == 1 and not plan.is_empty and SafetyPlan().is_empty


def test_caller_key_is_stored_never_the_number_elsewhere(store, data_dir, fake_clock):
    ring(store, "a", NUMBER, fake_clock.now())
    ring(store, "b", "5555550101", fake_clock.now())
    ring(store, "w", None, fake_clock.now())
    db = raw_connect(data_dir)
    try:
        keys = dict(db.execute("SELECT id, caller_key FROM contacts").fetchall())
        secret = db.execute(
            "SELECT value FROM settings WHERE key=?", (ck.SECRET_SETTING,)
        ).fetchone()[0]
        audit = " ".join(str(r) for r in db.execute("SELECT * FROM audit").fetchall())
    finally:
        db.close()
    assert keys["a"] == keys["b"] and len(keys["a"]) == 64 and keys["w"] is None
    assert len(bytes.fromhex(secret)) == 32
    assert keys["a"] == ck.caller_key(bytes.fromhex(secret), "+525555550101")
    assert "5555" not in keys["a"] and "5555" not in audit


def test_caller_key_differs_between_stores(make_service, tmp_path, fake_clock):
    keys = []
    for name in ("one", "two"):
        svc = make_service(directory=tmp_path / name)
        svc.init(PASS)
        ring(svc, "a", NUMBER, fake_clock.now())
        db = raw_connect(tmp_path / name)
        keys.append(db.execute("SELECT caller_key FROM contacts").fetchone()[0])
        db.close()
    assert keys[0] and keys[1] and keys[0] != keys[1]


def test_an_earlier_plan_of_the_same_caller_is_offered_and_copied(store, fake_clock, data_dir):
    first = fake_clock.now()
    ring(store, "old", NUMBER, first)
    store.set_safety_plan("old", PLAN)
    ring(store, "other", "+52 33 1234 5678", first)
    store.set_safety_plan("other", SafetyPlan(warning_signs=("de otra persona",)))
    ring(store, "withheld", None, first)
    store.set_safety_plan("withheld", SafetyPlan(warning_signs=("sin número",)))
    fake_clock.advance(86400)
    ring(store, "new", "55 5555 0101", fake_clock.now())
    ring(store, "anon", None, fake_clock.now())

    found = store.latest_safety_plan_for_caller("new")
    assert found == {
        "contact_id": "old",
        "rung_at": first.astimezone(dt.UTC).isoformat(timespec="milliseconds"),
        "updated_at": found["updated_at"],
        "version": 1,
    }
    assert NUMBER not in str(found) and "5555" not in str(found)
    assert store.latest_safety_plan_for_caller("old") is None  # nothing earlier of its own
    assert store.latest_safety_plan_for_caller("anon") is None  # withheld numbers never link
    assert store.latest_safety_plan_for_caller("nobody") is None

    copied = store.copy_safety_plan("old", "new")
    assert copied == PLAN and copied.based_on == "old" and copied.version == 1
    assert store.safety_plan("new") == PLAN and store.safety_plan("new").based_on == "old"
    # the earlier one is unchanged, and editing the copy leaves it so
    store.set_safety_plan("new", SafetyPlan(warning_signs=("Ahora duermo mejor",)))
    assert store.safety_plan("old") == PLAN and store.safety_plan("old").version == 1
    assert store.safety_plan("new").based_on == "old" and store.safety_plan("new").version == 2
    assert audit_rows(data_dir, "safety_plan.copy") == [
        ("new", {"version": 1, "sections": 2, "from": "old"})
    ]
    with pytest.raises(RecordError):
        store.copy_safety_plan("other", "new")  # another caller
    with pytest.raises(RecordError):
        store.copy_safety_plan("anon", "withheld")  # no number: never linked


def test_an_empty_earlier_plan_is_not_offered_and_the_newest_wins(store, fake_clock):
    ring(store, "a", NUMBER, fake_clock.now())
    store.set_safety_plan("a", PLAN)
    fake_clock.advance(60)
    ring(store, "b", NUMBER, fake_clock.now())
    newer = SafetyPlan(reasons_for_living=("Mis hijas",))
    store.set_safety_plan("b", newer)
    fake_clock.advance(60)
    ring(store, "c", NUMBER, fake_clock.now())
    store.set_safety_plan("c", SafetyPlan())  # cleared: nothing to start from
    fake_clock.advance(60)
    ring(store, "d", NUMBER, fake_clock.now())
    assert store.latest_safety_plan_for_caller("d")["contact_id"] == "b"


def test_backfill_gives_old_rows_their_key(store, data_dir, fake_clock):
    ring(store, "a", NUMBER, fake_clock.now())
    store.lock()
    db = raw_connect(data_dir)
    db.execute("UPDATE contacts SET caller_key=NULL")  # as a row written before schema v8
    db.commit()
    db.close()
    store.unlock(PASS)
    ring(store, "b", "5555550101", fake_clock.now())
    store.set_safety_plan("a", PLAN)
    assert store.latest_safety_plan_for_caller("b") is None
    assert store.backfill_caller_keys() == 1
    assert store.backfill_caller_keys() == 0
    assert store.latest_safety_plan_for_caller("b")["contact_id"] == "a"


def test_export_is_audited_without_content(store, data_dir):
    store.set_safety_plan("c1", PLAN)
    store.safety_plan_exported("c1", {"language": "es_MX", "pages": 1, "sections": 2})
    assert audit_rows(data_dir, "safety_plan.export") == [
        ("c1", {"language": "es_MX", "pages": 1, "sections": 2})
    ]
