"""The coverage roster's model: what is wrong with a roster, the hour's coverage against
presence with a grace period, the on-call ladder, and an alarm that is a state."""

from __future__ import annotations

import datetime as dt

from escalation.roster import (
    COUNSELOR,
    SUPERVISOR,
    CoverageAlarm,
    Roster,
    Shift,
    coverage,
    problems,
)

T0 = dt.datetime(2026, 12, 4, 22, 0, tzinfo=dt.UTC)


def h(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def night() -> Roster:
    return Roster(
        3,
        (
            Shift("c-ana", COUNSELOR, h(0), h(8)),
            Shift("c-ben", COUNSELOR, h(0), h(4)),
            Shift("c-eva", COUNSELOR, h(4), h(8)),
            Shift("s-rosa", SUPERVISOR, h(0), h(8), on_call=True),
            Shift("s-luis", SUPERVISOR, h(0), h(8), on_call=True),
        ),
    )


def test_a_good_roster_has_no_problems_and_its_ladder_is_in_order():
    r = night()
    assert problems(r) == []
    assert r.ladder(h(1)) == ["s-rosa", "s-luis"]
    assert [s.person for s in r.at(h(5)) if s.role == COUNSELOR] == ["c-ana", "c-eva"]


def test_overlapping_backwards_too_long_and_uncovered_hours_are_found():
    r = Roster(
        1,
        (
            Shift("c-ana", COUNSELOR, h(0), h(5)),
            Shift("c-ana", COUNSELOR, h(4), h(6)),  # two shifts at once
            Shift("c-ben", COUNSELOR, h(7), h(6)),  # ends before it starts
            Shift("c-eva", COUNSELOR, h(8), h(22)),  # 14 h
            Shift("s-rosa", SUPERVISOR, h(0), h(3), on_call=True),
        ),
    )
    kinds = {(p.kind, p.person or "", p.start, p.end) for p in problems(r)}
    assert ("overlap", "c-ana", h(4), h(5)) in kinds
    assert ("backwards", "c-ben", h(7), h(6)) in kinds
    assert ("too_long", "c-eva", h(8), h(22)) in kinds
    assert ("no_counselor", "", h(6), h(8)) in kinds  # an empty stretch of the night
    assert ("no_on_call", "", h(3), h(22)) in kinds  # nobody to escalate to after 01:00


def test_coverage_waits_out_the_grace_period_then_says_who_is_late():
    r = night()
    seen = {"c-ana": "available", "s-rosa": "available"}
    cov = coverage(r, seen, h(0) + dt.timedelta(minutes=2))
    assert cov.waiting == ("c-ben",) and cov.late == () and cov.level == "ok"
    cov = coverage(r, seen, h(0) + dt.timedelta(minutes=6))
    assert cov.late == ("c-ben",) and cov.level == "short"
    assert cov.ladder == ("s-rosa", "s-luis") and cov.ladder_present == ("s-rosa",)


def test_one_busy_counselor_is_short_not_uncovered_and_nobody_is_uncovered():
    r = night()
    busy = coverage(r, {"c-ana": "on_call", "c-ben": "wrap_up", "s-rosa": "available"}, h(1))
    assert busy.level == "short" and set(busy.busy) == {"c-ana", "c-ben"}
    gone = coverage(r, {"s-rosa": "available"}, h(1))
    assert gone.level == "uncovered" and set(gone.late) == {"c-ana", "c-ben"}
    no_sup = coverage(r, {"c-ana": "available", "c-ben": "available"}, h(1))
    assert no_sup.level == "uncovered"  # the on-call supervisors are both offline
    # hours the roster leaves empty on purpose are not an alarm at run time (problems() says so)
    assert coverage(Roster(1, ()), {}, h(1)).level == "ok"


def test_the_alarm_is_a_state_raised_and_cleared_once():
    r = night()
    alarm = CoverageAlarm()
    ok = {"c-ana": "available", "c-ben": "available", "s-rosa": "available"}
    assert alarm.update(coverage(r, ok, h(1))) is None
    gone = {"s-rosa": "available"}
    assert alarm.update(coverage(r, gone, h(1))) == "uncovered"
    assert alarm.update(coverage(r, gone, h(1) + dt.timedelta(minutes=1))) is None  # no repeat
    assert alarm.update(coverage(r, ok, h(2))) == "ok"
