"""Quality figures from the store (storage/figures.py): one call's figures from its health and
wrap-up, the counselor's own calls in the laptop's order whatever the wall clock says, the
laptop's record count, and a supervisor's copy of records and marks, idempotent by id."""

from __future__ import annotations

import datetime as dt

from storage import figures
from storage.records import RiskAssessment
from tests.storage.test_reports import add_contact


def test_my_calls_carry_figures_in_the_order_the_laptop_recorded_them(store, fake_clock):
    add_contact(store, fake_clock, "late", 10, "support", 0.6)
    store.add_risk_assessment(
        "late", RiskAssessment(intent=frozenset({"plan_with_known_method"}), comment="secreto")
    )
    store.add_follow_up("late", fake_clock.now() + dt.timedelta(hours=24))
    fake_clock.advance(1200)
    add_contact(store, fake_clock, "next", 5, "information", None)
    cs = store.vault.store
    since = fake_clock.now() - dt.timedelta(days=1)
    calls = figures.my_calls(cs, since, fake_clock.now() + dt.timedelta(hours=1))
    assert [c["contact_id"] for c in calls] == ["late", "next"]
    late, silent = calls
    assert (late["talk_share"], late["interruptions"], late["muted_speech"]) == (0.6, 2, 1)
    assert late["assessed"] and late["follow_up"] and late["disposition"] == "support"
    assert late["risk"] in ("low", "moderate", "high", "imminent")
    assert silent["audio"] is False and silent["talk_share"] is None and not silent["assessed"]
    assert "secreto" not in repr(calls)  # no comment, no note, no number
    assert "+52" not in repr(calls)


def test_the_record_count_only_grows(store):
    cs = store.vault.store
    assert [figures.next_seq(cs) for _ in range(3)] == [1, 2, 3]


def test_a_supervisor_keeps_each_record_once_and_the_first_mark(store, fake_clock):
    cs = store.vault.store
    rec = {"id": "r1", "counselor": "c-alba", "seq": 1, "ended_at": fake_clock.now().isoformat()}
    assert figures.keep_quality_record(cs, rec)
    assert not figures.keep_quality_record(cs, {**rec, "seq": 99})  # a repeat changes nothing
    assert [r["seq"] for r in figures.quality_records(cs)] == [1]
    assert figures.mark_for_debrief(cs, "r1", "sup-ana", fake_clock.now())
    assert not figures.mark_for_debrief(cs, "r1", "sup-ben", fake_clock.now())
    assert not figures.mark_for_debrief(cs, "nope", "sup-ana", fake_clock.now())
    (kept,) = figures.quality_records(cs)
    assert kept["marked_by"] == "sup-ana"
