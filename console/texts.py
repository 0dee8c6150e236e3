"""Words the console shows for core values (states, reasons, dispositions), all translatable."""

from __future__ import annotations

from calls.model import Action, CallState, MissReason
from core.forms import Form
from core.i18n import N_, _

#: the organisation's form (core/forms.py) whose words name dispositions; set by the window
#: from ``session.form`` (None: the built-in words below)
_form: Form | None = None


def use_form(form: Form | None) -> None:
    """Name dispositions with ``form``'s words from now on (the windows call this once)."""
    global _form
    _form = form


def fmt_duration(seconds: float) -> str:
    """A call's length: "04:07", or "1:02:09" past an hour."""
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


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


def action_label(action: Action) -> str:
    """An action in a few words (what a button-box press did), lower case."""
    return {
        Action.ANSWER: _("answer"),
        Action.HANG_UP: _("hang up"),
        Action.HOLD_TOGGLE: _("hold toggle"),
        Action.HOLD: _("hold"),
        Action.RESUME: _("resume"),
        Action.MUTE_TOGGLE: _("mute toggle"),
        Action.MUTE: _("mute"),
        Action.UNMUTE: _("unmute"),
        Action.ESCALATE: _("escalate"),
        Action.FINISH_WRAP_UP: _("finish wrap up"),
        Action.START_BREAK: _("start break"),
        Action.END_BREAK: _("end break"),
    }.get(action, action.value.replace("_", " "))


#: marked with N_ (defined at import time), translated with _() in disposition_label
_DISPOSITIONS = {
    "support_given": N_("Support given"),
    "referred": N_("Referred to a service"),
    "safety_plan": N_("Safety plan made"),
    "emergency_dispatched": N_("Emergency services dispatched"),
    "third_party": N_("Third-party caller"),
    "silent_or_prank": N_("Silent or prank call"),
    "wrong_number": N_("Wrong number"),
    "abusive": N_("Abusive caller"),
    "disconnected": N_("Call disconnected"),
}


#: Faro's own words for the dispositions whose call words do not fit a chat
_CHAT_DISPOSITIONS = {
    "third_party": N_("Written for someone else"),
    "silent_or_prank": N_("Prank chat"),
    "abusive": N_("Abusive person writing"),
    "disconnected": N_("Chat cut off"),
}
#: dispositions that only a phone call can have (not offered at a chat's wrap-up)
PHONE_ONLY_DISPOSITIONS = frozenset({"wrong_number"})


def disposition_label(code: str | None, channel: str | None = None) -> str:
    """The organisation's words for a disposition (its form), else Faro's own (for a chat
    where the call's words do not fit), else the code itself (a disposition of a form no
    longer in use)."""
    if code is None:
        return _("No disposition")
    if channel == "chat" and code in _CHAT_DISPOSITIONS and _builtin(_form):
        return _(_CHAT_DISPOSITIONS[code])  # the built-in form's words are a call's
    entry = _form.entry("disposition", code) if _form is not None else None
    if entry is not None:
        return entry.label()
    text = _DISPOSITIONS.get(code)
    return _(text) if text else code


def _builtin(form: Form | None) -> bool:
    from core.forms import builtin_form

    return form is None or form == builtin_form()


#: marked with N_ (defined at import time), translated with _() in channel_label
_CHANNELS = {
    "phone": N_("Phone line"),
    "sip": N_("Phone line"),
    "chat": N_("Chat"),
    "sms": N_("Text message"),
}


def channel_label(code: str | None) -> str:
    """The line a contact came on, in words ("Phone line")."""
    if not code:
        return _("Phone line")
    if code.startswith("outside:"):
        from console.outside_contact import outside_channel_label

        return outside_channel_label(code) or code
    text = _CHANNELS.get(code)
    return _(text) if text else code
