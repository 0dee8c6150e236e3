"""Options of the call machine and its telephony backends."""

from core.config import declare

BACKEND = declare(
    "calls.backend",
    str,
    "companion",
    "Where calls come from: 'companion' (the helpline's own phone carries the audio and Faro "
    "follows the counselor's presses) or 'simulated' (scripted calls from calls.scenario).",
    choices=("companion", "simulated"),
)
SCENARIO = declare(
    "calls.scenario",
    str,
    "demo",
    "Scenario of the simulated backend: a bundled name (demo) or a path to a TOML file.",
)
RING_TIMEOUT = declare(
    "calls.ring_timeout_s",
    float,
    30.0,
    "Seconds a call rings before it is recorded as missed and offered to someone else.",
    minimum=5.0,
    maximum=600.0,
)
ALLOW_DECLINE = declare(
    "calls.allow_decline",
    bool,
    False,
    "Whether hanging up a ringing call declines it. Off: a ringing call can only be answered.",
)
REQUIRE_DISPOSITION = declare(
    "calls.require_disposition",
    bool,
    True,
    "Whether wrap-up needs a disposition before the counselor is available again.",
)
DISPOSITIONS = declare(
    "calls.dispositions",
    list,
    [
        "support_given",
        "referred",
        "safety_plan",
        "emergency_dispatched",
        "third_party",
        "silent_or_prank",
        "wrong_number",
        "abusive",
        "disconnected",
    ],
    "Disposition codes offered at wrap-up (the organisation's list).",
    item_type=str,
)
DEFAULT_ESCALATION_LEVEL = declare(
    "calls.default_escalation_level",
    str,
    "consult",
    "Level of an escalation raised by a single gesture (button box, shortcut) that names none.",
    choices=("consult", "urgent", "counselor_safety", "technical"),
)
