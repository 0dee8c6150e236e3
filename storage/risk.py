"""The level rule of the suicide risk assessment: low, moderate, high or imminent, and why.

The counselor records which items of the four Lifeline areas are present (desire,
capability, intent, buffers: :data:`storage.records.RISK_FACTORS`); :class:`RiskRule` turns
them into a level and the reason for it. The framing is the US National Suicide Prevention
Lifeline's *Suicide Risk Assessment Standard* (Joiner et al., 2007, "Establishing standards
for the assessment of suicide risk among callers to the National Suicide Prevention
Lifeline"): suicidal desire, capability and intent are the three risk areas, buffers lower
the risk, and *desire plus intent plus capability, with few buffers, is imminent risk*; an
attempt in progress calls for an emergency rescue whatever else is known (Lifeline's
imminent-risk policy). The levels below imminent are this rule's own grading, chosen so
that each step up adds one of the Lifeline's risk areas, intent weighing most:

=========  ===========================================================================
imminent   an item the organisation counts as alone sufficient is present (default:
           attempt in progress), or desire and intent and capability with fewer than
           ``few_buffers`` buffers (default 2)
high       desire and intent and capability with enough buffers, or intent with desire
           or with capability
moderate   desire and capability without intent, or intent alone
low        desire alone, capability alone, or none of the three (buffers alone)
=========  ===========================================================================

Buffers only decide between imminent and high: the standard has them lower imminent risk
to a serious one, never make a risk go away. The organisation configures the two numbers
that matter clinically (``clinical.risk_few_buffers``, ``clinical.risk_imminent_alone`` in
storage/options.py); :meth:`RiskRule.id` names the rule with those values, and is saved
with every assessment next to its level, so a row always says what rule graded it.

Imports no Qt; the form is console/risk_form.py (docs/clinical.md, "Risk assessment").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from functools import partial

from core.config import Config
from core.errors import ConfigError
from core.forms import Form, builtin_form
from core.i18n import N_, _, ngettext
from storage.options import RISK_FEW_BUFFERS, RISK_IMMINENT_ALONE
from storage.records import FEW_BUFFERS, RiskAssessment

LOW, MODERATE, HIGH, IMMINENT = "low", "moderate", "high", "imminent"
#: the levels, lowest first
LEVELS = (LOW, MODERATE, HIGH, IMMINENT)
#: the items that alone mean imminent risk, unless the organisation says otherwise
IMMINENT_ALONE = ("attempt_in_progress",)
#: the version of the grading in this module; a change of the table above is a new one
RULE_NAME = "lifeline-1"
#: the three risk areas, in the order the reasons name them (the Lifeline's own order)
RISK_AREAS = ("desire", "intent", "capability")

_LEVEL_LABELS = {
    LOW: N_("Low"),
    MODERATE: N_("Moderate"),
    HIGH: N_("High"),
    IMMINENT: N_("Imminent"),
}
_AREA_WORDS = {
    "desire": N_("desire"),
    "capability": N_("capability"),
    "intent": N_("intent"),
    "buffers": N_("buffers"),
}
_AREA_TITLES = {
    "desire": N_("Suicidal desire"),
    "capability": N_("Suicidal capability"),
    "intent": N_("Suicidal intent"),
    "buffers": N_("Buffers"),
}
_ITEM_LABELS = {
    "suicidal_ideation": N_("Suicidal ideation"),
    "psychological_pain": N_("Psychological pain"),
    "hopelessness": N_("Hopelessness"),
    "helplessness": N_("Helplessness"),
    "perceived_burden": N_("Feels a burden on others"),
    "feeling_trapped": N_("Feels trapped"),
    "intolerably_alone": N_("Feels intolerably alone"),
    "previous_attempts": N_("Previous attempts"),
    "exposure_to_suicide": N_("Exposed to someone's suicide"),
    "violence_to_others": N_("Violence to others"),
    "lethal_means": N_("Lethal means at hand"),
    "intoxication_or_substance_misuse": N_("Intoxicated or misusing substances"),
    "acute_mental_illness": N_("Acute symptoms of mental illness"),
    "dramatic_mood_change": N_("Recent dramatic mood change"),
    "agitation_or_rage": N_("Extreme agitation or rage"),
    "no_sleep": N_("Not sleeping"),
    "attempt_in_progress": N_("Attempt in progress"),
    "plan_with_known_method": N_("Plan with a known method"),
    "preparatory_behaviours": N_("Preparatory behaviours"),
    "expressed_intent_to_die": N_("Says they intend to die"),
    "immediate_supports": N_("Immediate supports"),
    "social_supports": N_("Social supports"),
    "planning_for_future": N_("Plans for the future"),
    "engagement_with_counselor": N_("Engages with the counselor"),
    "ambivalence": N_("Ambivalent about living or dying"),
    "core_values_or_beliefs": N_("Core values or beliefs"),
    "sense_of_purpose": N_("Sense of purpose"),
}


def risk_item_label(code: str, form: Form | None = None) -> str:
    """The item ``code`` in words, in the console's language: as ``form`` (the
    organisation's, core/forms.py) says it; the built-in words for a built-in item when no
    form is given or it lacks the item; a code no form knows as itself."""
    entry = form.entry("item", code) if form is not None else None
    if entry is not None:
        return entry.label()
    if code in _ITEM_LABELS:
        return _(_ITEM_LABELS[code])
    return code


def risk_area_title(area: str) -> str:
    return _(_AREA_TITLES[area])


def level_label(level: str) -> str:
    """ "Low", "Moderate", "High", "Imminent", translated."""
    return _(_LEVEL_LABELS[level])


def _words(areas: Iterable[str]) -> str:
    return " + ".join(_(_AREA_WORDS[a]) for a in areas)


def _either(areas: list[str]) -> str:
    if len(areas) == 1:
        return _(_AREA_WORDS[areas[0]])
    # Translators: two areas of the risk assessment, as in "without capability or intent"
    return _("{first} or {second}").format(
        first=_(_AREA_WORDS[areas[0]]), second=_(_AREA_WORDS[areas[1]])
    )


@dataclasses.dataclass(frozen=True, slots=True)
class RiskResult:
    """A level and what it rests on; :meth:`why` says it in the console's language."""

    level: str
    #: "alone", "triad_few_buffers", "triad_buffered", "intent_and_one",
    #: "desire_and_capability", "intent_only", "one_area", "none"
    reason: str
    present: tuple[str, ...]  # of RISK_AREAS, in that order
    buffers: int
    few_buffers: int
    alone: tuple[str, ...] = ()  # the alone-sufficient items present (reason "alone")

    def why(self, form: Form | None = None) -> str:
        """The reason in words (``form`` names the alone-sufficient items)."""
        if self.reason == "alone":
            # Translators: {items} are risk items such as "Attempt in progress"
            return _("{items}: imminent whatever else is present").format(
                items=", ".join(risk_item_label(c, form) for c in self.alone)
            )
        if self.reason == "triad_few_buffers":
            return ngettext(
                "{areas} with {n} buffer (fewer than {few})",
                "{areas} with {n} buffers (fewer than {few})",
                self.buffers,
            ).format(areas=_words(self.present), n=self.buffers, few=self.few_buffers)
        if self.reason == "triad_buffered":
            return ngettext(
                "{areas} with {n} buffer ({few} or more)",
                "{areas} with {n} buffers ({few} or more)",
                self.buffers,
            ).format(areas=_words(self.present), n=self.buffers, few=self.few_buffers)
        if self.reason == "none":
            return _("No desire, intent or capability recorded")
        missing = [a for a in RISK_AREAS if a not in self.present]
        # Translators: e.g. "desire + capability, without intent"
        return _("{present}, without {missing}").format(
            present=_words(self.present), missing=_either(missing)
        )


@dataclasses.dataclass(frozen=True, slots=True)
class RiskRule:
    """The grading of the module doc with the organisation's two numbers."""

    few_buffers: int = FEW_BUFFERS
    imminent_alone: frozenset[str] = frozenset(IMMINENT_ALONE)
    #: the form whose items ``imminent_alone`` must name (the built-in one when None)
    form: Form | None = dataclasses.field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        factors = (self.form or builtin_form()).risk_factors
        risk_items = {c for a in RISK_AREAS for c in factors[a]}
        unknown = set(self.imminent_alone) - risk_items
        if unknown:
            raise ConfigError(
                _(
                    "Option clinical.risk_imminent_alone names items that are not desire, "
                    "capability or intent items: {names}."
                ).format(names=", ".join(sorted(unknown)))
            )
        if self.few_buffers < 1:
            raise ConfigError(_("Option clinical.risk_few_buffers must be at least 1."))

    @property
    def id(self) -> str:
        """Saved with each assessment: ``lifeline-1;few_buffers=2;alone=attempt_in_progress``."""
        alone = ",".join(sorted(self.imminent_alone)) or "-"
        return f"{RULE_NAME};few_buffers={self.few_buffers};alone={alone}"

    def grade(self, a: RiskAssessment) -> RiskResult:
        present = tuple(area for area in RISK_AREAS if getattr(a, area))
        buffers = len(a.buffers)

        def out(level: str, reason: str, alone: tuple[str, ...] = ()) -> RiskResult:
            return RiskResult(level, reason, present, buffers, self.few_buffers, alone)

        factors = (self.form or builtin_form()).risk_factors
        alone = tuple(
            c
            for area in RISK_AREAS
            for c in sorted(getattr(a, area), key=partial(_order, factors[area]))
            if c in self.imminent_alone
        )
        if alone:
            return out(IMMINENT, "alone", alone)
        if len(present) == 3:
            if buffers < self.few_buffers:
                return out(IMMINENT, "triad_few_buffers")
            return out(HIGH, "triad_buffered")
        if "intent" in present and len(present) == 2:
            return out(HIGH, "intent_and_one")
        if present == ("desire", "capability"):
            return out(MODERATE, "desire_and_capability")
        if present == ("intent",):
            return out(MODERATE, "intent_only")
        if present:
            return out(LOW, "one_area")
        return out(LOW, "none")

    def assess(self, a: RiskAssessment, recomputed: bool = False) -> RiskAssessment:
        """``a`` with this rule's level and id (``recomputed``: graded after it was saved)."""
        return dataclasses.replace(
            a, level=self.grade(a).level, rule=self.id, level_recomputed=recomputed
        )


DEFAULT_RULE = RiskRule()


def _order(codes: tuple[str, ...], code: str) -> tuple[int, str]:
    """Sort key: the form's order, codes it does not have last, by name."""
    return (codes.index(code), "") if code in codes else (len(codes), code)


def rule_from_config(config: Config, form: Form | None = None) -> RiskRule:
    """The organisation's rule: ``clinical.risk_few_buffers``, and the alone-sufficient
    items of ``form`` (core/forms.py; the built-in form when None) unless
    ``clinical.risk_imminent_alone`` is set in the configuration, which then wins (an item
    the form does not have is a ConfigError naming it)."""
    form = form or builtin_form()
    if RISK_IMMINENT_ALONE.key in config.values:
        alone: list[str] = config.get(RISK_IMMINENT_ALONE)
    else:
        alone = list(form.imminent_alone)
    return RiskRule(config.get(RISK_FEW_BUFFERS), frozenset(alone), form)
