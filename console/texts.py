"""Words the console shows for core values (states, reasons, dispositions), all translatable."""

from __future__ import annotations

from calls.model import CallState, MissReason
from core.i18n import _


def state_label(state: CallState) -> str:
    return {
        CallState.AVAILABLE: _("Available"),
        CallState.RINGING: _("Ringing"),
        CallState.ON_CALL: _("On call"),
        CallState.ON_HOLD: _("On hold"),
        CallState.WRAP_UP: _("Wrap-up"),
        CallState.BREAK: _("On break"),
    }[state]


def miss_label(reason: MissReason) -> str:
    return {
        MissReason.UNANSWERED: _("unanswered"),
        MissReason.ABANDONED: _("caller hung up while ringing"),
        MissReason.BUSY: _("arrived while busy"),
    }[reason]


_DISPOSITIONS = {
    "support_given": "Support given",
    "referred": "Referred to a service",
    "safety_plan": "Safety plan made",
    "emergency_dispatched": "Emergency services dispatched",
    "third_party": "Third-party caller",
    "silent_or_prank": "Silent or prank call",
    "wrong_number": "Wrong number",
    "abusive": "Abusive caller",
    "disconnected": "Call disconnected",
}


def disposition_label(code: str | None) -> str:
    if code is None:
        return _("No disposition")
    text = _DISPOSITIONS.get(code)
    return _(text) if text else code
