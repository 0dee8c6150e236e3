"""Options of the call machine and its telephony backends."""

from core.config import Config, declare
from core.forms import Form
from core.i18n import N_

BACKEND = declare(
    "calls.backend",
    str,
    "companion",
    N_(
        "Where calls come from: 'sip' (Faro is the phone: SIP over TLS with SRTP, the headset "
        "audio through Faro; see the sip.* options), 'companion' (the helpline's own phone "
        "carries the audio and Faro follows the counselor's presses) or 'simulated' (scripted "
        "calls from calls.scenario)."
    ),
    choices=("sip", "companion", "simulated"),
)
SCENARIO = declare(
    "calls.scenario",
    str,
    "demo",
    N_("Scenario of the simulated backend: a bundled name (demo) or a path to a TOML file."),
)
TRAINING = declare(
    "calls.training",
    bool,
    False,
    N_(
        "Training mode (faro training): every call is a practice call, marked as such at the "
        "source; its records go to the separate practice store and its escalations only to "
        "the supervisor who watches (docs/training.md). Never set it in faro.toml."
    ),
)
TRAINING_SCENARIO = declare(
    "calls.training_scenario",
    str,
    "",
    N_("Training scenario of a practice session: a bundled id or a path to a TOML file."),
)
RING_TIMEOUT = declare(
    "calls.ring_timeout_s",
    float,
    30.0,
    N_("Seconds a call rings before it is recorded as missed and offered to someone else."),
    minimum=5.0,
    maximum=600.0,
)
ALLOW_DECLINE = declare(
    "calls.allow_decline",
    bool,
    False,
    N_("Whether hanging up a ringing call declines it. Off: a ringing call can only be answered."),
)
REQUIRE_DISPOSITION = declare(
    "calls.require_disposition",
    bool,
    True,
    N_("Whether wrap-up needs a disposition before the counselor is available again."),
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
    N_("Disposition codes offered at wrap-up (the organisation's list)."),
    item_type=str,
)


def disposition_codes(config: Config, form: Form) -> tuple[str, ...]:
    """The dispositions offered at wrap-up: the organisation's form's, unless
    ``calls.dispositions`` is set in the configuration (then that list wins)."""
    if DISPOSITIONS.key in config.values:
        codes: list[str] = config.values[DISPOSITIONS.key]
        return tuple(codes)
    return form.disposition_codes


DEFAULT_ESCALATION_LEVEL = declare(
    "calls.default_escalation_level",
    str,
    "consult",
    N_("Level of an escalation raised by a single gesture (button box, shortcut) that names none."),
    choices=("consult", "urgent", "counselor_safety", "technical"),
)

# -- the SIP softphone (calls.backend = "sip"); the password lives in the case store ---------
SIP_USER = declare(
    "sip.user",
    str,
    "",
    N_("The counselor's SIP user (the part before @ of sip:user@domain)."),
)
SIP_DOMAIN = declare(
    "sip.domain",
    str,
    "",
    N_(
        "The helpline's SIP domain, optionally with a port (sip.example.org or 10.0.0.5:5061). "
        "Only TLS is used."
    ),
)
SIP_PROXY = declare(
    "sip.proxy",
    str,
    "",
    N_("Outbound proxy (host or host:port) when it is not the domain itself; empty: the domain."),
)
SIP_AUTH_USER = declare(
    "sip.auth_user",
    str,
    "",
    N_("Digest user name when the registrar keys it differently from sip.user; empty: sip.user."),
)
SIP_CA_FILE = declare(
    "sip.ca_file",
    str,
    "",
    N_(
        "PEM file of the CA that signs the SIP server's certificate (the organisation's CA); "
        "empty: the system's public CAs. The server certificate is always verified."
    ),
)
SIP_LISTEN = declare(
    "sip.listen",
    str,
    "",
    N_(
        "Local address to bind and route from (an IP address or interface name); empty: the "
        "default route's interface."
    ),
)
SIP_LOCAL_PORT = declare(
    "sip.local_port",
    int,
    0,
    N_("Local SIP port (0: any free port). TLS listens on this port + 1."),
    minimum=0,
    maximum=65534,
)
SIP_SYSTEM_RESOLVER = declare(
    "sip.system_resolver",
    bool,
    False,
    N_(
        "Resolve the SIP server's name with the system resolver (/etc/hosts, plain A records) "
        "instead of SIP's DNS lookups (NAPTR/SRV)."
    ),
)
SIP_REGISTER_S = declare(
    "sip.register_interval_s",
    int,
    300,
    N_("Seconds between registration refreshes."),
    minimum=30,
    maximum=3600,
)
SIP_RETRY_S = declare(
    "sip.retry_s",
    float,
    5.0,
    N_("Seconds between attempts to register again after the registrar was unreachable."),
    minimum=1.0,
    maximum=300.0,
)
SIP_CODECS = declare(
    "sip.codecs",
    list,
    ["opus/48000/2", "g722/16000/1", "pcma", "pcmu"],
    N_("Audio codecs in order of preference (opus, g722/16000/1, pcma, pcmu)."),
    item_type=str,
)
SIP_MEDIA_TIMEOUT_S = declare(
    "sip.media_timeout_s",
    int,
    20,
    N_("Seconds without any audio packet from the network after which a call counts as dropped."),
    minimum=5,
    maximum=300,
)
SIP_TEST_URI = declare(
    "sip.test_uri",
    str,
    "",
    N_("Extension or URI that echoes audio back, used by `faro call test` (for example 'echo')."),
)
SIP_TRANSFER_TARGETS = declare(
    "sip.transfer_targets",
    list,
    [],
    N_(
        "Where a call can be transferred or a supervisor added: 'Label=sip:uri' entries, the "
        "first is the on-duty supervisor."
    ),
    item_type=str,
)
