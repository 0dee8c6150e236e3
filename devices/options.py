"""Options of the device services (button box, keyboard-type pedals and pads)."""

from core.config import Option, declare
from core.i18n import N_

BUTTONBOX_ENABLED = declare(
    "devices.buttonbox.enabled",
    bool,
    True,
    N_("Whether Faro looks for a call-button box at all."),
)
BUTTONBOX_PORT = declare(
    "devices.buttonbox.port",
    str,
    "",
    N_(
        "Serial port of the button box (for example /dev/faro-buttonbox). Empty: find it by USB id."
    ),
)
BUTTONBOX_USB_IDS: Option[list[str]] = declare(
    "devices.buttonbox.usb_ids",
    list,
    ["2e8a:0005"],
    N_(
        "USB vendor:product ids (hex) that may be a button box when the port is empty. "
        "2e8a:0005 is a Raspberry Pi Pico running MicroPython."
    ),
    item_type=str,
)
BUTTONBOX_HEARTBEAT_S = declare(
    "devices.buttonbox.heartbeat_s",
    float,
    0.5,
    N_("How often Faro and the box tell each other they are alive."),
    minimum=0.05,
    maximum=5.0,
)
BUTTONBOX_HEARTBEAT_TIMEOUT_S = declare(
    "devices.buttonbox.heartbeat_timeout_s",
    float,
    2.0,
    N_("Silence after which the box counts as gone (at least twice the heartbeat)."),
    minimum=0.2,
    maximum=30.0,
)
BUTTONBOX_RECONNECT_MAX_S = declare(
    "devices.buttonbox.reconnect_max_s",
    float,
    1.0,
    N_("Longest wait between two attempts to reopen the box (the wait doubles from 50 ms)."),
    minimum=0.1,
    maximum=60.0,
)
BUTTONBOX_REPROBE_S = declare(
    "devices.buttonbox.reprobe_s",
    float,
    30.0,
    N_(
        "A device on the box's port that is not a usable box (another protocol, another "
        "version) is left alone this long, then probed again; a replug probes it at once."
    ),
    minimum=1.0,
    maximum=3600.0,
)
BUTTONBOX_LONG_PRESS_MS = declare(
    "devices.buttonbox.long_press_ms",
    int,
    800,
    N_("How long a button must be held to count as a long press (the deliberate gesture)."),
    minimum=400,
    maximum=5000,
)
BUTTONBOX_URGENT_PRESS_MS = declare(
    "devices.buttonbox.urgent_press_ms",
    int,
    2500,
    N_(
        "How long a button must be held for the hold gesture (by default Help: an urgent "
        "escalation, imminent risk). At least 500 ms more than the long press; its light "
        "changes when the long press is reached and again when the hold is."
    ),
    minimum=1500,
    maximum=10000,
)
BUTTONBOX_ACTIONS: Option[dict[str, str]] = declare(
    "devices.buttonbox.actions",
    dict,
    {
        "answer:press": "answer",
        "hangup:press": "hang_up",
        "mute:press": "mute_toggle",
        "mute:long": "hold_toggle",
        "help:long": "escalate",
        "help:hold": "escalate_urgent",
    },
    N_(
        "Call action of each button gesture: keys 'button:press', 'button:long' or "
        "'button:hold', values answer, hang_up, mute_toggle, hold_toggle, escalate, "
        "escalate_urgent. Escalate needs a long press or a hold, escalate_urgent a hold."
    ),
)
BUTTONBOX_LEDS: Option[dict[str, str]] = declare(
    "devices.buttonbox.leds",
    dict,
    {
        "available": "",
        "ringing": "answer=blink_fast:green",
        "on_call": "answer=on:green",
        "on_hold": "answer=blink:amber",
        "muted": "mute=on:red",
        "wrap_up": "answer=pulse:green",
        "break": "",
        "escalation_pending": "help=blink_fast:blue",
        "escalation_acknowledged": "help=on:blue",
        "offline": "hangup=pulse:red",
        "gesture_long": "help=on:amber",
        "gesture_hold": "help=blink_fast:red",
    },
    N_(
        "LEDs for each console state: 'led=mode[:colour], ...' with mode off, on, blink, "
        "blink_fast or pulse. Layers: call state (or offline), then muted, then escalation, "
        "then the gesture of a button with a hold that is being held (gesture_long, "
        "gesture_hold)."
    ),
)
KEYBOARD_MAP: Option[dict[str, str]] = declare(
    "devices.keyboard_map",
    dict,
    {
        "F5": "answer",
        "F6": "hold_toggle",
        "F7": "mute_toggle",
        "F8": "hang_up",
        "Ctrl+Shift+E": "escalate",
        "Ctrl+Shift+U": "escalate_urgent",
        "F9": "finish_wrap_up",
        "F10": "break_toggle",
    },
    N_(
        "Keys (Qt key sequences) of the keyboard and of keyboard-type foot pedals or button "
        "pads, and the action each one does. Escalate needs a key with Ctrl, Alt or Meta."
    ),
)

# -- the headset (devices/headset/, docs/devices.md "Headset") ------------------------------
HEADSET_ENABLED = declare(
    "devices.headset.enabled",
    bool,
    True,
    N_("Whether Faro looks for a USB headset with call buttons (HID telephony)."),
)
HEADSET_DEVICE = declare(
    "devices.headset.device",
    str,
    "",
    N_(
        "Which headset to use when several are plugged in: a USB id (vendor:product in hex), "
        "a hidraw path, or part of its name. Empty: the first one found; the others are "
        "ignored, with a note in 'faro devices list'."
    ),
)
HEADSET_ACTIONS: Option[dict[str, str]] = declare(
    "devices.headset.actions",
    dict,
    {
        "hook_switch:off_hook": "answer",
        "hook_switch:on_hook": "hang_up",
        "phone_mute:press": "mute_toggle",
        "flash:press": "hold_toggle",
        "KEY_PHONE:press": "answer_or_hang_up",
        "KEY_MICMUTE:press": "mute_toggle",
    },
    N_(
        "Call action of each headset button: keys 'hook_switch:off_hook', "
        "'hook_switch:on_hook', 'phone_mute:press', 'flash:press', or a key of a headset "
        "whose buttons are keys ('KEY_PHONE:press', 'KEY_MICMUTE:press'); values answer, "
        "hang_up, mute_toggle, hold_toggle, answer_or_hang_up (answers while ringing, hangs "
        "up during a call)."
    ),
)
HEADSET_HOOK_MODE: Option[dict[str, str]] = declare(
    "devices.headset.hook_mode",
    dict,
    {},
    N_(
        "Per USB id (vendor:product in hex), how the headset's call button works when its "
        "descriptor does not say it: 'absolute' (it reports off-hook and on-hook) or 'toggle' "
        "(each press is a press; Faro answers or hangs up by the call)."
    ),
)
HEADSET_MUTE_MODE: Option[dict[str, str]] = declare(
    "devices.headset.mute_mode",
    dict,
    {},
    N_(
        "Per USB id (vendor:product in hex), how the headset's mute button works: 'press' "
        "(each press toggles mute; most headsets) or 'state' (the headset reports whether "
        "it is muted)."
    ),
)
HEADSET_POLL_S = declare(
    "devices.headset.poll_s",
    float,
    0.5,
    N_("How often Faro looks for a headset plugged in or out (seconds)."),
    minimum=0.1,
    maximum=5.0,
)
