"""storage/reports.py over a real SQLCipher store: a contact's post-call summary, the
counselor's shift and the supervisor's shift, with several contacts and a FakeClock."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from calls.model import Call
from core.privacy import Personal
from storage import reports
from storage.records import RiskAssessment

H = dt.timedelta(hours=1)


def timeline(n: int, near: float, far: float) -> dict:
    return {
        "bucket_s": 10.0,
        "counselor_s": [near] * n,
        "caller_s": [far] * n,
        "both_s": [0.5] * n,
        "muted": [False] * (n - 1) + [True],
        "on_hold": [False] * n,
    }


def add_contact(store, clock, cid: str, minutes: float, disposition: str, ratio: float | None,
                with_timeline: bool = True) -> None:  # fmt: skip
    """A finished call of ``minutes`` with its health figures, rung at the clock's now."""
    start = clock.now()
    call = Call(
        cid, "phone", Personal("+52 55 5555 0101"), start, clock.monotonic(),
        answered_at=start + dt.timedelta(seconds=5),
        ended_at=start + dt.timedelta(seconds=5 + minutes * 60),
        disposition=disposition,
    )  # fmt: skip
    cs = store.vault.store
    cs.writer.call(lambda db: cs.record_call_in(db, call, {}))
    if ratio is not None:
        n = max(1, int(minutes * 6))
        figures = {
            "duration_s": minutes * 60,
            "talk_ratio": ratio,
            "counselor_talk_s": 6.0 * n * ratio,
            "caller_talk_s": 6.0 * n * (1 - ratio),
            "interruptions_by_counselor": 2,
            "interruptions_by_caller": 1,
            "muted_speech_warnings": 1,
            "longest_caller_silence_s": 42.5,
        }
        if with_timeline:
            figures["timeline"] = timeline(n, 10 * ratio, 10 * (1 - ratio))
        store.set_contact_health(cid, figures)


def seed_shift(store, clock) -> None:
    """Four contacts over three hours: two assessed (high, then low), one escalated urgent,
    one follow-up, one unanswered call, one contact of an older shift."""
    add_contact(store, clock, "old", 10, "support", 0.5)
    clock.advance(10 * 3600)
    add_contact(store, clock, "a", 20, "support", 0.4)
    store.add_risk_assessment("a", RiskAssessment(desire=frozenset({"psychological_pain"})))
    store.add_risk_assessment(
        "a", RiskAssessment(desire=frozenset({"psychological_pain"}),
                            intent=frozenset({"plan_with_known_method"}), comment="private words")
    )  # fmt: skip
    store.record_escalation("e1", "a", "urgent", "raised", {"reason": "imminent_risk"})
    store.add_follow_up("a", clock.now() + 24 * H, max_attempts=3)
    clock.advance(3600)
    add_contact(store, clock, "b", 8, "information", 0.7, with_timeline=False)
    store.add_risk_assessment("b", RiskAssessment())
    clock.advance(1800)
    call = Call("missed", "phone", Personal("+52 55 5555 0102"), clock.now(), clock.monotonic())
    cs = store.vault.store
    cs.writer.call(lambda db: cs.record_call_in(db, call, {"missed_reason": "caller_hung_up"}))
    clock.advance(1800)
    add_contact(store, clock, "c", 5, "support", None)
    store.record_escalation("e2", "c", "consult", "raised", {})
    clock.advance(600)


def test_contact_summary_has_the_newest_level_escalations_and_follow_ups(store, fake_clock):
    seed_shift(store, fake_clock)
    s = reports.contact_summary(store.vault.store, "a")
    assert s is not None
    assert s.duration_s == pytest.approx(1200.0)
    assert s.risk_level == "high" and s.risk_version == 2  # the newest of two versions
    assert [(e.level, e.state) for e in s.escalations] == [("urgent", "raised")]
    assert len(s.follow_ups) == 1 and s.follow_ups[0].max_attempts == 3
    assert s.timeline is not None and s.timeline.bucket_s == 10.0
    assert len(s.timeline.counselor_s) == 120 and s.timeline.muted[-1] is True
    assert s.figure("longest_caller_silence_s") == 42.5


def test_a_contact_without_a_timeline_or_audio_still_summarises(store, fake_clock):
    seed_shift(store, fake_clock)
    cs = store.vault.store
    b = reports.contact_summary(cs, "b")
    assert b is not None and b.timeline is None and b.figure("talk_ratio") == 0.7
    assert b.risk_level == "low"
    c = reports.contact_summary(cs, "c")
    assert c is not None and c.figures is None and c.risk_level is None and c.risk_version == 0
    assert reports.contact_summary(cs, "nobody") is None


def test_a_damaged_timeline_is_left_out_not_fatal():
    assert reports.Timeline.from_figures({"timeline": {"bucket_s": 10, "counselor_s": [1]}}) is None
    assert reports.Timeline.from_figures({"timeline": "x"}) is None
    assert reports.Timeline.from_figures(None) is None


def test_shift_report_aggregates_the_shift(store, fake_clock):
    seed_shift(store, fake_clock)
    until = fake_clock.now()
    since = until - 8 * H
    brk = reports.BreakLog()
    brk.state(True, until - 2 * H)
    brk.state(False, until - 2 * H + dt.timedelta(minutes=15))
    brk.state(True, until - dt.timedelta(minutes=5))  # still on break
    r = reports.shift_report(store.vault.store, since, until, brk.within(since, until))
    assert [c.contact_id for c in r.contacts] == ["a", "b", "missed", "c"]  # not "old"
    assert r.answered == 3
    assert r.seconds_on_calls == pytest.approx((20 + 8 + 5) * 60)
    assert r.dispositions == {"support": 2, "information": 1}
    assert r.risk_levels == {"low": 1, "moderate": 0, "high": 1, "imminent": 0}
    assert r.not_assessed == 1  # "c"
    assert r.escalations == {"urgent": 1, "consult": 1}
    assert r.follow_ups_scheduled == 1
    assert r.follow_ups_due == 0
    assert [c.talk_ratio for c in r.contacts] == [0.4, 0.7, None, None]
    assert r.mean_talk_ratio == pytest.approx(0.55)
    assert r.break_seconds == pytest.approx(20 * 60)
    # a day later the follow-up is due
    later = reports.shift_report(store.vault.store, since, until + 25 * H)
    assert later.follow_ups_due == 1


def test_supervisor_report_times_acknowledgements(store, fake_clock):
    cs = store.vault.store
    since = fake_clock.now()
    detail = {"counselor": "ana", "contact": "x"}
    store.record_escalation("u1", None, "urgent", "delivered", detail)
    fake_clock.advance(45)
    store.record_escalation("u1", None, "urgent", "acknowledged", detail)
    fake_clock.advance(600)
    store.record_escalation("u1", None, "urgent", "resolved", {**detail, "outcome": "safe"})
    store.record_escalation("d1", None, "debrief", "delivered", detail)
    fake_clock.advance(120)
    store.record_escalation("d1", None, "debrief", "acknowledged", detail)
    store.record_escalation("k1", None, "consult", "delivered", detail)  # never acknowledged
    r = reports.supervisor_report(cs, since, fake_clock.now() + H)
    assert [a.escalation_id for a in r.alerts] == ["u1", "d1", "k1"]
    assert [a.ack_s for a in r.alerts] == [pytest.approx(45.0), pytest.approx(120.0), None]
    assert (r.urgent, r.debriefs, r.resolved, r.unacknowledged) == (1, 1, 1, 1)
    assert r.outcomes == {"safe": 1}
    # the next shift does not see them
    assert (
        reports.supervisor_report(cs, fake_clock.now() + H, fake_clock.now() + 2 * H).alerts == ()
    )


def test_reports_never_carry_comments_or_numbers(store, fake_clock):
    seed_shift(store, fake_clock)
    cs = store.vault.store
    text = repr(reports.shift_report(cs, fake_clock.now() - 8 * H, fake_clock.now()))
    text += repr(reports.contact_summary(cs, "a"))
    assert "private words" not in text and "5555" not in text
    json.dumps(text)
