"""Escalation levels: how serious an escalation is, and each level's default reason.

The list itself is declared once, with the calls package (an escalation gesture names its
level before escalation is involved): the choices of ``calls.default_escalation_level``.
"""

from __future__ import annotations

from calls.options import DEFAULT_ESCALATION_LEVEL
from core.i18n import _

# The label helpers of the other vocabulary modules, kept importable from here for
# console/supervisor_window.py (import them from their own modules in new code).
from escalation.health import health_label as health_label
from escalation.reasons import reason_label as reason_label
from escalation.statuses import status_label as status_label

CONSULT = "consult"
URGENT = "urgent"  # imminent risk
COUNSELOR_SAFETY = "counselor_safety"
TECHNICAL = "technical"
LEVELS: tuple[str, ...] = tuple(DEFAULT_ESCALATION_LEVEL.choices or ())
assert LEVELS == (CONSULT, URGENT, COUNSELOR_SAFETY, TECHNICAL), LEVELS

#: the reason code of an escalation raised with a level and no reason
DEFAULT_REASON = {
    CONSULT: "consult",
    URGENT: "imminent_risk",
    COUNSELOR_SAFETY: "counselor_wellbeing",
    TECHNICAL: "technical_problem",
}


def level_label(level: str) -> str:
    return {
        CONSULT: _("Consultation"),
        URGENT: _("Urgent: imminent risk"),
        COUNSELOR_SAFETY: _("Counselor safety"),
        TECHNICAL: _("Technical problem"),
    }.get(level, level)
