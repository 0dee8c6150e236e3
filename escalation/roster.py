"""The coverage roster: who should be working when, and what that means now (issue 17, first
part: the model; its editor, its distribution over the escalation link and its encrypted
storage come next).

A roster is a versioned set of shifts. Each shift names a person (a counselor's or a
supervisor's identity, as on the broker), their role, a start and an end (aware datetimes;
shown in the helpline's time zone), and for supervisors whether they are *on call*: the
escalation ladder of that hour is the on-call supervisors, in the roster's order. Nothing
here reads a clock: every question takes the time it is about (the caller's injected clock).

:func:`problems` says what is wrong with a roster before it is published: a shift that ends
before it starts, a person on two shifts at once, hours in the roster's span with no
counselor or no on-call supervisor, shifts longer than the organisation's cap.
:func:`coverage` compares the roster's hour with the presence the board sees, with a grace
period after each shift's start (someone logging in two minutes late is not an alarm) and
without repeating itself: the alarm is a state, raised when it starts and cleared when it ends.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping

COUNSELOR, SUPERVISOR = "counselor", "supervisor"
#: presence states that can take a call now, and those that are working but busy
READY = frozenset({"available"})
BUSY = frozenset({"on_call", "ringing", "wrap_up", "on_hold", "in_chat"})


@dataclasses.dataclass(frozen=True)
class Shift:
    person: str
    role: str  # counselor | supervisor
    start: dt.datetime
    end: dt.datetime
    on_call: bool = False  # a supervisor on the escalation ladder during this shift

    def covers(self, t: dt.datetime) -> bool:
        return self.start <= t < self.end


@dataclasses.dataclass(frozen=True)
class Roster:
    version: int
    shifts: tuple[Shift, ...]

    def at(self, t: dt.datetime) -> list[Shift]:
        """The shifts that cover ``t``, in the roster's order."""
        return [s for s in self.shifts if s.covers(t)]

    def ladder(self, t: dt.datetime) -> list[str]:
        """The on-call supervisors at ``t``, in the roster's order (the escalation ladder)."""
        out: list[str] = []
        for s in self.at(t):
            if s.role == SUPERVISOR and s.on_call and s.person not in out:
                out.append(s.person)
        return out

    def span(self) -> tuple[dt.datetime, dt.datetime] | None:
        if not self.shifts:
            return None
        return min(s.start for s in self.shifts), max(s.end for s in self.shifts)


@dataclasses.dataclass(frozen=True)
class Problem:
    """``kind``: backwards, overlap, too_long, no_counselor, no_on_call, bad_role; ``start``
    and ``end`` the stretch it is about; ``person`` when it is one person's."""

    kind: str
    start: dt.datetime
    end: dt.datetime
    person: str = ""


def _hours(start: dt.datetime, end: dt.datetime) -> Iterable[tuple[dt.datetime, dt.datetime]]:
    t = start
    while t < end:
        nxt = min(end, t + dt.timedelta(hours=1))
        yield t, nxt
        t = nxt


def problems(roster: Roster, max_shift_h: float = 12.0) -> list[Problem]:
    """Everything that is wrong with ``roster``, earliest first."""
    out: list[Problem] = []
    for s in roster.shifts:
        if s.role not in (COUNSELOR, SUPERVISOR):
            out.append(Problem("bad_role", s.start, s.end, s.person))
        if s.end <= s.start:
            out.append(Problem("backwards", s.start, s.end, s.person))
        elif (s.end - s.start).total_seconds() > max_shift_h * 3600:
            out.append(Problem("too_long", s.start, s.end, s.person))
    by_person: dict[str, list[Shift]] = {}
    for s in roster.shifts:
        if s.end > s.start:
            by_person.setdefault(s.person, []).append(s)
    for person, shifts in by_person.items():
        shifts.sort(key=lambda s: s.start)
        for a, b in zip(shifts, shifts[1:], strict=False):
            if b.start < a.end:
                out.append(Problem("overlap", b.start, min(a.end, b.end), person))
    span = roster.span()
    if span is not None:
        gap: dict[str, dt.datetime | None] = {"no_counselor": None, "no_on_call": None}
        for hour, _end in _hours(*span):
            here = roster.at(hour)
            missing = {
                "no_counselor": not any(x.role == COUNSELOR for x in here),
                "no_on_call": not roster.ladder(hour),
            }
            for kind, is_missing in missing.items():
                since = gap[kind]
                if is_missing and since is None:
                    gap[kind] = hour
                elif not is_missing and since is not None:
                    out.append(Problem(kind, since, hour))
                    gap[kind] = None
        for kind, since in gap.items():
            if since is not None:
                out.append(Problem(kind, since, span[1]))
    return sorted(out, key=lambda p: (p.start, p.kind, p.person))


@dataclasses.dataclass(frozen=True)
class Coverage:
    """The roster's hour against what the board sees."""

    scheduled: tuple[str, ...]  # counselors the roster has on now
    ready: tuple[str, ...]  # of those (and anyone else), who can take a call now
    busy: tuple[str, ...]  # on a call, ringing, in wrap-up, on hold
    on_break: tuple[str, ...]
    late: tuple[str, ...]  # scheduled, past the grace period, and not logged in
    waiting: tuple[str, ...]  # scheduled, not logged in yet, still within the grace period
    ladder: tuple[str, ...]  # on-call supervisors now, in order
    ladder_present: tuple[str, ...]  # of those, who is connected

    @property
    def level(self) -> str:
        """``ok``; ``short`` (someone scheduled is late, or nobody is free while some are
        busy); ``uncovered`` (nobody can answer: no counselor ready or busy, or no on-call
        supervisor connected although the roster has one)."""
        if not self.ready and not self.busy:
            return "uncovered" if self.scheduled or self.late else "ok"
        if self.ladder and not self.ladder_present:
            return "uncovered"
        if self.late or not self.ready:
            return "short"
        return "ok"


def coverage(
    roster: Roster,
    presence: Mapping[str, str],
    now: dt.datetime,
    grace: dt.timedelta = dt.timedelta(minutes=5),
) -> Coverage:
    """``presence`` maps identities to the board's status (available, on_call, ringing,
    wrap_up, on_hold, break, offline; absent = offline)."""
    here = roster.at(now)
    counselors = [s for s in here if s.role == COUNSELOR]
    scheduled = tuple(dict.fromkeys(s.person for s in counselors))
    late: list[str] = []
    waiting: list[str] = []
    for s in counselors:
        if presence.get(s.person, "offline") != "offline":
            continue
        (late if now - s.start >= grace else waiting).append(s.person)
    # who can answer: anyone connected who is not a supervisor of this roster (a counselor
    # off the roster who logged in to help counts)
    supervisors = {s.person for s in roster.shifts if s.role == SUPERVISOR}
    working = {p: st for p, st in presence.items() if p not in supervisors}
    ready = tuple(p for p, st in working.items() if st in READY)
    busy = tuple(p for p, st in working.items() if st in BUSY)
    on_break = tuple(p for p, st in working.items() if st == "break")
    ladder = tuple(roster.ladder(now))
    present = tuple(p for p in ladder if presence.get(p, "offline") != "offline")
    return Coverage(
        scheduled,
        ready,
        busy,
        on_break,
        tuple(dict.fromkeys(late)),
        tuple(dict.fromkeys(waiting)),
        ladder,
        present,
    )


class CoverageAlarm:
    """The coverage level as a state: :meth:`update` returns the new level when it changed
    (to raise or clear an alarm once), None while it stays the same."""

    def __init__(self) -> None:
        self.level = "ok"

    def update(self, cov: Coverage) -> str | None:
        level = cov.level
        if level == self.level:
            return None
        self.level = level
        return level
