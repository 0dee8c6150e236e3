"""What the supervisors' quality view computes from the records it keeps (docs/quality.md).

Pure arithmetic on record dicts (escalation/quality.py ``record_fields``, as the store
keeps them), no clock read: ``now`` is given. Every time is first *placed* on this console's
clock: the counselor laptop's ``ended_at`` plus the offset measured for that laptop
(``offset_s``; see :class:`escalation.quality.ClockWatch`), so a laptop whose clock is hours
off puts its calls in the right week and shift; one counselor's calls are ordered by their
``seq`` (the laptop's own count), never by clock.

Constants, each justified in docs/quality.md:
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from collections.abc import Iterable, Sequence
from typing import Any

#: Iglewicz & Hoaglin's cut-off for the modified z-score (0.6745·(x − median)/MAD)
OUTLIER_Z = 3.5
#: makes the MAD comparable with a standard deviation for normal data (Φ⁻¹(0.75))
MAD_SCALE = 0.6745
#: a counselor's figure is judged only over at least this many calls with it
MIN_CALLS = 5
#: a centre distribution needs at least this many counselors to call one of them far from it
MIN_COUNSELORS = 4
#: the outliers are judged over the last four weeks (a month of a volunteer's shifts)
OUTLIER_WINDOW = dt.timedelta(days=28)
#: a gap longer than this between two calls of a counselor starts a new shift
SHIFT_GAP = dt.timedelta(hours=4)
#: share of the weekly cap from which the view says "near the cap" (as the counselor's
#: own reminder does, console/wrap_up_care.py)
NEAR_CAP = 0.9
#: a call shorter than this has no interruption rate (a minute: too little talk to judge)
RATE_MIN_S = 60.0

HIGH_RISK = ("high", "imminent")
#: the figures judged for outliers and shown as trends: the calls' and, for the chat line,
#: the median reply time, the person's longest wait and the counselor's share of the text
#: (each judged only over the records that have it)
FIGURES = (
    "talk_share",
    "interruptions_per_10min",
    "longest_caller_silence_s",
    "muted_speech",
    "response_median_s",
    "longest_wait_s",
    "message_share",
)


def is_chat(record: dict[str, Any]) -> bool:
    return record.get("channel") == "chat"


def parse(s: str) -> dt.datetime:
    t = dt.datetime.fromisoformat(s)
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def placed(record: dict[str, Any]) -> dt.datetime:
    """When the call ended, on this console's clock."""
    offset = record.get("offset_s")
    t = parse(str(record["ended_at"]))
    return t + dt.timedelta(seconds=float(offset)) if isinstance(offset, int | float) else t


def week_start(t: dt.datetime) -> dt.datetime:
    """Monday 00:00 of ``t``'s week in this laptop's local time (the centre's)."""
    local = t.astimezone()
    monday = local.date() - dt.timedelta(days=local.weekday())
    return dt.datetime.combine(monday, dt.time(), tzinfo=local.tzinfo)


def figure(record: dict[str, Any], name: str) -> float | None:
    """One figure of one call (None: the call does not have it, e.g. no audio)."""
    if name == "interruptions_per_10min":
        n, seconds = record.get("interruptions"), record.get("duration_s") or 0.0
        if not isinstance(n, int) or seconds < RATE_MIN_S:
            return None
        return n * 600.0 / seconds
    value = record.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def ordered(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each counselor's calls in the order that counselor's laptop made them."""
    return sorted(records, key=lambda r: (str(r.get("counselor")), int(r.get("seq") or 0)))


def by_counselor(records: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in ordered(records):
        out.setdefault(str(r["counselor"]), []).append(r)
    return out


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


# -- trends ---------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class Week:
    """One counselor's week: medians per call (None: no call with the figure)."""

    start: dt.datetime
    calls: int  # calls only; chats are counted in ``chats``
    talk_share: float | None
    interruptions_per_10min: float | None
    longest_caller_silence_s: float | None
    muted_speech: float | None
    assessed: float | None  # share of calls with a risk assessment
    follow_up: float | None  # share of calls with a follow-up scheduled
    high_risk: int
    chats: int = 0
    reply_median_s: float | None = None  # the median of the chats' median reply times
    longest_wait_s: float | None = None  # the median of the chats' longest waits


def week_of(records: Sequence[dict[str, Any]], start: dt.datetime) -> Week:
    end = start + dt.timedelta(days=7)
    contacts = [r for r in records if start <= placed(r) < end]
    calls = [r for r in contacts if not is_chat(r)]
    chats = [r for r in contacts if is_chat(r)]

    def med(name: str, of: Sequence[dict[str, Any]]) -> float | None:
        return _median([v for v in (figure(r, name) for r in of) if v is not None])

    def share(name: str) -> float | None:
        return sum(1 for r in contacts if r.get(name)) / len(contacts) if contacts else None

    return Week(
        start,
        len(calls),
        med("talk_share", calls),
        med("interruptions_per_10min", calls),
        med("longest_caller_silence_s", calls),
        med("muted_speech", calls),
        share("assessed"),
        share("follow_up"),
        sum(1 for r in contacts if r.get("risk") in HIGH_RISK),
        len(chats),
        med("response_median_s", chats),
        med("longest_wait_s", chats),
    )


def trends(records: Iterable[dict[str, Any]], now: dt.datetime) -> dict[str, tuple[Week, Week]]:
    """Per counselor: (this week, last week)."""
    this = week_start(now)
    last = week_start(this - dt.timedelta(days=1))
    return {c: (week_of(rs, this), week_of(rs, last)) for c, rs in by_counselor(records).items()}


# -- outliers -------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class Outlier:
    counselor: str
    figure: str
    value: float  # the counselor's median over the window
    centre: float  # the median of all counselors' medians
    z: float  # the modified z-score (sign: above or below the centre)


def counselor_medians(
    records: Iterable[dict[str, Any]], now: dt.datetime, name: str
) -> dict[str, float]:
    """Each counselor's median of ``name`` over the window, for those with enough calls."""
    since = now - OUTLIER_WINDOW
    out: dict[str, float] = {}
    for counselor, rs in by_counselor(records).items():
        values = [
            v for r in rs if since <= placed(r) <= now for v in [figure(r, name)] if v is not None
        ]
        if len(values) >= MIN_CALLS:
            out[counselor] = statistics.median(values)
    return out


def outliers(records: Sequence[dict[str, Any]], now: dt.datetime) -> list[Outlier]:
    """Counselors whose median of a figure is far from the centre's: |modified z| > 3.5
    (median and MAD of the counselors' medians; robust to the outliers themselves)."""
    out = []
    for name in FIGURES:
        medians = counselor_medians(records, now, name)
        if len(medians) < MIN_COUNSELORS:
            continue
        centre = statistics.median(medians.values())
        mad = statistics.median(abs(v - centre) for v in medians.values())
        if mad <= 0:
            continue  # most counselors alike: no spread to be far from (docs/quality.md)
        for counselor, value in sorted(medians.items()):
            z = MAD_SCALE * (value - centre) / mad
            if abs(z) > OUTLIER_Z:
                out.append(Outlier(counselor, name, value, centre, round(z, 2)))
    return out


# -- wellbeing ------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class Wellbeing:
    counselor: str
    hours_week: float
    cap_h: float
    shift_calls: int
    high_risk_shift: int
    breaks_shift: int  # breaks the counselor's laptop counted in the 12 h before its last call
    asked_break: bool
    #: codes: over_cap, near_cap, debrief (an unmarked high-risk call this shift), break
    #: (many high-risk calls and no break since), asked_break
    flags: tuple[str, ...]


def shift_of(records: Sequence[dict[str, Any]], now: dt.datetime) -> list[dict[str, Any]]:
    """One counselor's calls (in ``seq`` order) of the current shift: back from the last
    while the gaps are at most :data:`SHIFT_GAP`; none if the last is older than that."""
    if not records or now - placed(records[-1]) > SHIFT_GAP:
        return []
    shift = [records[-1]]
    for r in reversed(records[:-1]):
        if placed(shift[0]) - placed(r) > SHIFT_GAP:
            break
        shift.insert(0, r)
    return shift


def hours_in_week(records: Iterable[dict[str, Any]], now: dt.datetime) -> float:
    """Hours on calls since Monday 00:00 (answer to end; only the part after Monday)."""
    since = week_start(now)
    seconds = 0.0
    for r in records:
        end = placed(r)
        if end < since or end > now + SHIFT_GAP:
            continue
        seconds += max(0.0, min(float(r.get("duration_s") or 0.0), (end - since).total_seconds()))
    return seconds / 3600.0


def wellbeing(
    records: Sequence[dict[str, Any]],
    now: dt.datetime,
    cap_h: float,
    break_after: int,
    asked_break: Iterable[str] = (),
) -> list[Wellbeing]:
    asked = set(asked_break)
    groups = by_counselor(records)
    out = []
    for counselor in sorted(set(groups) | asked):
        rs = groups.get(counselor, [])
        hours = hours_in_week(rs, now)
        shift = shift_of(rs, now)
        risky = [r for r in shift if r.get("risk") in HIGH_RISK]
        flags = []
        if cap_h > 0 and hours >= cap_h:
            flags.append("over_cap")
        elif cap_h > 0 and hours >= NEAR_CAP * cap_h:
            flags.append("near_cap")
        if any(not r.get("marked_at") for r in risky):
            flags.append("debrief")
        breaks = int(shift[-1].get("breaks") or 0) if shift else 0
        if break_after and len(risky) >= break_after:
            # no break since the first of them: the laptop's count has not grown
            if breaks <= int(risky[-break_after].get("breaks") or 0):
                flags.append("break")
        if counselor in asked:
            flags.append("asked_break")
        out.append(
            Wellbeing(
                counselor,
                round(hours, 2),
                cap_h,
                len(shift),
                len(risky),
                breaks,
                counselor in asked,
                tuple(flags),
            )
        )
    return out


# -- the review queue -----------------------------------------------------------------------
#: why a call is worth a look (codes; the view says them in words)
REVIEW_RULES = {
    "high_risk": lambda r: r.get("risk") in HIGH_RISK,
    "not_assessed": lambda r: not r.get("assessed"),
    "talked_more": lambda r: (figure(r, "talk_share") or 0.0) > 0.7,
    "interruptions": lambda r: (figure(r, "interruptions_per_10min") or 0.0) >= 3.0,
    "muted_speech": lambda r: (figure(r, "muted_speech") or 0.0) >= 1,
}


def reasons(record: dict[str, Any]) -> tuple[str, ...]:
    return tuple(code for code, rule in REVIEW_RULES.items() if rule(record))


def review_queue(
    records: Iterable[dict[str, Any]], now: dt.datetime, days: int = 7
) -> list[tuple[dict[str, Any], tuple[str, ...]]]:
    """The last ``days`` of calls, those marked for a debrief first, then those with a
    reason to look, newest first within each."""
    since = now - dt.timedelta(days=days)
    rows = [(r, reasons(r)) for r in records if placed(r) >= since]
    rows.sort(key=lambda rr: placed(rr[0]), reverse=True)
    rows.sort(key=lambda rr: (not rr[0].get("marked_at"), not rr[1]))
    return rows
