"""Why an escalation was raised (reason codes) and the caller's risk summary it carries.

Alerts carry only these codes (never free text), so an alert cannot carry a caller's name,
number or the counselor's notes.
"""

from __future__ import annotations

from core.i18n import _

REASONS = (
    "consult",
    "imminent_risk",
    "rescue_needed",
    "third_party",
    "abusive_caller",
    "counselor_wellbeing",
    "technical_problem",
    "test",
    "other",
)

#: risk summary codes (from the latest risk assessment of the call; no factors travel)
RISKS = ("unknown", "none", "low", "moderate", "high", "imminent")


def reason_label(reason: str) -> str:
    return {
        "consult": _("Consultation"),
        "imminent_risk": _("Imminent risk"),
        "rescue_needed": _("Emergency rescue needed"),
        "third_party": _("Third-party caller"),
        "abusive_caller": _("Abusive caller"),
        "counselor_wellbeing": _("Counselor wellbeing"),
        "technical_problem": _("Technical problem"),
        "test": _("Test"),
        "other": _("Other"),
    }.get(reason, reason)


#: why a counselor hands a follow-up on to another counselor (docs/clinical.md)
TRANSFER_REASONS = ("end_of_shift", "language", "continuity", "other")
#: why a supervisor declines such a transfer
DECLINE_REASONS = ("no_recipient", "keep_it", "not_needed", "other")


def transfer_reason_label(reason: str) -> str:
    return {
        "end_of_shift": _("End of shift"),
        "language": _("Language"),
        "continuity": _("Continuity of care"),
        "other": _("Other"),
    }.get(reason, reason)


def decline_reason_label(reason: str) -> str:
    return {
        "no_recipient": _("No counselor can take it now"),
        "keep_it": _("Keep it yourself"),
        "not_needed": _("Not needed"),
        "other": _("Other"),
    }.get(reason, reason)
