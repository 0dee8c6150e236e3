"""Typed records the store hands out (notes, assessments, safety plans, follow-ups…)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re
from collections.abc import Iterable
from typing import Any, overload

from core.errors import FaroError
from core.forms import FollowUpRule, Form, builtin_form
from core.i18n import N_, _, ngettext

#: The four areas of the suicide risk assessment (Lifeline standard, see DOMAIN.md) with the
#: built-in form's items (core/forms_data/builtin.toml); an organisation's form may declare
#: others (core/forms.py), so a record holds any item code.
RISK_FACTORS: dict[str, tuple[str, ...]] = builtin_form().risk_factors
#: fewer buffers than this, with desire, intent and capability, means imminent risk (the
#: default of clinical.risk_few_buffers; the whole rule is storage/risk.py)
FEW_BUFFERS = 2

#: the seven sections of DOMAIN.md, the fields of :class:`SafetyPlan` (the built-in form's
#: sections); an organisation's form may add others, kept in ``SafetyPlan.extra``
SAFETY_PLAN_SECTIONS = (
    "warning_signs",
    "coping_strategies",
    "distraction_people_places",
    "people_to_ask_for_help",
    "professionals_and_crisis_lines",
    "safe_environment",
    "reasons_for_living",
)
#: what an item, section or disposition code looks like (core/forms.py checks the forms)
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")


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


def unknown_factors(area: str, codes: Iterable[str]) -> RecordError:
    """The error for items an assessment's area cannot hold (misspelt, or in no form)."""
    names = sorted(codes)
    return RecordError(
        ngettext(
            "Unknown {area} factor: {names}.", "Unknown {area} factors: {names}.", len(names)
        ).format(area=area, names=", ".join(names))
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
    #: the version of the organisation's form it was saved under (None: not saved, or the
    #: store was given no form); its items are words of that version (core.forms.FormBook)
    form_version: int | None = dataclasses.field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.level not in ("", "low", "moderate", "high", "imminent"):
            raise RecordError(_("Unknown risk level: {level}.").format(level=self.level))
        for area in RISK_FACTORS:
            unknown = {c for c in getattr(self, area) if not _CODE.fullmatch(c)}
            if unknown:
                raise unknown_factors(area, unknown)

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
    #: the sections of an organisation's form beyond the seven: ((code, lines), …), sorted
    #: by code, only those that say something
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: the version of the organisation's form it was saved under (see RiskAssessment)
    form_version: int | None = dataclasses.field(default=None, compare=False)

    def __repr__(self) -> str:
        return "SafetyPlan(‹redacted›)"

    def lines(self, section: str) -> tuple[str, ...]:
        """The lines of ``section`` (one of the seven or an extra one; () when empty)."""
        if section in SAFETY_PLAN_SECTIONS:
            lines: tuple[str, ...] = getattr(self, section)
            return lines
        return dict(self.extra).get(section, ())

    @property
    def sections(self) -> tuple[str, ...]:
        """The codes of every section it holds: the seven, then the extra ones."""
        return SAFETY_PLAN_SECTIONS + tuple(code for code, _lines in self.extra)

    def to_json(self) -> dict[str, list[str]]:
        """The content only (the sections); the store keeps the metadata beside it."""
        return {s: list(self.lines(s)) for s in self.sections}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SafetyPlan:
        return cls._of({s: tuple(v) for s, v in d.items() if _CODE.fullmatch(s)})

    @classmethod
    def _of(cls, sections: dict[str, tuple[str, ...]]) -> SafetyPlan:
        seven: dict[str, Any] = {s: sections.get(s, ()) for s in SAFETY_PLAN_SECTIONS}
        extra = tuple(
            sorted((s, v) for s, v in sections.items() if s not in SAFETY_PLAN_SECTIONS and v)
        )
        return cls(**seven, extra=extra)

    @classmethod
    def from_texts(cls, texts: dict[str, str], extra: Iterable[str] = ()) -> SafetyPlan:
        """From one text per section (a form's fields): one line per item, blank lines and
        trailing spaces dropped. Texts of sections other than the seven are kept only when
        named in ``extra`` (the organisation's form's own sections)."""
        allowed = {*SAFETY_PLAN_SECTIONS, *(s for s in extra if _CODE.fullmatch(s))}
        return cls._of(
            {
                s: tuple(line.rstrip() for line in text.splitlines() if line.strip())
                for s, text in {**dict.fromkeys(SAFETY_PLAN_SECTIONS, ""), **texts}.items()
                if s in allowed
            }
        )

    def texts(self) -> dict[str, str]:
        """One text per section, a line per item (the inverse of :meth:`from_texts`)."""
        return {s: "\n".join(self.lines(s)) for s in self.sections}

    @property
    def filled(self) -> int:
        """How many sections say something (for audit details: a count, never the text)."""
        return sum(1 for s in self.sections if self.lines(s))

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
    #: the contact's channel: ``transfer:<counselor id>`` for one handed over by a colleague
    channel: str | None = None

    @property
    def transferred_from(self) -> str | None:
        """The counselor id this follow-up was transferred from (None: our own)."""
        if self.channel and self.channel.startswith("transfer:"):
            return self.channel.split(":", 1)[1] or None
        return None

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


def follow_up_rule(config: Any, form: Form | None = None, level: str | None = None) -> FollowUpRule:
    """The follow-up rule after a call assessed at ``level``: the form's (its per-level rule
    when it has one; the built-in form when None), with each of ``clinical.follow_up_after_h``,
    ``clinical.follow_up_attempts`` and ``clinical.follow_up_retry_h`` that the configuration
    sets taking its place (the options are overrides: docs/clinical.md)."""
    from storage.options import FOLLOW_UP_AFTER_H, FOLLOW_UP_ATTEMPTS, FOLLOW_UP_RETRY_H

    rule = (form or builtin_form()).follow_up_for(level)
    values = config.values if config is not None else {}
    return FollowUpRule(
        config.get(FOLLOW_UP_AFTER_H) if FOLLOW_UP_AFTER_H.key in values else rule.after_h,
        config.get(FOLLOW_UP_ATTEMPTS) if FOLLOW_UP_ATTEMPTS.key in values else rule.attempts,
        config.get(FOLLOW_UP_RETRY_H) if FOLLOW_UP_RETRY_H.key in values else rule.retry_h,
    )
