"""Keyboard-type devices: foot pedals and button pads that present themselves as keyboards.

Their keys, like the console's own shortcuts, map to call actions through the option
``devices.keyboard_map`` (Qt key sequence → action name). :func:`resolve_key` is pure: the
main window calls it from its shortcut handler with the current call state.
"""

from __future__ import annotations

from collections.abc import Mapping

from calls.model import Action, CallState
from core.i18n import _

#: action names a key may carry; ``break_toggle`` starts or ends a break by the state;
#: ``escalate_urgent`` escalates at the urgent level (imminent risk) whatever the default
KEY_ACTIONS = (
    "answer",
    "hang_up",
    "hold_toggle",
    "mute_toggle",
    "escalate",
    "escalate_urgent",
    "finish_wrap_up",
    "break_toggle",
)
_MODIFIERS = ("Ctrl", "Alt", "Shift", "Meta")
_ALIASES = {
    "control": "Ctrl",
    "ctrl": "Ctrl",
    "alt": "Alt",
    "option": "Alt",
    "shift": "Shift",
    "meta": "Meta",
    "super": "Meta",
    "win": "Meta",
    "cmd": "Meta",
}


def normalise(sequence: str) -> str:
    """Canonical form of one key combination, as Qt's PortableText writes it.

    ``"shift+ctrl+e"`` → ``"Ctrl+Shift+E"``; ``"f5"`` → ``"F5"``. Empty stays empty.
    """
    parts = [" ".join(p.split()) for p in sequence.split("+")]
    if sequence.strip().endswith("++"):  # "Ctrl++": the plus key
        parts = parts[:-2] + ["+"]
    mods, key = set(), ""
    for p in parts:
        if not p:
            continue
        m = _ALIASES.get(p.lower())
        if m:
            mods.add(m)
        else:
            key = p.upper() if len(p) == 1 else p[0].upper() + p[1:]  # f5 → F5
    head = [m for m in _MODIFIERS if m in mods]
    return "+".join(head + ([key] if key else []))


def validate(keymap: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The usable entries (normalised, casefolded key → action name) and each bad one described.

    Keys compare without regard to case ("media play" is "Media Play").
    """
    good: dict[str, str] = {}
    problems: list[str] = []
    for seq, name in keymap.items():
        key = normalise(str(seq))
        if not key or key.split("+")[-1] in _MODIFIERS:
            problems.append(_("'{key}' is not a key").format(key=seq))
            continue
        if name not in KEY_ACTIONS:
            problems.append(_("'{key}': unknown action '{action}'").format(key=seq, action=name))
            continue
        mods = set(key.split("+")[:-1])
        if name == "escalate" and not ({"Ctrl", "Alt", "Meta"} & mods):
            problems.append(
                _("'{key}': escalate needs Ctrl, Alt or Meta with the key").format(key=seq)
            )
            continue
        if name == "escalate_urgent" and len(mods) < 2:  # a deliberate chord, never one slip
            problems.append(
                _("'{key}': an urgent escalation needs two modifier keys (Ctrl+Shift+…)").format(
                    key=seq
                )
            )
            continue
        good[key.casefold()] = name
    return good, problems


def resolve_key(
    sequence: str, keymap: Mapping[str, str], state: CallState | None = None
) -> Action | None:
    """The action of ``sequence`` under ``keymap``, or None if it has none (or is invalid).

    ``break_toggle`` resolves to END_BREAK on a break and START_BREAK otherwise.
    """
    good, _problems = validate(keymap)
    name = good.get(normalise(sequence).casefold())
    if name is None:
        return None
    if name == "break_toggle":
        return Action.END_BREAK if state is CallState.BREAK else Action.START_BREAK
    if name == "escalate_urgent":
        return Action.ESCALATE
    return Action(name)


def key_level(sequence: str, keymap: Mapping[str, str]) -> str | None:
    """The escalation level a key asks for (``urgent``), or None for the default."""
    good, _problems = validate(keymap)
    return "urgent" if good.get(normalise(sequence).casefold()) == "escalate_urgent" else None
