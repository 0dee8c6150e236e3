"""Typed records the store hands out (notes, assessments, safety plans, follow-ups…)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from collections.abc import Iterable
from typing import Any, overload

from core.errors import FaroError
from core.i18n import N_, _, ngettext

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
#: fewer buffers than this, with desire, intent and capability, means imminent risk (the
#: default of clinical.risk_few_buffers; the whole rule is storage/risk.py)
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

#: The imminent-risk rescue steps (the imminent-risk policy, DOMAIN.md), in the order the
#: checklist shows them: code → what was done, in words (marked here, translated where
#: shown: :func:`rescue_step_label`). Codes travel to supervisors; the words and the
#: location text never do.
RESCUE_STEPS: dict[str, str] = {
    "engaged": N_("Active engagement with the caller"),
    "least_invasive": N_("Least invasive intervention tried"),
    "safety_step": N_("Caller agreed to a safety step"),
    "consent_given": N_("Consent to emergency rescue: given"),
    "consent_refused": N_("Consent to emergency rescue: not given"),
    "third_party": N_("Third parties engaged"),
    "location": N_("Caller location recorded"),
    "services_called": N_("Emergency services called"),
    "dispatched": N_("Emergency services dispatched"),
    "arrival_overdue": N_("Arrival not confirmed in time"),
    "services_recalled": N_("Emergency services called again"),
    "arrival_confirmed": N_("Arrival confirmed: they reached the person"),
    "outcome_care": N_("Outcome: taken into care"),
    "outcome_safe": N_("Outcome: safe where they are"),
    "outcome_not_found": N_("Outcome: not found"),
    "outcome_other": N_("Outcome: other (see the notes)"),
}
#: the step that holds the location text (the only step with a detail)
RESCUE_LOCATION = "location"
#: steps that start (or, after a reminder, restart) the dispatch-confirmation timer
RESCUE_TIMER_STARTS = ("dispatched", "services_recalled")
#: the step recorded when that timer runs out without a confirmed arrival
RESCUE_OVERDUE = "arrival_overdue"
#: steps that end the wait: the emergency services reached the person, or it is over
RESCUE_TIMER_STOPS = (
    "arrival_confirmed",
    "outcome_care",
    "outcome_safe",
    "outcome_not_found",
    "outcome_other",
)
RESCUE_OUTCOMES = tuple(code for code in RESCUE_STEPS if code.startswith("outcome_"))


def rescue_step_label(code: str) -> str:
    """A rescue step code in words (a code this Faro does not know, from a newer one, is
    still shown, as a code)."""
    if code in RESCUE_STEPS:
        return _(RESCUE_STEPS[code])
    return _("Other step ({code})").format(code=code)


def dispatch_wait(
    steps: Iterable[tuple[str, dt.datetime]], minutes: float
) -> tuple[dt.datetime | None, bool]:
    """Where the dispatch confirmation stands after ``steps`` (code, time), in order:
    (when the arrival must be confirmed by — None when nothing is being waited for —,
    whether that time already passed and was recorded as ``arrival_overdue``).

    "Dispatched" starts the wait; "called again" after a dispatch starts it afresh (and
    answers a reminder); a confirmed arrival or an outcome ends it."""
    due: dt.datetime | None = None
    overdue = False
    dispatched = False
    for code, at in steps:
        if code == "dispatched" or (code == "services_recalled" and dispatched):
            dispatched = True
            due, overdue = at + dt.timedelta(minutes=minutes), False
        elif code == RESCUE_OVERDUE and due is not None:
            overdue = True
        elif code in RESCUE_TIMER_STOPS:
            due, overdue, dispatched = None, False, False
    return due, overdue


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
    #: "low", "moderate", "high", "imminent" as graded by ``rule`` (storage/risk.py);
    #: "" when not graded yet (the store grades it with the default rule at save)
    level: str = ""
    rule: str = ""  # the id of the rule that gave ``level``
    #: saved before levels were kept: ``level`` was graded when the row was read
    level_recomputed: bool = False

    def __post_init__(self) -> None:
        if self.level not in ("", "low", "moderate", "high", "imminent"):
            raise RecordError(_("Unknown risk level: {level}.").format(level=self.level))
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
        """The level is imminent: as graded (``level``), else by the default rule."""
        if self.level:
            return self.level == "imminent"
        from storage.risk import DEFAULT_RULE  # storage.risk imports this module

        return DEFAULT_RULE.grade(self).level == "imminent"


@dataclasses.dataclass(frozen=True, slots=True, repr=False)
class SafetyPlan:
    """The seven sections (SAFETY_PLAN_SECTIONS), each a tuple of lines in the caller's
    words. ``version`` (1 for the first save, +1 for every save that changed it),
    ``updated_at`` and ``based_on`` (the earlier contact it was started from, an id) are
    filled in by the store and are not part of equality: two plans are equal when they say
    the same."""

    warning_signs: tuple[str, ...] = ()
    coping_strategies: tuple[str, ...] = ()
    distraction_people_places: tuple[str, ...] = ()
    people_to_ask_for_help: tuple[str, ...] = ()
    professionals_and_crisis_lines: tuple[str, ...] = ()
    safe_environment: tuple[str, ...] = ()
    reasons_for_living: tuple[str, ...] = ()
    version: int = dataclasses.field(default=0, compare=False)
    updated_at: str = dataclasses.field(default="", compare=False)
    based_on: str = dataclasses.field(default="", compare=False)

    def __repr__(self) -> str:
        return "SafetyPlan(‹redacted›)"

    def to_json(self) -> dict[str, list[str]]:
        """The content only (the sections); the store keeps the metadata beside it."""
        return {s: list(getattr(self, s)) for s in SAFETY_PLAN_SECTIONS}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SafetyPlan:
        sections: dict[str, Any] = {s: tuple(d.get(s, ())) for s in SAFETY_PLAN_SECTIONS}
        return cls(**sections)

    @classmethod
    def from_texts(cls, texts: dict[str, str]) -> SafetyPlan:
        """From one text per section (a form's fields): one line per item, blank lines and
        trailing spaces dropped."""
        sections: dict[str, Any] = {
            s: tuple(line.rstrip() for line in texts.get(s, "").splitlines() if line.strip())
            for s in SAFETY_PLAN_SECTIONS
        }
        return cls(**sections)

    def texts(self) -> dict[str, str]:
        """One text per section, a line per item (the inverse of :meth:`from_texts`)."""
        return {s: "\n".join(getattr(self, s)) for s in SAFETY_PLAN_SECTIONS}

    @property
    def filled(self) -> int:
        """How many sections say something (for audit details: a count, never the text)."""
        return sum(1 for s in SAFETY_PLAN_SECTIONS if getattr(self, s))

    @property
    def is_empty(self) -> bool:
        return self.filled == 0


#: outcomes of one follow-up attempt (codes; console.follow_ups has their labels)
FOLLOW_UP_OUTCOMES = ("reached", "no_answer", "voicemail", "wrong_number", "declined")
#: outcomes that mean the person was reached (declining more contact is an answer too)
FOLLOW_UP_REACHED = frozenset({"reached", "declined"})
#: outcomes that close the follow-up whatever attempts are left (a wrong number stays wrong)
FOLLOW_UP_CLOSES = FOLLOW_UP_REACHED | {"wrong_number"}


@dataclasses.dataclass(frozen=True, slots=True)
class RescueStep:
    """One imminent-risk rescue step, timestamped. ``detail`` (the caller's location, for
    the location step) is personal data: left out of repr()."""

    contact_id: str
    step: str  # a code of RESCUE_STEPS
    at: str  # ISO 8601, UTC
    counselor_id: str = ""
    detail: str = dataclasses.field(default="", repr=False)
    id: int | None = None

    @property
    def time(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.at)

    @property
    def label(self) -> str:
        return rescue_step_label(self.step)


@dataclasses.dataclass(frozen=True, slots=True)
class FollowUp:
    """A follow-up contact: due at ``due_at`` (UTC ISO), ``attempts`` of ``max_attempts``
    made, ``outcome`` of the last one (a :data:`FOLLOW_UP_OUTCOMES` code), ``done`` once the
    person was reached, the outcome closed it or the attempts ran out. Holds no caller data
    (the number is read on demand: ``CaseStore.follow_up_caller``)."""

    id: int
    contact_id: str
    due_at: str
    attempts: int
    max_attempts: int
    outcome: str | None
    done: bool
    last_attempt_at: str | None = None
    #: when the call it follows up began (None if the contact row has none)
    contact_at: str | None = None

    @property
    def due(self) -> dt.datetime:
        return parse_iso(self.due_at)

    def is_due(self, now: dt.datetime) -> bool:
        """Open and due at ``now`` (overdue included, however long ago)."""
        return not self.done and self.due <= now


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


def parse_iso(text: str) -> dt.datetime:
    """The aware datetime of a stored timestamp (:func:`iso`); a bare one is taken as UTC."""
    t = dt.datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)
