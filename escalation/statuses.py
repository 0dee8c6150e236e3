"""A counselor's presence status on the supervisors' board, and how calls map to it."""

from __future__ import annotations

from calls.model import CallState
from core.i18n import _

AVAILABLE = "available"
RINGING = "ringing"
ON_CALL = "on_call"
WRAP_UP = "wrap_up"
BREAK = "break"
OFFLINE = "offline"
STATUSES = (AVAILABLE, RINGING, ON_CALL, WRAP_UP, BREAK, OFFLINE)
#: the board's own status for a counselor available to the phone but holding chats that keep
#: calls from ringing (the presence says ``available`` with ``chats`` > 0); never sent
IN_CHAT = "in_chat"
IN_CALL_STATUSES = (RINGING, ON_CALL)

_FROM_CALL_STATE = {
    CallState.AVAILABLE: AVAILABLE,
    CallState.RINGING: RINGING,
    CallState.ON_CALL: ON_CALL,
    CallState.ON_HOLD: ON_CALL,
    CallState.WRAP_UP: WRAP_UP,
    CallState.BREAK: BREAK,
}


def status_of(state: CallState) -> str:
    return _FROM_CALL_STATE[state]


def status_label(status: str) -> str:
    return {
        AVAILABLE: _("Available"),
        RINGING: _("Ringing"),
        ON_CALL: _("On call"),
        WRAP_UP: _("Wrap-up"),
        BREAK: _("On break"),
        OFFLINE: _("Offline"),
        IN_CHAT: _("In a chat"),
    }.get(status, status)
