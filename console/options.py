"""Options of the console window.

The keys of the call actions (answer, hold, mute, hang up, escalate, finish wrap-up, break)
are one map shared with keyboard-type foot pedals and button pads: ``devices.keyboard_map``.
"""

from core.config import declare
from core.i18n import N_

KEY_NOTES = declare("keys.focus_notes", str, "Ctrl+N", N_("Shortcut: put the cursor in the notes."))
KEY_LOCK = declare("keys.lock", str, "Ctrl+L", N_("Shortcut: lock the case notes now."))
UI_TIMER_MS = declare(
    "ui.refresh_ms",
    int,
    100,
    N_("How often the console redraws timers and meters (milliseconds)."),
    minimum=50,
    maximum=1000,
)
THEME = declare(
    "ui.theme",
    str,
    "light",
    N_("Colours of the console: light, or night (dark surfaces for a dark room)."),
    choices=("light", "night"),
)
FONT_SCALE = declare(
    "ui.font_scale",
    float,
    1.0,
    N_("Size of all the console's text, as a factor of the system's (1.0 = as the system)."),
    minimum=0.8,
    maximum=2.0,
)
KEY_SETTINGS = declare(
    "keys.settings",
    str,
    "Ctrl+,",
    N_("Shortcut: open the settings (language, colours, text size, ring)."),
)
KEY_RISK = declare(
    "keys.risk_assessment",
    str,
    "F2",
    N_("Shortcut: open the risk assessment of the contact in progress."),
)
KEY_SAFETY_PLAN = declare(
    "keys.safety_plan",
    str,
    "F3",
    N_("Shortcut: open the safety plan of the contact in progress."),
)
KEY_RESCUE = declare(
    "keys.rescue_steps",
    str,
    "F4",
    N_("Shortcut: open the imminent-risk rescue steps of the contact in progress."),
)
KEY_OUTSIDE_CONTACT = declare(
    "keys.log_outside_contact",
    str,
    "Ctrl+Shift+O",
    N_("Shortcut: log a contact that happened outside Faro (another phone, in person)."),
)
KEY_SHIFT_REPORT = declare(
    "keys.shift_report",
    str,
    "Ctrl+Shift+R",
    N_("Shortcut: open the report of your shift (contacts, time on calls, risk levels)."),
)
SHIFT_REPORT_HOURS = declare(
    "ui.shift_report_hours",
    int,
    8,
    N_("How many hours back the shift report reaches (the contacts that began since)."),
    minimum=1,
    maximum=24,
)
KEY_QUALITY = declare(
    "keys.quality_view",
    str,
    "Ctrl+Shift+Q",
    N_("Shortcut (supervisors): open quality review and wellbeing (docs/quality.md)."),
)
KEY_MY_FIGURES = declare(
    "keys.my_figures",
    str,
    "Ctrl+Shift+M",
    N_("Shortcut: open My figures, your own calls' quality figures and wellbeing."),
)
CHAT_CANNED_FILE = declare(
    "chat.canned_file",
    str,
    "",
    N_(
        "The organisation's canned responses for the chat line (TOML, Spanish and English; "
        "check it with faro chat canned check FILE); empty: Faro's built-in ones."
    ),
)
KEY_CHAT = declare(
    "keys.chat",
    str,
    "Ctrl+J",
    N_("Shortcut: the chat in view, the cursor in its message (chat line)."),
)
KEY_CHAT_SAFETY = declare(
    "keys.chat_safety_check",
    str,
    "Ctrl+Shift+S",
    N_("Shortcut: ask the person writing whether they are safe to keep writing (one press)."),
)
KEY_CHAT_EXIT_HINT = declare(
    "keys.chat_exit_hint",
    str,
    "Ctrl+Shift+X",
    N_("Shortcut: remind the person writing of the widget's quick-exit button (one press)."),
)
