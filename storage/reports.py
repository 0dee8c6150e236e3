"""The post-call summary and the shift reports, computed from the case store's records.

Pure reading and arithmetic, no Qt (the console only draws what these return):

- :func:`contact_summary`: one contact — its length, the call-health figures with the
  talk/listen timeline (docs/audio.md), the newest saved risk level, the escalations raised
  for it (the store's escalation mirror) and the follow-ups created;
- :func:`shift_report`: the counselor's shift, the contacts of this store's counselor that
  began in ``[since, until)`` — dispositions, time on calls, talk share per call, risk levels,
  escalations, follow-ups scheduled and due, breaks (the console's :class:`BreakLog`: the
  store does not keep breaks);
- :func:`supervisor_report`: a supervisor's shift from the alerts their own store mirrors —
  alerts received, seconds to acknowledge each, urgent ones, resolutions, debrief requests.

Only codes, counts, times and ids: never note text, comments or caller numbers, so a report
may be printed. Reading levels here does not read the assessments' comments, so it is
audited once per report by the caller of these functions (``report.view``), not per contact.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from core.i18n import _
from storage import practice
from storage.records import FollowUp, iso, parse_iso
from storage.store import CaseStore

LEVELS = ("low", "moderate", "high", "imminent")
URGENT_LEVEL = "urgent"  # escalation/levels.py URGENT (storage does not import escalation)
DEBRIEF_LEVEL = "debrief"


@dataclasses.dataclass(frozen=True, slots=True)
class Timeline:
    """The ``timeline`` entry of the call-health figures (audio/detectors.py ``Timeline``)."""

    bucket_s: float
    counselor_s: tuple[float, ...]
    caller_s: tuple[float, ...]
    both_s: tuple[float, ...]
    muted: tuple[bool, ...]
    on_hold: tuple[bool, ...]

    @classmethod
    def from_figures(cls, figures: dict[str, Any] | None) -> Timeline | None:
        """None for a record made before timelines (or a damaged entry): it still renders."""
        raw = (figures or {}).get("timeline")
        if not isinstance(raw, dict):
            return None
        try:
            n = len(raw["counselor_s"])
            parts = [tuple(float(x) for x in raw[k]) for k in ("counselor_s", "caller_s", "both_s")]
            flags = [
                tuple(bool(x) for x in raw.get(k) or [False] * n) for k in ("muted", "on_hold")
            ]
            bucket = float(raw["bucket_s"])
        except (KeyError, TypeError, ValueError):
            return None
        if bucket <= 0 or any(len(p) != n for p in (*parts, *flags)):
            return None
        return cls(bucket, parts[0], parts[1], parts[2], flags[0], flags[1])


@dataclasses.dataclass(frozen=True, slots=True)
class Escalation:
    id: str
    level: str
    state: str  # the newest state (escalation/events.py STATES)
    raised_at: str  # UTC ISO, as the store recorded it


@dataclasses.dataclass(frozen=True, slots=True)
class ContactSummary:
    contact_id: str
    duration_s: float | None  # answer to hang-up (None: never answered or not ended)
    figures: dict[str, Any] | None  # the call-health figures, None without audio
    timeline: Timeline | None
    risk_level: str | None  # the newest saved version's level
    risk_version: int  # how many versions were saved (0: no assessment)
    escalations: tuple[Escalation, ...]
    follow_ups: tuple[FollowUp, ...]

    def figure(self, key: str) -> Any:
        return (self.figures or {}).get(key)


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return max(0.0, (parse_iso(end) - parse_iso(start)).total_seconds())


def _health(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def risk_levels(store: CaseStore, contact_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
    """{contact id: (newest level, versions)} for the contacts assessed; levels only (a row
    saved before levels were kept is graded by the default rule, as the store does)."""
    if not contact_ids:
        return {}
    marks = ",".join("?" * len(contact_ids))
    rows = store._read(  # a reader of the store's own package  # noqa: SLF001
        f"SELECT contact_id, level, COUNT(*) OVER (PARTITION BY contact_id), id "
        f"FROM risk_assessments WHERE contact_id IN ({marks}) ORDER BY id",
        contact_ids,
    )
    out: dict[str, tuple[str, int]] = {}
    regrade: list[str] = []
    for contact_id, level, count, _id in rows:
        out[contact_id] = (level, count)  # ordered by id: the newest wins
    for contact_id, (level, _count) in out.items():
        if not level:
            regrade.append(contact_id)
    for contact_id in regrade:  # rare: rows saved before schema v8
        versions = store.risk_assessments(contact_id)
        out[contact_id] = (versions[-1].level, len(versions))
    return out


def escalations_of(
    store: CaseStore,
    *,
    contact_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[Escalation]:
    """Escalations in the store's mirror, oldest first: of one contact, or raised in a period."""
    where, args = [], []
    if contact_id is not None:
        where.append("contact_id=?")
        args.append(contact_id)
    if since is not None:
        where.append("created_at>=?")
        args.append(iso(since))
    if until is not None:
        where.append("created_at<?")
        args.append(iso(until))
    rows = store._read(  # noqa: SLF001 (see risk_levels)
        "SELECT id, level, state, created_at FROM escalations"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY created_at, id",
        args,
    )
    return [Escalation(*r) for r in rows]


def contact_summary(store: CaseStore, contact_id: str) -> ContactSummary | None:
    """The post-call summary of one contact, or None when the store has no such contact."""
    rows = store._read(  # noqa: SLF001 (see risk_levels)
        "SELECT answered_at, ended_at, health FROM contacts WHERE id=?", (contact_id,)
    )
    if not rows:
        return None
    answered, ended, health = rows[0]
    figures = _health(health)
    level, versions = risk_levels(store, [contact_id]).get(contact_id, (None, 0))
    return ContactSummary(
        contact_id=contact_id,
        duration_s=_seconds(answered, ended),
        figures=figures,
        timeline=Timeline.from_figures(figures),
        risk_level=level or None,
        risk_version=versions,
        escalations=tuple(escalations_of(store, contact_id=contact_id)),
        follow_ups=tuple(store.follow_ups(contact_id=contact_id)),
    )


# -- the counselor's shift ------------------------------------------------------------------
class BreakLog:
    """Breaks seen by this console (the store keeps none): fed every call state with the
    wall-clock time, it keeps each break's (start, end). Used on the GUI thread only."""

    def __init__(self) -> None:
        self.breaks: list[tuple[dt.datetime, dt.datetime | None]] = []

    def state(self, on_break: bool, at: dt.datetime) -> None:
        open_ = bool(self.breaks) and self.breaks[-1][1] is None
        if on_break and not open_:
            self.breaks.append((at, None))
        elif not on_break and open_:
            self.breaks[-1] = (self.breaks[-1][0], at)

    def within(
        self, since: dt.datetime, until: dt.datetime
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        """The breaks overlapping the period, cut to it (an open one ends at ``until``)."""
        out = []
        for start, end in self.breaks:
            a, b = max(start, since), min(end or until, until)
            if b > a:
                out.append((a, b))
        return out


@dataclasses.dataclass(frozen=True, slots=True)
class ShiftContact:
    contact_id: str
    rung_at: str
    channel: str
    answered: bool
    seconds: float  # answer to hang-up (0 when never answered)
    disposition: str | None
    talk_ratio: float | None  # the counselor's share of all talk (None without audio)
    risk_level: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class ShiftReport:
    since: dt.datetime
    until: dt.datetime
    contacts: tuple[ShiftContact, ...]  # oldest first
    dispositions: dict[str | None, int]
    risk_levels: dict[str, int]  # every level, 0 included, in LEVELS order
    not_assessed: int  # answered contacts with no saved assessment
    escalations: dict[str, int]  # level code → count
    follow_ups_scheduled: int  # for the shift's contacts
    follow_ups_due: int  # open and due at ``until``, any contact
    breaks: tuple[tuple[dt.datetime, dt.datetime], ...]

    @property
    def answered(self) -> int:
        return sum(1 for c in self.contacts if c.answered)

    @property
    def seconds_on_calls(self) -> float:
        return sum(c.seconds for c in self.contacts)

    @property
    def break_seconds(self) -> float:
        return sum((b - a).total_seconds() for a, b in self.breaks)

    @property
    def mean_talk_ratio(self) -> float | None:
        ratios = [c.talk_ratio for c in self.contacts if c.talk_ratio is not None]
        return sum(ratios) / len(ratios) if ratios else None


def shift_report(
    store: CaseStore,
    since: dt.datetime,
    until: dt.datetime,
    breaks: Iterable[tuple[dt.datetime, dt.datetime]] = (),
) -> ShiftReport:
    """The shift of this store's counselor: the contacts that began in ``[since, until)``.
    Real records only: a practice store is refused (storage/practice.py)."""
    practice.require_real(store, _("shift report"))
    rows = store._read(  # noqa: SLF001 (see risk_levels)
        "SELECT id, rung_at, channel, answered_at, ended_at, disposition, health FROM contacts "
        "WHERE counselor_id=? AND rung_at>=? AND rung_at<? ORDER BY rung_at, id",
        (store.counselor_id, iso(since), iso(until)),
    )
    ids = [r[0] for r in rows]
    levels = risk_levels(store, ids)
    contacts = []
    for cid, rung, channel, answered, ended, disposition, health in rows:
        figures = _health(health) or {}
        ratio = figures.get("talk_ratio")
        contacts.append(
            ShiftContact(
                cid,
                rung,
                channel,
                answered is not None,
                _seconds(answered, ended) or 0.0,
                disposition,
                float(ratio) if isinstance(ratio, int | float) else None,
                levels[cid][0] if cid in levels else None,
            )
        )
    risk = Counter(level for level, _n in levels.values())
    # every escalation this store raised in the period (with a contact or without)
    escalations = Counter(e.level for e in escalations_of(store, since=since, until=until))
    scheduled = sum(len(store.follow_ups(contact_id=cid)) for cid in ids)
    return ShiftReport(
        since=since,
        until=until,
        contacts=tuple(contacts),
        dispositions=dict(Counter(c.disposition for c in contacts if c.answered)),
        risk_levels={level: risk.get(level, 0) for level in LEVELS},
        not_assessed=sum(1 for c in contacts if c.answered and c.risk_level is None),
        escalations=dict(escalations),
        follow_ups_scheduled=scheduled,
        follow_ups_due=len(store.due_follow_ups(until)),
        breaks=tuple(breaks),
    )


# -- the supervisor's shift -----------------------------------------------------------------
@dataclasses.dataclass(frozen=True, slots=True)
class AlertRow:
    escalation_id: str
    level: str
    received_at: str  # UTC ISO, when this store first recorded it
    ack_s: float | None  # seconds from receiving to the first acknowledgement
    resolved: bool
    outcome: str | None

    @property
    def urgent(self) -> bool:
        return self.level == URGENT_LEVEL


@dataclasses.dataclass(frozen=True, slots=True)
class SupervisorReport:
    since: dt.datetime
    until: dt.datetime
    alerts: tuple[AlertRow, ...]  # oldest first

    @property
    def urgent(self) -> int:
        return sum(1 for a in self.alerts if a.urgent)

    @property
    def resolved(self) -> int:
        return sum(1 for a in self.alerts if a.resolved)

    @property
    def debriefs(self) -> int:
        return sum(1 for a in self.alerts if a.level == DEBRIEF_LEVEL)

    @property
    def unacknowledged(self) -> int:
        return sum(1 for a in self.alerts if a.ack_s is None)

    def ack_seconds(self) -> list[float]:
        return [a.ack_s for a in self.alerts if a.ack_s is not None]

    @property
    def outcomes(self) -> dict[str, int]:
        return dict(Counter(a.outcome for a in self.alerts if a.resolved and a.outcome))


def supervisor_report(store: CaseStore, since: dt.datetime, until: dt.datetime) -> SupervisorReport:
    """The alerts this (supervisor's) store received in ``[since, until)``. The time to
    acknowledge runs from the first record of the alert (its arrival here) to the first
    ``acknowledged`` state, both stamped by this laptop's clock, so the counselors' clocks
    do not enter it. Real records only: a practice store is refused."""
    practice.require_real(store, _("supervisor's report"))
    rows = store._read(  # noqa: SLF001 (see risk_levels)
        "SELECT e.id, e.level, e.state, e.detail, MIN(v.at), "
        "MIN(CASE WHEN v.state IN ('acknowledged', 'resolved') THEN v.at END) "
        "FROM escalations e JOIN escalation_events v ON v.escalation_id = e.id "
        "GROUP BY e.id HAVING MIN(v.at)>=? AND MIN(v.at)<? ORDER BY MIN(v.at), e.id",
        (iso(since), iso(until)),
    )
    alerts = []
    for esc_id, level, state, detail, first, acked in rows:
        info = _health(detail) or {}
        outcome = info.get("outcome")
        alerts.append(
            AlertRow(
                esc_id,
                level,
                first,
                _seconds(first, acked),
                state == "resolved",
                outcome if isinstance(outcome, str) else None,
            )
        )
    return SupervisorReport(since, until, tuple(alerts))
