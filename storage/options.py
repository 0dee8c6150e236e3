"""Options of the encrypted case store."""

from core.config import declare
from core.i18n import N_

RETENTION_DAYS = declare(
    "storage.retention_days",
    int,
    365,
    N_(
        "Contacts older than this many days are shredded, unless under legal hold "
        "(the organisation's retention period; 0 keeps everything)."
    ),
    minimum=0,
    maximum=36500,
)
AUTO_PURGE = declare(
    "storage.auto_purge",
    bool,
    True,
    N_("Shred contacts past the retention period at unlock and once a day while unlocked."),
)
ARGON2_MEMORY_KIB = declare(
    "storage.argon2_memory_kib",
    int,
    65536,
    N_("Memory of the Argon2id passphrase derivation in KiB (at least 64 MiB)."),
    minimum=65536,
    maximum=4_194_304,
)
ARGON2_PARALLELISM = declare(
    "storage.argon2_parallelism",
    int,
    1,
    N_("Lanes of the Argon2id passphrase derivation."),
    minimum=1,
    maximum=16,
)
UNLOCK_TARGET_MS = declare(
    "storage.unlock_target_ms",
    int,
    500,
    N_(
        "Argon2id time cost is tuned at init and passphrase change so that unlock takes about "
        "this long on this laptop (never below time cost 2, never measured above 1.5x this)."
    ),
    minimum=1,
    maximum=10_000,
)
AUTOSAVE_INTERVAL_MS = declare(
    "storage.autosave_interval_ms",
    int,
    200,
    N_(
        "Shortest time between two autosave commits while the counselor types. Keep it well "
        "under 1000: at most this much typing (plus one commit) is lost if the process is killed."
    ),
    minimum=0,
    maximum=900,
)
INDEX_PAUSE_MS = declare(
    "storage.index_pause_ms",
    int,
    1000,
    N_(
        "Autosave commits write only the note; its search index is brought up to date when no "
        "autosave has happened for this long (a typing pause), and always at save, wrap-up, "
        "lock and before a search."
    ),
    minimum=0,
    maximum=60_000,
)
RECOVERY_PUBLIC_KEY = declare(
    "storage.recovery_public_key",
    str,
    "",
    N_(
        "Path of the organisation's X25519 recovery public key (PEM or base64). When set, the "
        "data key is also sealed to it for the emergency-access procedure."
    ),
)
FORMS_FILE = declare(
    "clinical.forms_file",
    str,
    "",
    N_(
        "Path of the organisation's forms file (dispositions, risk-assessment items, "
        "safety-plan sections, follow-up rules; docs/clinical.md). Empty: Faro's built-in form."
    ),
)
FOLLOW_UP_AFTER_H = declare(
    "clinical.follow_up_after_h",
    float,
    24.0,
    N_("Hours after a call when its first follow-up contact is due (24 to 48 is usual)."),
    minimum=1.0,
    maximum=168.0,
)
FOLLOW_UP_ATTEMPTS = declare(
    "clinical.follow_up_attempts",
    int,
    3,
    N_("How many attempts a follow-up gets before it is closed unreached (3 to 5 is usual)."),
    minimum=1,
    maximum=20,
)
FOLLOW_UP_RETRY_H = declare(
    "clinical.follow_up_retry_h",
    float,
    4.0,
    N_("Hours between two attempts of the same follow-up."),
    minimum=0.25,
    maximum=72.0,
)
DISPATCH_CONFIRM_MIN = declare(
    "clinical.dispatch_confirm_min",
    float,
    15.0,
    N_(
        "Minutes after emergency services are dispatched within which their arrival must be "
        "confirmed; then the counselor and the acknowledging supervisor are prompted to act "
        "again."
    ),
    minimum=1.0,
    maximum=120.0,
)
RISK_FEW_BUFFERS = declare(
    "clinical.risk_few_buffers",
    int,
    2,
    N_(
        "Suicidal desire, intent and capability with fewer buffers than this is imminent "
        "risk (the Lifeline's few buffers); with this many or more it is high risk."
    ),
    minimum=1,
    maximum=8,
)
RISK_IMMINENT_ALONE = declare(
    "clinical.risk_imminent_alone",
    list,
    ["attempt_in_progress"],
    N_(
        "Items of the risk assessment (desire, capability or intent item codes) that alone "
        "mean imminent risk, whatever else is present."
    ),
    item_type=str,
)
# The organisation's own words, shown as written (never translated by the catalogue): write
# them in the language the counselors read (docs/clinical.md, "Caller flags").
POLICY_ABUSIVE = declare(
    "clinical.policy_abusive",
    str,
    "Set limits calmly; you may end the call after one warning. Tell your supervisor.",
    N_(
        "The organisation's policy shown to the counselor when a caller flagged as abusive "
        "calls again (shown as written: not translated)."
    ),
)
POLICY_FREQUENT = declare(
    "clinical.policy_frequent",
    str,
    "A frequent caller: listen, keep the call focused and time-limited (about 10 minutes), "
    "and follow their care plan if they have one.",
    N_(
        "The organisation's policy shown to the counselor when a caller flagged as a frequent "
        "caller calls again (shown as written: not translated)."
    ),
)
WEEKLY_HOURS_CAP = declare(
    "clinical.weekly_hours_cap",
    float,
    20.0,
    N_(
        "Most hours on calls (answer to hang-up) a counselor should take in a week, Monday to "
        "Sunday: from 90 percent of it, and once it is passed, going available shows a reminder "
        "(never blocks a call). 0: no cap."
    ),
    minimum=0.0,
    maximum=168.0,
)
