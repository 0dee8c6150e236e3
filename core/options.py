"""Options of the core services."""

from core.config import declare
from core.i18n import N_

LANGUAGE = declare(
    "ui.language",
    str,
    "system",
    N_(
        "Language of the console and of the faro command: es_MX (Spanish, Mexico), en, or system "
        "(the laptop's locale: any Spanish gives es_MX, anything else English)."
    ),
    choices=("system", "es_MX", "en"),
)
LOG_LEVEL = declare(
    "logging.level",
    str,
    "INFO",
    N_("Lowest level written to the log file."),
    choices=("DEBUG", "INFO", "WARNING", "ERROR"),
)
LOG_MAX_BYTES = declare(
    "logging.max_bytes",
    int,
    2_000_000,
    N_("Size at which the log file is rotated."),
    minimum=10_000,
)
LOG_BACKUPS = declare(
    "logging.backups", int, 5, N_("How many rotated log files are kept."), minimum=0, maximum=50
)
COUNSELOR_ID = declare(
    "identity.counselor_id",
    str,
    "",
    N_(
        "This laptop's counselor identity (set by provisioning; the certificate name in production)."
    ),
)

# -- security: when the console locks itself (KeePassXC's "lock after inactivity", "lock when
# the session is locked or the lid is closed"; docs/storage.md, "The locks")
LOCK_IDLE_MINUTES = declare(
    "security.lock_idle_minutes",
    int,
    10,
    N_(
        "Lock the case notes after this many minutes without activity (0: never). Being on a "
        "call counts as activity."
    ),
    minimum=0,
    maximum=240,
)
LOCK_ON_SESSION_LOCK = declare(
    "security.lock_on_session_lock",
    bool,
    True,
    N_(
        "Lock the case notes when the laptop's session is locked (the screen lock, "
        "'loginctl lock-session', the screen saver)."
    ),
)
LOCK_ON_SLEEP = declare(
    "security.lock_on_sleep",
    bool,
    True,
    N_("Lock the case notes before the laptop sleeps (the lid closed, suspend)."),
)
