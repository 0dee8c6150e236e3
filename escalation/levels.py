"""Escalation levels: how serious an escalation is, and each level's default reason.

The gesture levels are declared once, with the calls package (an escalation gesture names
its level before escalation is involved): the choices of ``calls.default_escalation_level``.
One more level is never a gesture: ``debrief``, the counselor asking for a talk after a
high-risk call (console/wrap_up_care.py). It is not urgent, so it has no T1/T2 ladder
(:data:`NO_LADDER`); a console older than it drops its alert as an unknown level.
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
DEBRIEF = "debrief"  # after a high-risk call: not urgent, never re-alerted
#: the levels a counselor's escalation gesture (button, key, box, level choice) may name
GESTURE_LEVELS: tuple[str, ...] = tuple(DEFAULT_ESCALATION_LEVEL.choices or ())
assert GESTURE_LEVELS == (CONSULT, URGENT, COUNSELOR_SAFETY, TECHNICAL), GESTURE_LEVELS
#: every level an alert may carry
LEVELS: tuple[str, ...] = (*GESTURE_LEVELS, DEBRIEF)
#: levels whose unacknowledged alert does not climb the T1/T2 ladder
NO_LADDER = frozenset({DEBRIEF})

#: the reason code of an escalation raised with a level and no reason
DEFAULT_REASON = {
    CONSULT: "consult",
    URGENT: "imminent_risk",
    COUNSELOR_SAFETY: "counselor_wellbeing",
    TECHNICAL: "technical_problem",
    DEBRIEF: "counselor_wellbeing",
}


def level_label(level: str) -> str:
    return {
        CONSULT: _("Consultation"),
        URGENT: _("Urgent: imminent risk"),
        COUNSELOR_SAFETY: _("Counselor safety"),
        TECHNICAL: _("Technical problem"),
        DEBRIEF: _("Debrief requested"),
    }.get(level, level)
