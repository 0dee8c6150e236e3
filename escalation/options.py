"""Options of supervisor escalation: the broker link, the ladder, presence and the console.

The identity on the broker is the certificate's common name; ``identity.counselor_id``
(core.options) must match it when both are set. T1/T2 are per level.
"""

from core.config import declare
from core.i18n import N_

ROLE = declare(
    "escalation.role",
    str,
    "counselor",
    N_(
        "What this laptop is on the escalation network: a 'counselor' raising escalations or a "
        "'supervisor' receiving them."
    ),
    choices=("counselor", "supervisor"),
)
BROKER_HOST = declare(
    "escalation.broker_host",
    str,
    "",
    N_(
        "Host name of the organisation's MQTT broker (empty: escalation not set up on this laptop)."
    ),
)
BROKER_PORT = declare(
    "escalation.broker_port",
    int,
    8883,
    N_("TCP port of the broker (8883 is MQTT over TLS)."),
    minimum=1,
    maximum=65535,
)
TLS = declare(
    "escalation.tls",
    bool,
    True,
    N_(
        "Use TLS with client certificates. Turning it off is only accepted for a broker on the "
        "loopback address (the embedded demo broker)."
    ),
)
CA_FILE = declare(
    "escalation.ca_file", str, "", N_("PEM file of the organisation's certificate authority.")
)
CERT_FILE = declare(
    "escalation.cert_file",
    str,
    "",
    N_("PEM certificate of this laptop (its common name is the counselor or supervisor id)."),
)
KEY_FILE = declare(
    "escalation.key_file", str, "", N_("PEM private key of this laptop's certificate (mode 0600).")
)
CLI_CERT_FILE = declare(
    "escalation.cli_cert_file",
    str,
    "",
    N_(
        "PEM certificate of this laptop's command-line tools ('faro escalate', 'faro supervisor "
        "watch|stale'): their own identity, NAME.cli, so they never take over the console's "
        "connection. Empty: escalation.cert_file with '.cli' before its extension "
        "(c-alba.crt -> c-alba.cli.crt), as 'faro certs issue' writes it."
    ),
)
CLI_KEY_FILE = declare(
    "escalation.cli_key_file",
    str,
    "",
    N_(
        "PEM private key of the command-line certificate (empty: escalation.key_file with '.cli' "
        "before its extension)."
    ),
)
KEEPALIVE_S = declare(
    "escalation.keepalive_s",
    int,
    10,
    N_("MQTT keepalive: the broker declares this laptop gone (Last Will) after 1.5 times this."),
    minimum=2,
    maximum=300,
)
RECONNECT_MAX_S = declare(
    "escalation.reconnect_max_s",
    float,
    5.0,
    N_("Longest wait between two reconnection attempts to the broker."),
    minimum=0.5,
    maximum=120.0,
)
SESSION_EXPIRY_S = declare(
    "escalation.session_expiry_s",
    int,
    7 * 86400,
    N_(
        "How long the broker keeps this laptop's subscriptions and queued messages while it is away."
    ),
    minimum=0,
    maximum=30 * 86400,
)
T1_S = declare(
    "escalation.t1_s",
    dict,
    {"consult": 120.0, "urgent": 30.0, "counselor_safety": 30.0, "technical": 300.0},
    N_(
        "Per level: seconds without acknowledgement before every supervisor and the on-call "
        "backup group are alerted again."
    ),
)
T2_S = declare(
    "escalation.t2_s",
    dict,
    {"consult": 300.0, "urgent": 90.0, "counselor_safety": 90.0, "technical": 900.0},
    N_(
        "Per level: seconds without acknowledgement before the counselor is shown the "
        "organisation's fallback phone number (Faro keeps trying)."
    ),
)
FALLBACK_PHONE = declare(
    "escalation.fallback_phone",
    str,
    "",
    N_("The organisation's fallback phone number for supervisors, shown once T2 passes."),
)
RESEND_S = declare(
    "escalation.resend_s",
    float,
    10.0,
    N_(
        "While no supervisor console has confirmed an alert, it is published again this often "
        "(and at every reconnection)."
    ),
    minimum=1.0,
    maximum=600.0,
)
SUPERVISOR_GROUP = declare(
    "escalation.supervisor_group",
    str,
    "primary",
    N_(
        "For a supervisor: 'primary' receives every alert; 'backup' (the on-call backup group) "
        "receives alerts only once T1 passes without acknowledgement."
    ),
    choices=("primary", "backup"),
)
COVERAGE_MINIMUM = declare(
    "escalation.coverage_minimum",
    int,
    2,
    N_(
        "The supervisor console raises a coverage alarm when fewer counselors than this are available."
    ),
    minimum=0,
    maximum=1000,
)
COVERAGE_GRACE_MIN = declare(
    "escalation.coverage_grace_min",
    int,
    5,
    N_(
        "With a roster: minutes after a shift starts before a counselor who has not logged in "
        "counts as late on the supervisor's coverage line."
    ),
    minimum=0,
    maximum=120,
)
ROSTER_MAX_SHIFT_H = declare(
    "escalation.roster_max_shift_h",
    int,
    12,
    N_("The roster editor refuses shifts longer than this many hours."),
    minimum=1,
    maximum=24,
)
ALERT_SOUND = declare(
    "escalation.alert_sound",
    bool,
    True,
    N_("The supervisor console sounds a tone on each new alert."),
)
DESKTOP_NOTIFICATIONS = declare(
    "escalation.desktop_notifications",
    bool,
    True,
    N_(
        "The supervisor console shows a desktop notification per alert (it names the level only, "
        "never the caller or the counselor's notes)."
    ),
)
WHISPER_MAX_CHARS = declare(
    "escalation.whisper_max_chars",
    int,
    500,
    N_("Longest whisper message."),
    minimum=20,
    maximum=4000,
)
PROTOCOL = declare(
    "escalation.mqtt_protocol",
    str,
    "5",
    N_(
        "MQTT protocol version: '5' (production, Mosquitto) or '3.1.1' (the embedded Python broker "
        "of the demo when Mosquitto is not installed)."
    ),
    choices=("5", "3.1.1"),
)
WILL_DELAY_S = declare(
    "escalation.will_delay_s",
    int,
    0,
    N_(
        "The broker waits this long after an unexpected disconnect before publishing the Last "
        'Will ("counselor lost"); a laptop that reconnects sooner (a network blip, a broker '
        "restart) raises no alarm."
    ),
    minimum=0,
    maximum=120,
)
LOST_GRACE_S = declare(
    "escalation.lost_grace_s",
    float,
    5.0,
    N_(
        "A supervisor console raises the 'counselor lost during a call' alarm only if the "
        "counselor is still gone this many seconds after its Last Will (a broker restart "
        "publishes every Will; the counselor is back within a second or two)."
    ),
    minimum=0.0,
    maximum=120.0,
)
SERVICE_LEVEL_S = declare(
    "escalation.service_level_s",
    float,
    20.0,
    N_(
        "Service level threshold: the supervisor board counts the share of contacts answered "
        "within this many seconds of ringing, per hour (missed and abandoned ones count against it)."
    ),
    minimum=1.0,
    maximum=600.0,
)
SHORT_ABANDON_S = declare(
    "escalation.short_abandon_s",
    float,
    0.0,
    N_(
        "Abandoned contacts that rang less than this many seconds are left out of the service "
        "level (0: every abandoned contact counts). They are still offered for a callback."
    ),
    minimum=0.0,
    maximum=120.0,
)
CALLBACK_CONSENT = declare(
    "escalation.callback_consent",
    str,
    "if_number_shown",
    N_(
        "The organisation's rule for calling back missed and abandoned contacts: "
        "'if_number_shown' (a caller who let their number show may be called back; a withheld "
        "number never can) or 'never' (each one is still listed and closed with a reason)."
    ),
    choices=("if_number_shown", "never"),
)
# -- quality review and wellbeing (escalation/quality.py, docs/quality.md) -------------------------
QUALITY_SHARE = declare(
    "quality.share_figures",
    bool,
    False,
    N_(
        "Send each call's quality figures (numbers and codes: talk share, interruptions, "
        "silences, wrap-up codes; never audio or notes) to the supervisors when its wrap-up "
        "ends. The counselor chooses it in My figures unless the organisation locks it."
    ),
)
BREAK_AFTER_HIGH_RISK = declare(
    "quality.break_after_high_risk",
    int,
    2,
    N_(
        "The supervisors' wellbeing view flags a counselor for a break after this many "
        "high-risk calls in one shift with no break since the last of them (0: never)."
    ),
    minimum=0,
    maximum=20,
)
