"""Options of the console: keyboard shortcuts and window behaviour.

Shortcuts are Qt key sequence strings. Function keys are the defaults because they never
collide with typing in the notes area. Foot pedals and button pads that present themselves
as keyboards send keys too; map them here (or in devices.keyboard_map).
"""
from core.config import declare

KEY_ANSWER = declare("keys.answer", str, "F5", "Shortcut: answer the ringing call.")
KEY_HOLD = declare("keys.hold", str, "F6", "Shortcut: put the call on hold, or resume it.")
KEY_MUTE = declare("keys.mute", str, "F7", "Shortcut: mute or unmute the microphone.")
KEY_HANG_UP = declare("keys.hang_up", str, "F8", "Shortcut: end the call.")
KEY_FINISH_WRAP_UP = declare("keys.finish_wrap_up", str, "F9",
                             "Shortcut: finish the wrap-up with the chosen disposition.")
KEY_BREAK = declare("keys.break", str, "F10", "Shortcut: start or end a break.")
KEY_ESCALATE = declare("keys.escalate", str, "Ctrl+Shift+E",
                       "Shortcut: escalate to a supervisor (a deliberate chord, never one key).")
KEY_NOTES = declare("keys.focus_notes", str, "Ctrl+N", "Shortcut: put the cursor in the notes.")
UI_TIMER_MS = declare("ui.refresh_ms", int, 100,
                      "How often the console redraws timers and meters (milliseconds).",
                      minimum=50, maximum=1000)
