"""Typed records the store hands out (notes, assessments, safety plans, follow-ups…)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from typing import Any, overload

from core.errors import FaroError
from core.i18n import ngettext

#: The four areas of the suicide risk assessment (Lifeline standard, see DOMAIN.md).
RISK_FACTORS: dict[str, tuple[str, ...]] = {
    "desire": (
        "suicidal_ideation",
        "psychological_pain",
        "hopelessness",
        "helplessness",
        "perceived_burden",
        "feeling_trapped",
        "intolerably_alone",
    ),
    "capability": (
        "previous_attempts",
        "exposure_to_suicide",
        "violence_to_others",
        "lethal_means",
        "intoxication_or_substance_misuse",
        "acute_mental_illness",
        "dramatic_mood_change",
        "agitation_or_rage",
        "no_sleep",
    ),
    "intent": (
        "attempt_in_progress",
        "plan_with_known_method",
        "preparatory_behaviours",
        "expressed_intent_to_die",
    ),
    "buffers": (
        "immediate_supports",
        "social_supports",
        "planning_for_future",
        "engagement_with_counselor",
        "ambivalence",
        "core_values_or_beliefs",
        "sense_of_purpose",
    ),
}
#: fewer buffers than this, with desire, intent and capability, means imminent risk
FEW_BUFFERS = 2

SAFETY_PLAN_SECTIONS = (
    "warning_signs",
    "coping_strategies",
    "distraction_people_places",
    "people_to_ask_for_help",
    "professionals_and_crisis_lines",
    "safe_environment",
    "reasons_for_living",
)

#: snippet highlight markers (private-use characters, never typed by a person)
HL_START, HL_END = "\ue000", "\ue001"


class RecordError(FaroError):
    exit_code = 65


@dataclasses.dataclass(frozen=True, slots=True)
class Note:
    """Personal text fields are left out of repr(): a forgotten log line leaks nothing."""

    contact_id: str
    text: str = dataclasses.field(repr=False)
    version: int  # last saved version (0: never saved)
    dirty: bool  # text newer than the last saved version (an autosaved draft)
    updated_at: str


@dataclasses.dataclass(frozen=True, slots=True)
class NoteVersion:
    contact_id: str
    version: int
    text: str = dataclasses.field(repr=False)
    saved_at: str = ""
    counselor_id: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class SearchHit:
    contact_id: str
    rung_at: str
    snippet: str = dataclasses.field(repr=False)  # HL_START/HL_END around each match

    def parts(self) -> list[tuple[str, bool]]:
        """[(text, highlighted)] for widgets that draw the snippet themselves."""
        out: list[tuple[str, bool]] = []
        rest = self.snippet
        while rest:
            i = rest.find(HL_START)
            if i < 0:
                out.append((rest, False))
                break
            if i:
                out.append((rest[:i], False))
            j = rest.find(HL_END, i)
            j = len(rest) if j < 0 else j
            out.append((rest[i + 1 : j], True))
            rest = rest[j + 1 :]
        return out

    def html(self) -> str:
        return "".join(
            f"<b>{html.escape(t)}</b>" if hl else html.escape(t) for t, hl in self.parts()
        )


@dataclasses.dataclass(frozen=True, slots=True)
class RiskAssessment:
    desire: frozenset[str] = frozenset()
    capability: frozenset[str] = frozenset()
    intent: frozenset[str] = frozenset()
    buffers: frozenset[str] = frozenset()
    comment: str = dataclasses.field(default="", repr=False)
    contact_id: str = ""
    assessed_at: str = ""
    id: int | None = None

    def __post_init__(self) -> None:
        for area, allowed in RISK_FACTORS.items():
            unknown = set(getattr(self, area)) - set(allowed)
            if unknown:
                raise RecordError(
                    ngettext(
                        "Unknown {area} factor: {names}.",
                        "Unknown {area} factors: {names}.",
                        len(unknown),
                    ).format(area=area, names=", ".join(sorted(unknown)))
                )

    @property
    def imminent(self) -> bool:
        return bool(
            self.desire and self.intent and self.capability and len(self.buffers) < FEW_BUFFERS
        )


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class SafetyPlan:
    warning_signs: tuple[str, ...] = ()
    coping_strategies: tuple[str, ...] = ()
    distraction_people_places: tuple[str, ...] = ()
    people_to_ask_for_help: tuple[str, ...] = ()
    professionals_and_crisis_lines: tuple[str, ...] = ()
    safe_environment: tuple[str, ...] = ()
    reasons_for_living: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return "SafetyPlan(‹redacted›)"

    def to_json(self) -> dict[str, list[str]]:
        return {s: list(getattr(self, s)) for s in SAFETY_PLAN_SECTIONS}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SafetyPlan:
        return cls(**{s: tuple(d.get(s, ())) for s in SAFETY_PLAN_SECTIONS})


@dataclasses.dataclass(frozen=True, slots=True)
class FollowUp:
    id: int
    contact_id: str
    due_at: str
    attempts: int
    max_attempts: int
    outcome: str | None
    done: bool


@dataclasses.dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    kind: str
    message_id: str
    payload: bytes = dataclasses.field(repr=False)
    attempts: int
    created_at: str


@dataclasses.dataclass(frozen=True, slots=True)
class PurgeResult:
    contacts: int
    held: int
    cutoff: str
    dry_run: bool


@overload
def iso(t: dt.datetime) -> str: ...
@overload
def iso(t: None) -> None: ...
@overload
def iso(t: dt.datetime | None) -> str | None: ...
def iso(t: dt.datetime | None) -> str | None:
    return None if t is None else t.astimezone(dt.UTC).isoformat(timespec="milliseconds")
