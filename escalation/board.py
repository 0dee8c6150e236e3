"""The supervisor's picture: a board of counselors, the alert queue, coverage, missed rings.

A pure model: the :class:`escalation.supervisor.SupervisorAgent` feeds it decoded messages
and publishes the events it returns; the console reads it on its UI timer. Alert ids are
remembered, so one escalation is shown once however often it arrives.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import deque

from core.clock import Clock
from core.events import Event
from escalation import events as ev
from escalation import levels, statuses
from escalation import messages as m

DISCONNECT = "disconnect"
ESCALATION = "escalation"


@dataclasses.dataclass(frozen=True)
class CounselorRow:
    """One counselor on the board. Never changed in place (each presence makes a new one),
    so the UI may hold the very rows the board holds."""

    counselor: str
    status: str
    call_s: float | None
    seen_mono: float
    escalation: str | None = None
    lost: bool = False  # went offline without saying goodbye
    health: tuple[str, ...] = ()  # live call-health signals (codes)
    practice: bool = False  # a trainee in training mode: practice calls only

    def call_duration(self, now_mono: float) -> float | None:
        if self.call_s is None or self.status != statuses.ON_CALL:
            return None
        return self.call_s + max(0.0, now_mono - self.seen_mono)


@dataclasses.dataclass
class AlertItem:
    escalation_id: str
    counselor: str
    kind: str
    level: str
    reason: str
    risk: str
    call_s: float
    raised_at: dt.datetime
    contact: str | None = None
    state: str = ev.DELIVERED
    by: str | None = None
    #: when this console learned of the acknowledgement (None: before a restart)
    ack_at: dt.datetime | None = None
    outcome: str | None = None
    realerted: bool = False
    whispers: list[tuple[str, str, str, dt.datetime]] = dataclasses.field(default_factory=list)
    #: the imminent-risk rescue steps of the call (code, when taken), in time order
    rescue: list[tuple[str, dt.datetime]] = dataclasses.field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.state != ev.RESOLVED

    @property
    def rescue_overdue(self) -> bool:
        """The emergency services' arrival was not confirmed in time, and the counselor has
        not acted on it yet (called them again, confirmed the arrival, or closed it)."""
        overdue = False
        for step, _at in self.rescue:
            if step == RESCUE_OVERDUE:
                overdue = True
            elif step in RESCUE_ANSWERS:
                overdue = False
        return overdue


#: the rescue step a counselor's console sends when the dispatch confirmation ran out, and
#: the steps that answer it (the same codes as storage.records, which escalation cannot import)
RESCUE_OVERDUE = "arrival_overdue"
RESCUE_ANSWERS = (
    "services_recalled",
    "arrival_confirmed",
    "outcome_care",
    "outcome_safe",
    "outcome_not_found",
    "outcome_other",
)
#: rescue steps that arrived before their alert, held for it (escalations at most)
EARLY_STEPS = 50


@dataclasses.dataclass(frozen=True, slots=True)
class RescueStepShown(Event):
    """A rescue step of an alert's call reached the board (``step``: its code). No text."""

    escalation_id: str
    counselor: str
    step: str
    at: dt.datetime
    by: str | None  # the supervisor who acknowledged the alert, if any


class Board:
    def __init__(self, clock: Clock, coverage_minimum: int) -> None:
        self.clock = clock
        self.coverage_minimum = coverage_minimum
        self.counselors: dict[str, CounselorRow] = {}
        self.alerts: dict[str, AlertItem] = {}
        self.rings: deque[tuple[dt.datetime, str, str, float]] = deque(maxlen=200)
        self._seen: set[str] = set()
        self._coverage: tuple[int, bool] | None = None
        self._suspects: dict[str, m.Presence] = {}
        self._early: dict[str, list[m.RescueStep]] = {}
        #: how many rows say available, kept at each presence (counting them was O(rows) per
        #: message: a quarter of a second to take in 5,000 retained presences)
        self._available = 0

    # -- counselors --------------------------------------------------------------------------
    def presence(self, p: m.Presence, live: bool = True) -> list[Event]:
        """``live``: forwarded as it happened (not a retained copy replayed at subscription,
        which is old news: a Last Will replayed after a broker restart raises no alarm)."""
        out: list[Event] = []
        row = self.counselors.get(p.counselor)
        before = row.status if row else None
        was_available = row is not None and row.status == statuses.AVAILABLE and not row.practice
        before_health = row.health if row else ()
        # available to the phone, but chats keep calls from ringing: busy on the board
        status = statuses.IN_CHAT if p.status == statuses.AVAILABLE and p.chats else p.status
        row = CounselorRow(
            p.counselor,
            status,
            p.call_s,
            self.clock.monotonic(),
            p.escalation,
            lost=p.unexpected,
            health=p.health,
            practice=p.practice,
        )
        self.counselors[p.counselor] = row
        # a trainee takes no real call: never counted available
        now_available = status == statuses.AVAILABLE and not p.practice
        self._available += now_available - was_available
        if before != status or before_health != p.health:
            out.append(ev.BoardChanged(p.counselor, status))
        if (
            live
            and p.status == statuses.OFFLINE
            and p.unexpected
            and p.id
            and p.id not in self._seen
            and (before in statuses.IN_CALL_STATUSES or self._has_open(p.counselor))
        ):
            self._seen.add(p.id)
            self._suspects[p.counselor] = p
        elif p.status != statuses.OFFLINE:
            self._suspects.pop(p.counselor, None)
        out += self._coverage_events()
        return out

    def suspected(self, counselor: str) -> m.Presence | None:
        """The Last Will waiting for :meth:`confirm_lost` (None when it came back)."""
        return self._suspects.get(counselor)

    def confirm_lost(self, counselor: str, presence_id: str) -> list[Event]:
        """The grace period after a Last Will ended: alarm if the counselor is still gone."""
        p = self._suspects.get(counselor)
        if p is None or p.id != presence_id:
            return []
        del self._suspects[counselor]
        item = AlertItem(
            f"lost-{p.id}",
            p.counselor,
            DISCONNECT,
            levels.COUNSELOR_SAFETY,
            "technical_problem",
            "unknown",
            0.0,
            p.at,
        )
        self.alerts[item.escalation_id] = item
        return [ev.AlertShown(item.escalation_id, p.counselor, item.level, DISCONNECT)]

    def _has_open(self, counselor: str) -> bool:
        """An open escalation of ``counselor`` (asked only of a Last Will: the alerts of a
        long shift are many, presences many more)."""
        return any(
            a.open and a.counselor == counselor and a.kind == ESCALATION
            for a in self.alerts.values()
        )

    def available(self) -> int:
        return self._available

    def _coverage_events(self) -> list[Event]:
        n = self.available()
        alarm = self.coverage_minimum > 0 and n < self.coverage_minimum
        if self._coverage == (n, alarm):
            return []
        self._coverage = (n, alarm)
        return [ev.CoverageAlarm(n, self.coverage_minimum, alarm)]

    def ring(self, r: m.Ring) -> list[Event]:
        if r.id in self._seen:
            return []
        self._seen.add(r.id)
        # a chat abandoned in the queue (the router's identity sent it): no counselor had it
        self.rings.appendleft(
            (r.at, "" if r.channel == "chat" else r.counselor, r.reason, r.rang_s)
        )
        return [ev.RingNotice(r.counselor, r.reason, r.rang_s)]

    # -- alerts ---------------------------------------------------------------------------------
    def alert(self, a: m.Alert, known: dict | None = None) -> tuple[bool, list[Event]]:
        """Add or update the queue. Returns (shown now for the first time, events).
        ``known``: the stored record when this console saw the escalation before a restart."""
        item = self.alerts.get(a.escalation)
        if item is None:
            item = AlertItem(
                a.escalation,
                a.counselor,
                ESCALATION,
                a.level,
                a.reason,
                a.risk,
                a.call_s,
                a.raised_at,
                a.contact,
                realerted=a.realert,
            )
            if known:
                item.state = known.get("state", ev.DELIVERED)
                d = known.get("detail") or {}
                item.by, item.outcome = d.get("by"), d.get("outcome")
                item.realerted = item.realerted or bool(d.get("realerted"))
            self.alerts[a.escalation] = item
            early: list[Event] = []
            for r in self._early.pop(a.escalation, []):
                early += self.rescue_step(r)
            if known:
                return False, early
            return True, [ev.AlertShown(a.escalation, a.counselor, a.level, ESCALATION), *early]
        if a.realert and not item.realerted:
            item.realerted = True
            return False, [ev.AlertUpdated(item.escalation_id, item.state, item.by, True)]
        return False, []

    def acknowledged(self, esc_id: str, by: str, at: dt.datetime | None = None) -> list[Event]:
        """``at``: when it was acknowledged (default: now, when this console learns it)."""
        item = self.alerts.get(esc_id)
        if item is None or item.by is not None or not item.open:
            return []
        item.by, item.state = by, ev.ACKNOWLEDGED
        item.ack_at = at or self.clock.now()
        return [ev.AlertUpdated(esc_id, item.state, by, item.realerted)]

    def resolved(self, esc_id: str, by: str, outcome: str) -> list[Event]:
        item = self.alerts.get(esc_id)
        if item is None or not item.open:
            return []
        item.state, item.outcome = ev.RESOLVED, outcome
        return [ev.AlertUpdated(esc_id, item.state, item.by or by, item.realerted)]

    def rescue_step(self, r: m.RescueStep) -> list[Event]:
        """A rescue step of an alert's call (once per message id). One that comes before
        its alert (events and alerts are different topics) waits for it."""
        if r.id in self._seen:
            return []
        item = self.alerts.get(r.escalation)
        if item is None:
            early = self._early.setdefault(r.escalation, [])
            if all(e.id != r.id for e in early):
                early.append(r)
            while len(self._early) > EARLY_STEPS:
                self._early.pop(next(iter(self._early)))
            return []
        self._seen.add(r.id)
        item.rescue.append((r.step, r.at))
        item.rescue.sort(key=lambda s: s[1])
        return [RescueStepShown(r.escalation, r.counselor, r.step, r.at, item.by)]

    def whispered(
        self, esc_id: str, direction: str, by: str, text: str, at: dt.datetime
    ) -> list[Event]:
        item = self.alerts.get(esc_id)
        if item is None:
            return []
        item.whispers.append((direction, by, text, at))
        return [ev.WhisperReceived(esc_id, direction, by, text, at)]

    def open_alerts(self) -> list[AlertItem]:
        order = {
            levels.URGENT: 0,
            levels.COUNSELOR_SAFETY: 1,
            levels.CONSULT: 2,
            levels.TECHNICAL: 3,
        }
        return sorted(
            (a for a in self.alerts.values() if a.open),
            key=lambda a: (a.state != ev.DELIVERED, order.get(a.level, 9), a.raised_at),
        )
