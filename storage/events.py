"""Events the case store publishes on the core bus."""

from __future__ import annotations

import dataclasses
import datetime as dt

from core.events import Event

#: AutosaveState.state values
SAVING = "saving"
SAVED = "saved"
FAILED = "failed"


@dataclasses.dataclass(frozen=True, slots=True)
class StoreUnlocked(Event):
    pass


@dataclasses.dataclass(frozen=True, slots=True)
class StoreLocked(Event):
    reason: str  # "user", "idle", "session_lock", "sleep", "screen_saver", "shutdown", "error"


@dataclasses.dataclass(frozen=True, slots=True)
class AutosaveState(Event):
    """``state`` is SAVING, SAVED or FAILED; ``detail`` is a reason fit for the counselor."""

    contact_id: str
    state: str
    detail: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class StoreError(Event):
    """A write failed (disk full, I/O error). Earlier data is intact; ``detail`` has no personal data."""

    operation: str
    detail: str


@dataclasses.dataclass(frozen=True, slots=True)
class RiskAssessmentSaved(Event):
    """A risk assessment was recorded. ``imminent``: desire, intent and capability are all
    present with few buffers (the Lifeline standard); the escalation service proposes an
    urgent escalation then. Carries no factors and no text."""

    contact_id: str
    assessment_id: int
    imminent: bool


@dataclasses.dataclass(frozen=True, slots=True)
class RescueStepRecorded(Event):
    """An imminent-risk rescue step was recorded (a code of ``storage.records.RESCUE_STEPS``,
    and when). Carries no location and no text: app/wiring.py hands it to the escalation
    service, which shows it to the supervisors of that call's escalation."""

    contact_id: str
    step_id: int
    step: str
    at: dt.datetime
