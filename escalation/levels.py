"""The vocabulary of escalation: levels, reason codes, risk summaries, presence statuses.

Alerts carry only these codes (never free text), so an alert cannot carry a caller's name,
number or the counselor's notes.
"""
from __future__ import annotations

from calls.model import CallState
from core.i18n import _

CONSULT = "consult"
URGENT = "urgent"              # imminent risk
COUNSELOR_SAFETY = "counselor_safety"
TECHNICAL = "technical"
LEVELS = (CONSULT, URGENT, COUNSELOR_SAFETY, TECHNICAL)

REASONS = ("consult", "imminent_risk", "rescue_needed", "third_party", "abusive_caller",
           "counselor_wellbeing", "technical_problem", "test", "other")
DEFAULT_REASON = {CONSULT: "consult", URGENT: "imminent_risk",
                  COUNSELOR_SAFETY: "counselor_wellbeing", TECHNICAL: "technical_problem"}

RISKS = ("unknown", "none", "low", "moderate", "high", "imminent")

# live call-health signals a counselor's presence carries (codes only, from audio/)
HEALTH_SIGNALS = ("caller_silent", "talking_more", "muted_while_speaking", "dead_mic",
                  "one_way_audio", "clipping", "audio_device_lost")

# presence
AVAILABLE = "available"
RINGING = "ringing"
ON_CALL = "on_call"
WRAP_UP = "wrap_up"
BREAK = "break"
OFFLINE = "offline"
STATUSES = (AVAILABLE, RINGING, ON_CALL, WRAP_UP, BREAK, OFFLINE)
IN_CALL_STATUSES = (RINGING, ON_CALL)

_FROM_CALL_STATE = {
    CallState.AVAILABLE: AVAILABLE, CallState.RINGING: RINGING, CallState.ON_CALL: ON_CALL,
    CallState.ON_HOLD: ON_CALL, CallState.WRAP_UP: WRAP_UP, CallState.BREAK: BREAK,
}


def status_of(state: CallState) -> str:
    return _FROM_CALL_STATE[state]


def level_label(level: str) -> str:
    return {CONSULT: _("Consultation"), URGENT: _("Urgent: imminent risk"),
            COUNSELOR_SAFETY: _("Counselor safety"), TECHNICAL: _("Technical problem")}.get(
        level, level)


def status_label(status: str) -> str:
    return {AVAILABLE: _("Available"), RINGING: _("Ringing"), ON_CALL: _("On call"),
            WRAP_UP: _("Wrap-up"), BREAK: _("On break"), OFFLINE: _("Offline")}.get(status, status)


def reason_label(reason: str) -> str:
    return {"consult": _("Consultation"), "imminent_risk": _("Imminent risk"),
            "rescue_needed": _("Emergency rescue needed"), "third_party": _("Third-party caller"),
            "abusive_caller": _("Abusive caller"), "counselor_wellbeing": _("Counselor wellbeing"),
            "technical_problem": _("Technical problem"), "test": _("Test"),
            "other": _("Other")}.get(reason, reason)


def health_label(signal: str) -> str:
    return {"caller_silent": _("caller silent"), "talking_more": _("talking more than listening"),
            "muted_while_speaking": _("speaking while muted"), "dead_mic": _("dead mic"),
            "one_way_audio": _("one-way audio"), "clipping": _("clipping"),
            "audio_device_lost": _("headset lost")}.get(signal, signal)
