"""Options of the console window.

The keys of the call actions (answer, hold, mute, hang up, escalate, finish wrap-up, break)
are one map shared with keyboard-type foot pedals and button pads: ``devices.keyboard_map``.
"""

from core.config import declare

KEY_NOTES = declare("keys.focus_notes", str, "Ctrl+N", "Shortcut: put the cursor in the notes.")
KEY_LOCK = declare("keys.lock", str, "Ctrl+L", "Shortcut: lock the case notes now.")
UI_TIMER_MS = declare(
    "ui.refresh_ms",
    int,
    100,
    "How often the console redraws timers and meters (milliseconds).",
    minimum=50,
    maximum=1000,
)
