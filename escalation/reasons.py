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
