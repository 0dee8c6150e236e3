"""One escalation's lifecycle and its backup ladder, on the injected clock.

raised → sent (the broker has it) → delivered (on at least one supervisor console) →
acknowledged (by whom) → resolved (with outcome). States only move forward; a later state
that arrives first (an acknowledgement before the receipt) fills in the ones skipped, so the
counselor's display always walks the whole ladder. Unacknowledged after T1: re-alert; after
T2: the fallback number is due, once. Acknowledgement or resolution stops the ladder.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from core.clock import Clock, Timer
from escalation.events import ACKNOWLEDGED, RAISED, RESOLVED, STATES


@dataclasses.dataclass
class Escalation:
    id: str
    counselor: str
    call_id: str | None
    level: str
    reason: str
    risk: str
    call_s: float
    raised_at: dt.datetime
    source: str = "ui"
    state: str = RAISED
    by: str | None = None
    outcome: str | None = None
    realerted: bool = False
    fallback_due: bool = False

    @property
    def open(self) -> bool:
        return self.state != RESOLVED

    @property
    def acknowledged(self) -> bool:
        return STATES.index(self.state) >= STATES.index(ACKNOWLEDGED)

    def advance(
        self, state: str, by: str | None = None, outcome: str | None = None
    ) -> list[tuple[str, str | None]]:
        """Move forward to ``state``. Returns the (state, by) steps taken, oldest first
        (empty if ``state`` is not ahead of the current one)."""
        here, there = STATES.index(self.state), STATES.index(state)
        if there <= here:
            return []
        steps: list[tuple[str, str | None]] = []
        for s in STATES[here + 1 : there + 1]:
            who = by if s == state or (s == ACKNOWLEDGED and state == RESOLVED and by) else None
            if s == ACKNOWLEDGED and self.by is None and who is not None:
                self.by = who
            steps.append((s, who))
        self.state = state
        if outcome is not None:
            self.outcome = outcome
        return steps

    def detail(self) -> dict[str, object]:
        """What the store keeps for this escalation (codes and times; no caller data)."""
        return {
            "counselor": self.counselor,
            "reason": self.reason,
            "risk": self.risk,
            "call_s": round(self.call_s, 1),
            "raised_at": self.raised_at.isoformat(),
            "source": self.source,
            "by": self.by,
            "outcome": self.outcome,
            "realerted": self.realerted,
            "fallback_due": self.fallback_due,
        }


class Ladder:
    """T1 and T2 timers for one escalation, fired by the clock unless acknowledged first."""

    def __init__(
        self,
        clock: Clock,
        t1: float,
        t2: float,
        on_t1: Callable[[], None],
        on_t2: Callable[[], None],
    ) -> None:
        self._clock = clock
        self._t1, self._t2 = t1, t2
        self._on_t1, self._on_t2 = on_t1, on_t2
        self._timers: list[Timer] = []

    def start(self, elapsed: float = 0.0) -> None:
        """Arm both steps; ``elapsed`` seconds have already passed (after a restart)."""
        self.cancel()
        self._timers = [
            self._clock.call_later(max(0.0, self._t1 - elapsed), self._on_t1),
            self._clock.call_later(max(0.0, self._t2 - elapsed), self._on_t2),
        ]

    def cancel(self) -> None:
        for t in self._timers:
            t.cancel()
        self._timers = []
